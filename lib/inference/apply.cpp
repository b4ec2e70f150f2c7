#include "inference/apply.hpp"

#include <chrono>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/model_config.hpp"
#include "inference/classifier.hpp"
#include "io/jsonl_writer.hpp"
#include "media/discover.hpp"
#include "media/pipeline.hpp"
#include "models/model.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace zoo::inference {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs the model over the good items of a batch, grouping consecutive items
// of the same input shape (images are only all the same size when the
// config fixes it). Fills `outputs[i]` (logits) or `errors[i]`.
class BatchRunner {
 public:
  BatchRunner(models::Model& model, size_t classes) : m_model(model), m_classes(classes) {}

  void run(const std::vector<media::PipelineItem>& batch, std::vector<std::vector<float>>& outputs,
           std::vector<std::string>& errors, bool& any_success) {
    size_t start = 0;
    while (start < batch.size()) {
      if (!batch[start].image.error.empty()) {
        ++start;
        continue;
      }
      size_t end = start + 1;
      const auto& first = batch[start].image.input;
      while (end < batch.size() && batch[end].image.error.empty() && same_shape(batch[end].image.input, first)) ++end;
      try {
        run_group(batch, start, end, outputs);
        any_success = true;
      } catch (const Error& e) {
        if (!any_success && end - start == size_t(1)) throw;  // the model fails on its first input: a run failure
        if (end - start == 1) {
          errors[start] = e.what();
        } else {
          // Isolate the input(s) the model cannot take.
          for (size_t i = start; i < end; ++i) {
            try {
              run_group(batch, i, i + 1, outputs);
              any_success = true;
            } catch (const Error& single) {
              if (!any_success && i + 1 == end) throw;
              errors[i] = single.what();
            }
          }
        }
      }
      start = end;
    }
  }

 private:
  static bool same_shape(const media::Tensor3& a, const media::Tensor3& b) {
    return a.channels == b.channels && a.height == b.height && a.width == b.width;
  }

  void run_group(const std::vector<media::PipelineItem>& batch, size_t start, size_t end,
                 std::vector<std::vector<float>>& outputs) {
    const auto& shape = batch[start].image.input;
    const size_t per_image = shape.data.size();
    m_buffer.resize(per_image * (end - start));
    for (size_t i = start; i < end; ++i) {
      std::memcpy(m_buffer.data() + (i - start) * per_image, batch[i].image.input.data.data(),
                  per_image * sizeof(float));
    }
    models::Output out = m_model.forward(m_buffer.data(), int64_t(end - start), shape.channels, shape.height,
                                         shape.width);
    if (out.shape.size() != 2 || out.shape[0] != int64_t(end - start)) {
      throw Error(ErrorKind::model, "classifier output has shape [{}], expected [batch, classes]",
                  fmt::join(out.shape, ", "));
    }
    const size_t k = size_t(out.shape[1]);
    if (m_classes > 0 && k != m_classes) {
      throw Error(ErrorKind::config, "the model outputs {} scores per image but the config lists {} labels", k,
                  m_classes);
    }
    for (size_t i = start; i < end; ++i) {
      outputs[i].assign(out.values.begin() + (i - start) * k, out.values.begin() + (i - start + 1) * k);
    }
  }

  models::Model& m_model;
  size_t m_classes;
  std::vector<float> m_buffer;
};

}  // namespace

ApplySummary run_apply(const ApplyOptions& options, const std::atomic<bool>* interrupt) {
  if (options.batch_size < 1) throw Error(ErrorKind::usage, "--batch-size must be at least 1");
  if (options.resume && options.output == "-") {
    throw Error(ErrorKind::usage, "--resume needs an output file (-o FILE): it reads what an earlier run wrote there");
  }
  const config::ModelConfig config = config::load_model_config(options.model);
  if (config.output_processor != "classifier") {
    throw Error(ErrorKind::config, "{}: output_processor \"{}\" is not supported by zoo apply yet", config.source,
                config.output_processor);
  }

  std::vector<std::string> paths = media::discover_inputs(options.inputs);
  if (!options.files_from.empty()) {
    auto listed = media::read_list_file(options.files_from);
    paths.insert(paths.end(), listed.begin(), listed.end());
  }
  if (paths.empty()) throw Error(ErrorKind::usage, "no inputs: give image files, folders or --files-from FILE");

  ApplySummary summary;
  if (options.resume) {
    io::ResumeState state = io::scan_for_resume(options.output);
    if (state.torn_bytes > 0) {
      util::warn(fmt::format("{}: dropped a torn last line ({} bytes) left by an interrupted run", options.output,
                             state.torn_bytes));
    }
    std::vector<std::string> todo;
    for (auto& path : paths) {
      if (state.done.count(path)) {
        ++summary.skipped;
      } else {
        todo.push_back(std::move(path));
      }
    }
    summary.failed_before = state.errors;
    paths = std::move(todo);
    if (summary.skipped > 0) util::info(fmt::format("resume: {} inputs already in {}", summary.skipped, options.output));
  }
  summary.total = paths.size();

  io::JsonlWriter writer(options.output, options.resume);
  models::set_threads(options.threads);
  auto model = models::Model::load(config, {options.optimize, models::parse_precision(options.precision)});
  util::info(fmt::format("model: {}", model->description()));

  ClassifierOptions classifier;
  classifier.top_k = options.top_k;
  classifier.confidence_thresh = options.confidence_thresh ? options.confidence_thresh : config.confidence_thresh;
  classifier.store_logits = options.store_logits || config.store_logits;
  classifier.classes = config.classes;

  media::DecodeLimits limits;
  limits.max_pixels = options.max_pixels;
  summary.workers = options.workers > 0 ? options.workers : models::hardware_threads();
  media::ImagePipeline pipeline(paths, config.preprocess, limits, summary.workers,
                                size_t(options.batch_size) * 2 + size_t(summary.workers));
  BatchRunner runner(*model, config.classes.size());
  util::Progress progress(options.progress, paths.size(), "img");
  bool any_success = false;

  const auto start = Clock::now();
  std::vector<media::PipelineItem> batch;
  for (;;) {
    if (interrupt && *interrupt) {
      summary.interrupted = true;
      break;
    }
    batch.clear();
    while (batch.size() < size_t(options.batch_size)) {
      auto item = pipeline.next();
      if (!item) break;
      summary.decode_seconds += item->decode_seconds;
      batch.push_back(std::move(*item));
    }
    if (batch.empty()) break;

    std::vector<std::vector<float>> outputs(batch.size());
    std::vector<std::string> errors(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) errors[i] = batch[i].image.error;
    const auto model_start = Clock::now();
    runner.run(batch, outputs, errors, any_success);
    summary.model_seconds += seconds_since(model_start);

    const auto write_start = Clock::now();
    for (size_t i = 0; i < batch.size(); ++i) {
      nlohmann::ordered_json record;
      record["filepath"] = batch[i].path;
      if (!errors[i].empty()) {
        record["error"] = errors[i];
        ++summary.failed;
        util::warn(fmt::format("{}: {}", batch[i].path, errors[i]));
      } else {
        record["width"] = batch[i].image.width;
        record["height"] = batch[i].image.height;
        record[options.label_field] = classify(outputs[i].data(), outputs[i].size(), classifier);
        ++summary.ok;
      }
      writer.write(record.dump());
    }
    writer.flush();
    summary.write_seconds += seconds_since(write_start);
    progress.update(summary.ok + summary.failed);

    if (options.max_failures >= 0 && int64_t(summary.failed) > options.max_failures) {
      summary.too_many_failures = true;
      break;
    }
  }
  pipeline.stop();
  progress.finish();
  summary.seconds = seconds_since(start);
  return summary;
}

std::string format_summary(const ApplySummary& s) {
  const size_t done = s.ok + s.failed;
  std::string out = fmt::format("{} images: {} ok, {} failed", done, s.ok, s.failed);
  if (s.skipped > 0) out += fmt::format(", {} skipped (already in the output, {} of them errors)", s.skipped, s.failed_before);
  if (done < s.total) out += fmt::format(", {} not processed", s.total - done);
  out += fmt::format(" in {:.2f} s ({:.1f} images/s); model {:.2f} s, decode {:.2f} s on {} workers (overlapped), write {:.3f} s",
                     s.seconds, s.seconds > 0 ? done / s.seconds : 0.0, s.model_seconds, s.decode_seconds, s.workers,
                     s.write_seconds);
  return out;
}

}  // namespace zoo::inference
