// The training loop: data through the worker pipeline, forward/backward on
// the built-in TorchScript module in training mode, per-epoch validation,
// events, checkpoints and resume.
#include "train/trainer.hpp"


#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <numbers>
#include <set>
#include <sstream>

#include <torch/torch.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/model_config.hpp"
#include "eval/metrics.hpp"
#include "media/input_pipeline.hpp"
#include "models/builtin.hpp"
#include "models/model.hpp"
#include "train/checkpoints.hpp"
#include "train/dataset.hpp"
#include "train/events.hpp"
#include "train/run_record.hpp"
#include "train/schedule.hpp"
#include "util/error.hpp"
#include "util/file_lock.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"
#include "util/timer.hpp"
#include "util/json_text.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace zoo::train {
namespace {

using util::Clock;
using util::seconds_since;

uint64_t mix(uint64_t x) {  // splitmix64: independent seeds from (seed, epoch, index)
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

void write_file_atomic(const fs::path& path, const std::string& text) {
  util::write_file_atomic(path.string(), text);
}

struct EpochStats {
  double loss = 0;
  double accuracy = 0;
  size_t samples = 0;
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted], validation only
};

json class_metrics(const std::vector<std::vector<int64_t>>& confusion, const std::vector<std::string>& classes) {
  json per_class = json::array();
  for (const auto& c : eval::scores_from_confusion(confusion, classes)) {
    per_class.push_back({{"label", c.name}, {"precision", c.precision}, {"recall", c.recall}, {"support", c.support}});
  }
  return {{"per_class", per_class}, {"confusion_matrix", confusion}};
}

class Trainer {
 public:
  Trainer(TrainOptions options, const std::atomic<bool>* interrupt)
      : m_options(std::move(options)), m_interrupt(interrupt), m_out(m_options.output) {}

  TrainResult run();

 private:
  void prepare_outdir();
  void lock_outdir();  // held until the run ends; refuses a second run in OUTDIR
  void load_data();
  void build_model();
  void select_trainable();
  std::string head_layer() const;  // module path of the classifier head ("fc", "classifier.1")
  void build_optimizer();
  EpochStats run_epoch(int epoch);
  EpochStats evaluate();
  void load_checkpoint();
  void record_recovered_epochs();
  // Trains and validates one epoch, checkpoints it and reports it; false
  // when the run stops first (patience reached, interrupted).
  bool train_epoch(int epoch, TrainResult& result);
  // Fills the result, writes OUTDIR's model and metrics, emits the last event.
  void end_run(TrainResult& result);
  void finish(const TrainResult& result);
  void forward_batch(std::vector<media::PipelineItem>& items, bool training, EpochStats& stats);
  // The decode pipeline's settings: every input an image loaded by `loader`.
  media::InputPipelineOptions pipeline_options(
      std::function<media::DecodedImage(size_t, const std::string&)> loader) const;

  TrainOptions m_options;
  const std::atomic<bool>* m_interrupt;
  fs::path m_out;
  config::ModelConfig m_config;
  std::string m_entrypoint;
  nlohmann::json m_args;
  Dataset m_train, m_val;
  torch::jit::Module m_module;
  std::vector<at::Tensor> m_trainable;
  std::unique_ptr<torch::optim::Optimizer> m_optimizer;
  RunState m_state;
  std::set<std::string> m_bad;
  std::unique_ptr<Events> m_events;
  std::vector<int> m_current_labels;  // label of each item of the pipeline being consumed
  util::FileLock m_lock;
};

void Trainer::prepare_outdir() {
  if (m_out.empty()) throw Error(ErrorKind::usage, "zoo train needs -o OUTDIR (or --resume OUTDIR)");
  std::error_code ec;
  if (m_options.resume) {
    const fs::path saved = m_out / "train.json";
    std::error_code exists_ec;
    if (!fs::exists(saved, exists_ec)) {
      throw Error(ErrorKind::usage, "{}: not a zoo train output folder (no train.json) to resume", m_out.string());
    }
    lock_outdir();
    json j;
    try {
      j = util::parse_json<json>(util::read_file(saved.string()));
      m_options = options_from_json(j.at("options"), m_options);
    } catch (const json::exception& e) {
      throw Error(ErrorKind::data, "{}: unreadable: {}", saved.string(), e.what());
    }
    return;
  }
  if (m_options.epochs <= 0) m_options.epochs = 10;
  fs::create_directories(m_out / "checkpoints", ec);
  if (ec) throw Error(ErrorKind::io, "{}: cannot create: {}", m_out.string(), ec.message());
  lock_outdir();
  if (fs::exists(m_out / "train.json", ec)) {
    if (fs::exists(m_out / "checkpoints" / "last" / "state.json", ec) || fs::exists(m_out / "model.yaml", ec)) {
      throw Error(ErrorKind::usage, "{}: already holds a training run; continue it with --resume {} or choose another -o",
                  m_out.string(), m_out.string());
    }
    // The run there stopped before its first checkpoint (bad data, a config
    // error, a kill in epoch 1): there is nothing to keep, and a user who
    // fixed the cause expects the same command to work now. A finished run
    // whose checkpoints were deleted still has its model: never taken over.
    util::info(fmt::format("{}: the run there stopped before finishing an epoch; starting over", m_out.string()));
    fs::remove(m_out / "events.jsonl", ec);
  }
  // Absolute paths: a resume may run from another directory.
  for (std::string* path : {&m_options.model, &m_options.data, &m_options.val}) {
    if (!path->empty()) *path = fs::absolute(*path).lexically_normal().string();
  }
  json j = {{"zoo_version", ZOO_VERSION},
            {"options", options_to_json(m_options)},
            {"from_config", m_options.from_config}};
  write_file_atomic(m_out / "train.json", util::dump_json(j, 2) + "\n");
}

void Trainer::lock_outdir() {
  if (!util::FileLock::try_lock((m_out / ".lock").string(), m_lock)) {
    throw Error(ErrorKind::io, "{}: another zoo train is running in this folder", m_out.string());
  }
}

void Trainer::load_data() {
  m_train = load_dataset(m_options.data);
  if (!m_options.val.empty()) {
    m_val = load_dataset(m_options.val, &m_train.classes);
  } else if (m_options.val_split > 0) {
    std::tie(m_train, m_val) = split_dataset(m_train, m_options.val_split, m_options.seed);
  }
  if (m_train.classes.size() < 2) {
    throw Error(ErrorKind::data, "{}: found {} class; training a classifier needs at least 2", m_options.data,
                m_train.classes.size());
  }
}

void Trainer::build_model() {
  m_config = config::load_model_config(m_options.model);
  m_entrypoint = models::canonical_entrypoint(m_config.entrypoint);
  if (m_entrypoint.empty() || m_entrypoint == "torchscript") {
    throw Error(ErrorKind::config, "{}: zoo train needs a built-in entrypoint (one of: {}), not \"{}\"",
                m_config.entrypoint_where.empty() ? m_config.source : m_config.entrypoint_where,
                util::join(models::builtin_names(), ", "), m_config.entrypoint);
  }
  m_args = m_config.entrypoint_args;
  m_args["num_classes"] = m_train.classes.size();  // the head is sized to the data
  m_module = models::build_builtin(m_entrypoint, m_args, m_config.entrypoint_where, m_options.seed);
  if (!m_config.weights.empty() && !m_options.resume) {
    // Starting weights (fine-tuning): what fits is loaded; a head of another
    // size stays freshly initialised, and the warning says so.
    auto dict = models::read_state_dict(m_config.weights, m_config.weights_key);
    models::load_state_dict(m_module, dict, false, m_config.weights);
  }
  // Convolution weights in channels_last, oneDNN's own layout: the
  // activations follow them, and a step skips the reorders to and from NCHW
  // (the digits recipe: 1.8 against 2.1 s/epoch on 2 cores). Checkpoints
  // keep the strides, and loading one copies into these tensors.
  for (auto p : m_module.parameters(true)) {
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
  }
  m_module.train(true);
}

std::string Trainer::head_layer() const {
  // The last layer with a 2-D (or larger) weight: its parameter name minus
  // ".weight". Every built-in classifier has one.
  std::string head;
  for (const auto& p : m_module.named_parameters(true)) {
    if (p.value.dim() >= 2) head = p.name.substr(0, p.name.rfind('.'));
  }
  return head;
}

void Trainer::select_trainable() {
  std::vector<std::pair<std::string, at::Tensor>> params;
  for (const auto& p : m_module.named_parameters(true)) params.emplace_back(p.name, p.value);
  size_t first_trainable = 0;
  if (!m_options.freeze_until.empty()) {
    const std::string prefix = m_options.freeze_until + ".";
    size_t last = params.size();
    for (size_t i = 0; i < params.size(); ++i) {
      if (params[i].first.rfind(prefix, 0) == 0) last = i;
    }
    if (last == params.size()) {
      std::vector<std::string> names;
      for (const auto& m : m_module.named_modules()) {
        if (!m.name.empty()) names.push_back(m.name);
      }
      throw Error(ErrorKind::usage, "--freeze-until: the model has no layer \"{}\"{} (layers: {})",
                  m_options.freeze_until, util::did_you_mean(m_options.freeze_until, names),
                  util::join(std::vector<std::string>(names.begin(), names.begin() + std::min<size_t>(names.size(), 30)), ", "));
    }
    first_trainable = last + 1;
  }
  if (m_options.freeze) {
    // The head (see head_layer) and everything after it.
    const std::string layer = head_layer() + ".";
    first_trainable = 0;
    while (first_trainable < params.size() && params[first_trainable].first.rfind(layer, 0) != 0) ++first_trainable;
  }
  for (size_t i = 0; i < params.size(); ++i) {
    const bool trainable = i >= first_trainable;
    params[i].second.requires_grad_(trainable);
    if (trainable) m_trainable.push_back(params[i].second);
  }
  if (m_trainable.empty()) throw Error(ErrorKind::usage, "--freeze-until {}: nothing is left to train", m_options.freeze_until);
  if (first_trainable > 0) {
    util::info(fmt::format("training {} of {} parameter tensors (from {})", m_trainable.size(), params.size(),
                           params[first_trainable].first));
  }
}

void Trainer::build_optimizer() {
  const std::string& name = m_options.optimizer;
  double lr = m_options.lr > 0 ? m_options.lr : (name == "sgd" ? 0.01 : 1e-3);
  m_options.lr = lr;
  if (name == "sgd") {
    m_optimizer = std::make_unique<torch::optim::SGD>(
        m_trainable, torch::optim::SGDOptions(lr).momentum(m_options.momentum).weight_decay(m_options.weight_decay));
  } else if (name == "adam") {
    m_optimizer = std::make_unique<torch::optim::Adam>(
        m_trainable, torch::optim::AdamOptions(lr).weight_decay(m_options.weight_decay));
  } else if (name == "adamw") {
    m_optimizer = std::make_unique<torch::optim::AdamW>(
        m_trainable, torch::optim::AdamWOptions(lr).weight_decay(m_options.weight_decay));
  } else {
    throw Error(ErrorKind::usage, "--optimizer: expected sgd, adam or adamw, got \"{}\"", name);
  }
}

void Trainer::forward_batch(std::vector<media::PipelineItem>& items, bool training, EpochStats& stats) {
  std::vector<media::PipelineItem*> good;
  for (auto& item : items) {
    if (!item.image.error.empty()) {
      if (m_bad.insert(item.path).second) {
        util::warn(fmt::format("{}: {} (skipped)", item.path, item.image.error));
        m_state.bad_files.push_back(item.path);
      }
      continue;
    }
    good.push_back(&item);
  }
  if (good.empty()) return;
  const auto& first = good.front()->image.input;
  const int64_t n = int64_t(good.size());
  auto batch = torch::empty({n, first.channels, first.height, first.width});
  auto labels = torch::empty({n}, torch::kLong);
  float* dst = batch.data_ptr<float>();
  const size_t per_image = first.data.size();
  for (int64_t i = 0; i < n; ++i) {
    const auto& input = good[i]->image.input;
    if (input.data.size() != per_image) {
      throw Error(ErrorKind::config, "{}: images of different sizes in one batch ({}x{} vs {}x{}); set image_size "
                  "or center_crop in the config", good[i]->path, input.width, input.height, first.width, first.height);
    }
    std::memcpy(dst + i * per_image, input.data.data(), per_image * sizeof(float));
    labels[i] = int64_t(m_current_labels[good[i]->index]);
  }
  if (training) {
    auto logits = m_module.forward({batch}).toTensor();
    auto loss = torch::nn::functional::cross_entropy(
        logits, labels, torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(m_options.label_smoothing));
    m_optimizer->zero_grad();
    loss.backward();
    m_optimizer->step();
    stats.loss += loss.item<double>() * n;
    stats.accuracy += logits.argmax(1).eq(labels).sum().item<double>();
  } else {
    torch::NoGradGuard no_grad;
    auto logits = m_module.forward({batch}).toTensor();
    auto loss = torch::nn::functional::cross_entropy(logits, labels);
    stats.loss += loss.item<double>() * n;
    auto predicted = logits.argmax(1);
    stats.accuracy += predicted.eq(labels).sum().item<double>();
    auto p = predicted.accessor<int64_t, 1>();
    auto t = labels.accessor<int64_t, 1>();
    for (int64_t i = 0; i < n; ++i) ++stats.confusion[t[i]][p[i]];
  }
  stats.samples += size_t(n);
}


media::InputPipelineOptions Trainer::pipeline_options(
    std::function<media::DecodedImage(size_t, const std::string&)> loader) const {
  media::InputPipelineOptions options;
  options.workers = m_options.workers > 0 ? m_options.workers : models::hardware_threads();
  options.capacity = size_t(m_options.batch_size) * 3;
  options.loader = std::move(loader);
  return options;
}

EpochStats Trainer::run_epoch(int epoch) {
  // Everything random in an epoch derives from (seed, epoch): the shuffle,
  // each sample's augmentation, dropout. A resumed run repeats it exactly.
  torch::manual_seed(mix(m_options.seed * 1000003 + uint64_t(epoch)));
  std::vector<size_t> order(m_train.samples.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  uint64_t state = mix(m_options.seed ^ (uint64_t(epoch) << 32));
  for (size_t i = order.size(); i > 1; --i) {
    state = mix(state);
    std::swap(order[i - 1], order[state % i]);
  }
  std::vector<std::string> paths;
  m_current_labels.clear();
  for (size_t i : order) {
    paths.push_back(m_train.samples[i].path);
    m_current_labels.push_back(m_train.samples[i].label);
  }
  const config::Augment* augment = m_config.augment.any() ? &m_config.augment : nullptr;
  const auto pre = m_config.preprocess;
  const uint64_t seed = m_options.seed;
  media::InputPipeline pipeline(
      paths, pipeline_options([augment, pre, seed, epoch, &order](size_t index, const std::string& path) {
        media::DecodeLimits limits;
        return media::load_image(path, pre, limits, augment, mix(seed ^ mix(uint64_t(epoch) * 7919 + order[index])));
      }));

  m_module.train(true);
  EpochStats stats;
  const size_t batches = (paths.size() + m_options.batch_size - 1) / m_options.batch_size;
  util::Progress progress(m_options.progress == util::ProgressMode::json ? util::ProgressMode::none : m_options.progress,
                          batches, "batch");
  std::vector<media::PipelineItem> items;
  for (size_t b = 0; b < batches; ++b) {
    if (m_interrupt && *m_interrupt) break;
    items.clear();
    for (int i = 0; i < m_options.batch_size; ++i) {
      auto item = pipeline.next();
      if (!item) break;
      items.push_back(std::move(*item));
    }
    forward_batch(items, true, stats);
    progress.update(b + 1);
  }
  progress.finish();
  if (stats.samples) {
    stats.loss /= stats.samples;
    stats.accuracy /= stats.samples;
  }
  return stats;
}

EpochStats Trainer::evaluate() {
  EpochStats stats;
  const size_t k = m_train.classes.size();
  stats.confusion.assign(k, std::vector<int64_t>(k, 0));
  if (m_val.samples.empty()) return stats;
  std::vector<std::string> paths;
  m_current_labels.clear();
  for (const auto& sample : m_val.samples) {
    paths.push_back(sample.path);
    m_current_labels.push_back(sample.label);
  }
  const config::Preprocess pre = m_config.preprocess;
  media::InputPipeline pipeline(paths, pipeline_options([pre](size_t, const std::string& path) {
                                  return media::load_image(path, pre, media::DecodeLimits{});
                                }));
  m_module.train(false);
  std::vector<media::PipelineItem> items;
  for (;;) {
    items.clear();
    for (int i = 0; i < m_options.batch_size; ++i) {
      auto item = pipeline.next();
      if (!item) break;
      items.push_back(std::move(*item));
    }
    if (items.empty()) break;
    forward_batch(items, false, stats);
  }
  m_module.train(true);
  if (stats.samples) {
    stats.loss /= stats.samples;
    stats.accuracy /= stats.samples;
  }
  return stats;
}

void Trainer::load_checkpoint() {
  if (!train::load_checkpoint(m_out, m_module, *m_optimizer, m_state)) {
    util::info(fmt::format("{}: no checkpoint yet; starting from epoch 1", m_out.string()));
    return;
  }
  m_bad.insert(m_state.bad_files.begin(), m_state.bad_files.end());
  util::info(fmt::format("resuming {} after epoch {} of {}", m_out.string(), m_state.epochs_done, m_options.epochs));
}

void Trainer::finish(const TrainResult& result) {
  // The run's weights: the best epoch by validation loss (the last one
  // without validation), copied next to a config that loads them.
  const fs::path dir = m_out / "checkpoints";
  const fs::path chosen = fs::exists(dir / "best") ? dir / "best" : dir / "last";
  std::error_code ec;
  fs::copy_file(chosen / "model.pt", m_out / "model.pt.tmp", fs::copy_options::overwrite_existing, ec);
  if (!ec) fs::rename(m_out / "model.pt.tmp", m_out / "model.pt", ec);
  if (ec) throw Error(ErrorKind::io, "{}: cannot write: {}", (m_out / "model.pt").string(), ec.message());

  std::string labels;
  for (const auto& name : m_train.classes) labels += name + "\n";
  write_file_atomic(m_out / "labels.txt", labels);

  config::ModelConfig out = m_config;
  out.name = m_config.name.empty() ? m_out.filename().string() : m_config.name;
  out.entrypoint = m_entrypoint;
  out.entrypoint_args = m_args;
  out.weights = (m_out / "model.pt").string();
  out.weights_key.clear();
  out.strict = true;
  out.labels_path = (m_out / "labels.txt").string();
  out.classes = m_train.classes;
  // `zoo embed OUTDIR` gives the features the head sees, as FiftyOne's zoo
  // configs do ("<fc" for a ResNet), unless the config chose a layer.
  if (out.embeddings_layer.empty()) out.embeddings_layer = "<" + head_layer();
  write_file_atomic(m_out / "model.yaml", config::to_yaml(out, m_out.string()));

  json history = m_state.history;
  json final_metrics = history.empty() ? json::object() : history.back();
  json best_metrics = m_state.best_epoch > 0 ? history[m_state.best_epoch - 1] : json::object();
  json metrics = {
      {"classes", m_train.classes},
      {"train_samples", result.train_samples},
      {"val_samples", result.val_samples},
      {"bad_files", m_state.bad_files},
      {"epochs_done", m_state.epochs_done},
      {"weights_from_epoch", m_state.best_epoch > 0 ? m_state.best_epoch : m_state.epochs_done},
      {"final", {{"epoch", m_state.epochs_done}, {"metrics", final_metrics}, {"validation", m_state.last_metrics}}},
      {"best", {{"epoch", m_state.best_epoch}, {"metrics", best_metrics}, {"validation", m_state.best_metrics}}},
  };
  write_file_atomic(m_out / "metrics.json", util::dump_json(metrics, 2) + "\n");
}

namespace {

// Sets the TorchScript graph executor's optimisation (a process-wide
// switch) for a scope and restores it after.
class ExecutorOptimizeGuard {
 public:
  explicit ExecutorOptimizeGuard(bool optimize) : m_previous(torch::jit::getGraphExecutorOptimize()) {
    torch::jit::setGraphExecutorOptimize(optimize);
  }
  ~ExecutorOptimizeGuard() { torch::jit::setGraphExecutorOptimize(m_previous); }
  ExecutorOptimizeGuard(const ExecutorOptimizeGuard&) = delete;
  ExecutorOptimizeGuard& operator=(const ExecutorOptimizeGuard&) = delete;

 private:
  bool m_previous;
};

}  // namespace

// The checkpoint is written before the epoch's event: a kill between the
// two leaves an epoch the events file does not show. Records those from the
// checkpoint's history.
void Trainer::record_recovered_epochs() {
  for (int epoch = 1; epoch <= m_state.epochs_done; ++epoch) {
    if (m_events->has_epoch(epoch)) continue;
    json event = epoch_event(epoch, m_options.epochs, m_state.history[epoch - 1]);
    event["recovered"] = true;
    m_events->emit(event);
  }
}

bool Trainer::train_epoch(int epoch, TrainResult& result) {
  if (m_options.patience > 0 && m_state.since_best >= m_options.patience) {
    result.early_stopped = true;
    return false;
  }
  const auto epoch_start = Clock::now();
  const double lr = learning_rate(m_options, epoch);
  for (auto& group : m_optimizer->param_groups()) group.options().set_lr(lr);
  EpochStats train = run_epoch(epoch);
  if (m_interrupt && *m_interrupt) {
    result.interrupted = true;
    return false;
  }
  EpochStats val = evaluate();
  json data = {{"loss", train.loss}, {"accuracy", train.accuracy}};
  if (val.samples) {
    data["val_loss"] = val.loss;
    data["val_accuracy"] = val.accuracy;
  }
  data["lr"] = lr;
  data["seconds"] = seconds_since(epoch_start);
  const double monitored = val.samples ? val.loss : train.loss;
  const bool is_best = monitored < m_state.best_val_loss;
  m_state.epochs_done = epoch + 1;
  m_state.history.push_back(data);
  m_state.last_metrics = class_metrics(val.confusion, m_train.classes);
  if (is_best) {
    m_state.best_val_loss = monitored;
    m_state.best_epoch = epoch + 1;
    m_state.since_best = 0;
    m_state.best_metrics = m_state.last_metrics;
  } else {
    ++m_state.since_best;
  }
  save_checkpoint(m_out, epoch + 1, is_best, m_module, *m_optimizer, m_state);
  m_events->emit(epoch_event(epoch + 1, m_options.epochs, data));
  std::string line = fmt::format("epoch {}/{}: loss {:.4f} accuracy {:.2f}%", epoch + 1, m_options.epochs,
                                 train.loss, 100 * train.accuracy);
  if (val.samples) line += fmt::format(", val_loss {:.4f} val_accuracy {:.2f}%", val.loss, 100 * val.accuracy);
  line += fmt::format(", lr {:.3g}, {:.1f} s{}", lr, data["seconds"].get<double>(), is_best ? " *" : "");
  if (m_options.progress != util::ProgressMode::json) util::info(line);
  return true;
}

void Trainer::end_run(TrainResult& result) {
  result.epochs_done = m_state.epochs_done;
  result.best_epoch = m_state.best_epoch;
  result.best_val_loss = m_state.best_val_loss;
  const json best = m_state.best_epoch > 0 ? m_state.history[m_state.best_epoch - 1] : json::object();
  result.best_val_accuracy = best.contains("val_accuracy") ? best["val_accuracy"].get<double>() : -1;
  result.bad_files = m_state.bad_files.size();
  if (m_state.epochs_done > 0) finish(result);
  if (result.interrupted) {
    m_events->emit({{"status", "error"}, {"message", "interrupted; continue with --resume"},
                    {"epochs_done", m_state.epochs_done}});
  } else {
    m_events->emit({{"status", "success"},
                    {"epochs", m_state.epochs_done},
                    {"best_epoch", m_state.best_epoch},
                    {"early_stopped", result.early_stopped},
                    {"data", best}});
  }
}

TrainResult Trainer::run() {
  const auto start = Clock::now();
  prepare_outdir();
  m_events = std::make_unique<Events>(m_out / "events.jsonl", m_options.progress == util::ProgressMode::json);
  TrainResult result;
  try {
    // Flush denormal floats to zero (before Torch starts its worker threads,
    // so they inherit it): x86 computes them slowly. On the digits benchmark
    // it made no measurable difference on an idle machine (2.90 vs 2.81
    // s/epoch in PyTorch); it never changes results at the 1e-38 scale.
    at::globalContext().setFlushDenormal(true);
    // The graph executor's optimisation runs a module's first passes through
    // eager autograd and later ones through differentiable subgraphs, whose
    // gradients can differ from eager ones in the last bits (with
    // channels_last weights they do). A resumed process would switch paths
    // at another epoch than the uninterrupted run and end with other
    // weights. Run the graph as written, every step on one path.
    const ExecutorOptimizeGuard plain_executor(false);
    models::set_threads(m_options.threads);
    load_data();
    build_model();
    select_trainable();
    build_optimizer();
    if (m_options.resume) {
      load_checkpoint();
      record_recovered_epochs();
    }
    result.train_samples = m_train.samples.size();
    result.val_samples = m_val.samples.size();
    json start_event = {{"status", "start"}, {"epochs", m_options.epochs}};
    if (m_state.epochs_done > 0) start_event["resumed_after_epoch"] = m_state.epochs_done;
    m_events->emit(start_event);
    util::info(fmt::format("training {} on {} images ({} classes), validating on {}; {}", m_entrypoint,
                           m_train.samples.size(), m_train.classes.size(), m_val.samples.size(),
                           util::count_of(m_options.epochs, "epoch")));
    for (int epoch = m_state.epochs_done; epoch < m_options.epochs; ++epoch) {
      if (!train_epoch(epoch, result)) break;
    }
    end_run(result);
    result.seconds = seconds_since(start);
  } catch (const std::exception& e) {
    m_events->emit({{"status", "error"}, {"message", e.what()}});
    throw;
  }
  return result;
}

}  // namespace

TrainResult run_train(const TrainOptions& options, const std::atomic<bool>* interrupt) {
  TrainOptions o = options;
  if (!o.resume) {
    if (o.model.empty()) throw Error(ErrorKind::usage, "zoo train needs MODEL (a config with a built-in entrypoint)");
    o = with_recipe(o, config::load_model_config(o.model).train);
    if (o.data.empty()) {
      throw Error(ErrorKind::usage, "zoo train needs --data DIR|FILE (or data: in the train: section of {})", o.model);
    }
  }
  try {
    Trainer trainer(o, interrupt);
    return trainer.run();
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::model, "training failed: {}", e.msg());
  }
}

}  // namespace zoo::train
