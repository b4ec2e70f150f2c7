#include "inference/inspect.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "config/model_config.hpp"
#include "inference/detector.hpp"
#include "inference/model_kinds.hpp"
#include "inference/opencv_detectors.hpp"
#include "media/pipeline.hpp"
#include "models/list_model.hpp"
#include "models/model.hpp"
#include "util/error.hpp"
#include "util/sha256.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace zoo::inference {
namespace {

using Json = nlohmann::ordered_json;

Json size_json(const std::optional<config::Size>& size) {
  if (!size) return nullptr;
  return Json::array({size->height, size->width});
}

Json optional_int(int value) { return value > 0 ? Json(value) : Json(nullptr); }

// The first `count` floats (one per image channel) as the shortest
// decimals that read back to them (0.485, not 0.48500001430511475).
Json float_list(const std::array<float, 3>& values, int count) {
  Json out = Json::array();
  for (int i = 0; i < count; ++i) out.push_back(std::stod(fmt::format("{}", values[i])));
  return out;
}

std::string shape_text(const Json& shape) {
  if (!shape.is_array() || shape.empty()) return "?";
  std::vector<std::string> dims;
  for (const auto& d : shape) dims.push_back(std::to_string(d.get<int64_t>()));
  return fmt::format("[{}]", util::join(dims, ", "));
}

// The shape with its first (batch) axis written -1.
std::vector<int64_t> batch_shape(std::vector<int64_t> shape) {
  if (!shape.empty()) shape[0] = -1;
  return shape;
}

std::string thousands(int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// The dry input size: the config's final size when it fixes one, else the
// size it resizes a square image to, else 224.
config::Size dry_size(const config::Preprocess& pre) {
  if (pre.center_crop) return *pre.center_crop;
  if (pre.image_size) return *pre.image_size;
  for (int side : {pre.image_dim, pre.image_max_dim, pre.image_min_dim}) {
    if (side > 0) return {side, side};
  }
  return {224, 224};
}

std::string preprocessing_text(const Json& p) {
  std::vector<std::string> steps;
  if (p.value("input", "") == "list") return "none: a list of images at their own size, RGB 0-1 (the model resizes and normalises)";
  if (!p["image_size"].is_null()) {
    steps.push_back(fmt::format("resize to {}x{} (HxW)", p["image_size"][0].get<int>(), p["image_size"][1].get<int>()));
  } else if (!p["image_dim"].is_null()) {
    steps.push_back(fmt::format("resize the shorter side to {}{}", p["image_dim"].get<int>(),
                                p.value("interpolation", "") == "bicubic" ? " (bicubic)" : ""));
  } else {
    if (!p["image_min_dim"].is_null()) steps.push_back(fmt::format("shorter side at least {}", p["image_min_dim"].get<int>()));
    if (!p["image_max_dim"].is_null()) steps.push_back(fmt::format("longer side at most {}", p["image_max_dim"].get<int>()));
  }
  if (!p["center_crop"].is_null()) {
    steps.push_back(fmt::format("center crop {}x{}", p["center_crop"][0].get<int>(), p["center_crop"][1].get<int>()));
  }
  if (p.value("deskew", false)) steps.push_back("deskew");
  steps.push_back(p["channels"].get<int>() == 1 ? "grayscale" : "RGB");
  steps.push_back(fmt::format("mean {} std {}", p["image_mean"].dump(), p["image_std"].dump()));
  return util::join(steps, ", ");
}

Json preprocessing_json(const config::Preprocess& pre) {
  Json p;
  p["image_size"] = size_json(pre.image_size);
  p["image_dim"] = optional_int(pre.image_dim);
  p["image_min_dim"] = optional_int(pre.image_min_dim);
  p["image_max_dim"] = optional_int(pre.image_max_dim);
  p["center_crop"] = size_json(pre.center_crop);
  p["image_mean"] = float_list(pre.mean, pre.channels);
  p["image_std"] = float_list(pre.std, pre.channels);
  p["channels"] = pre.channels;
  if (pre.deskew) p["deskew"] = true;
  if (pre.bicubic) p["interpolation"] = "bicubic";
  return p;
}

Json labels_json(const std::vector<std::string>& classes, const std::string& path) {
  Json labels;
  labels["count"] = classes.size();
  labels["first"] = Json::array();
  for (size_t i = 0; i < classes.size() && i < 5; ++i) labels["first"].push_back(classes[i]);
  labels["path"] = path.empty() ? Json(nullptr) : Json(path);
  return labels;
}

// The report's first keys: name, config, entrypoint, entrypoint_args.
Json report_head(const config::ModelConfig& config) {
  Json report;
  report["name"] = config.name.empty() ? Json(nullptr) : Json(config.name);
  report["config"] = config.source;
  report["entrypoint"] = config.entrypoint;
  report["entrypoint_args"] = config.entrypoint_args;
  return report;
}

// The weights file's path, format, size and sha256; null when there is none.
Json weights_json(const config::ModelConfig& config, const std::string& format) {
  if (config.weights.empty()) return nullptr;
  Json weights;
  weights["path"] = config.weights;
  weights["format"] = format;
  std::error_code ec;
  weights["bytes"] = fs::file_size(config.weights, ec);
  weights["sha256"] = util::sha256_file(config.weights);
  return weights;
}

// The config's embeddings_layer as the dry run shows it: its shape and
// the values --pool avg makes of it, or why they are unknown.
Json embeddings_json(const std::string& embeddings_layer, const std::vector<models::LayerInfo>& layers) {
  const bool input = embeddings_layer[0] == '<';
  const std::string name = input ? embeddings_layer.substr(1) : embeddings_layer;
  Json embeddings;
  embeddings["layer"] = embeddings_layer;
  const models::LayerInfo* found = nullptr;
  for (const auto& layer : layers) {
    if (layer.name == name) found = &layer;
  }
  const std::vector<int64_t> shape = found ? (input ? found->input_shape : found->output_shape) : std::vector<int64_t>{};
  if (!found) {
    embeddings["error"] = fmt::format("unknown layer \"{}\"", name);
  } else if (shape.empty()) {
    embeddings["error"] = found->note.empty() ? "shape unknown" : found->note;
  } else {
    embeddings["shape"] = batch_shape(shape);
    embeddings["pooled_dims"] = shape.size() < 2 ? 1 : shape[shape.size() == 3 ? 2 : 1];  // zoo embed's default --pool avg
  }
  return embeddings;
}

Json layers_json(const std::vector<models::LayerInfo>& layers) {
  Json tree = Json::array();
  for (const auto& layer : layers) {
    Json entry;
    entry["name"] = layer.name;
    entry["kind"] = layer.kind;
    entry["depth"] = std::count(layer.name.begin(), layer.name.end(), '.');
    entry["parameters"] = layer.parameters;
    entry["input_shape"] = layer.input_shape.empty() ? Json(nullptr) : Json(layer.input_shape);
    entry["output_shape"] = layer.output_shape.empty() ? Json(nullptr) : Json(layer.output_shape);
    if (!layer.note.empty()) entry["note"] = layer.note;
    tree.push_back(entry);
  }
  return tree;
}

// The report with its contract, and the typed parts.
ModelReport finish_report(Json report, std::string weights_format, Contract contract) {
  report["contract"] = contract_json(contract);
  return {std::move(report), std::move(weights_format), std::move(contract)};
}

}  // namespace

nlohmann::ordered_json contract_json(const Contract& contract) {
  auto specs = [](const std::vector<TensorSpec>& list) {
    Json out = Json::array();
    for (const auto& spec : list) {
      Json item = {{"name", spec.name}, {"dtype", spec.dtype}, {"shape", spec.shape}};
      if (!spec.columns.empty()) item["columns"] = spec.columns;
      if (!spec.form.empty()) item["form"] = spec.form;
      out.push_back(std::move(item));
    }
    return out;
  };
  return {{"inputs", specs(contract.inputs)}, {"outputs", specs(contract.outputs)}};
}

// An OpenCV detector has no layers or weights: its report is the config,
// and a contract from one dry run on a black image (8-bit pixels in, rows
// of x1, y1, x2, y2, score, class out).
ModelReport inspect_opencv_detector(const config::ModelConfig& config, const DryInput& dry) {
  const config::Size size = dry.size;
  const bool fixed_size = dry.fixed;
  auto detector = load_opencv_detector(config, dry.threads);
  media::PipelineItem item;
  item.image.width = size.width;
  item.image.height = size.height;
  item.image.pixels.channels = 3;
  item.image.pixels.width = size.width;
  item.image.pixels.height = size.height;
  item.image.pixels.data.assign(size_t(size.width) * size.height * 3, 0);
  std::vector<media::PipelineItem> batch(1);
  batch[0] = std::move(item);
  std::vector<std::vector<float>> rows(1);
  detector->run(batch, 0, 1, rows);

  Json report = report_head(config);
  report["weights"] = nullptr;
  report["parameters"] = 0;
  report["preprocessing"] = preprocessing_json(config.preprocess);
  report["output_processor"] = config.output_processor;
  report["labels"] = labels_json(detector->classes(), config.labels_path);
  report["embeddings_layer"] = nullptr;
  report["dry_input"] = Json::array({1, size.height, size.width, 3});
  report["layers"] = Json::array();
  Contract contract;
  contract.inputs.push_back({"image", "uint8",
                             {-1, fixed_size ? int64_t(size.height) : -1, fixed_size ? int64_t(size.width) : -1, 3}});
  contract.outputs.push_back({"detections", "float32", {-1, -1, int64_t(k_detection_values)},
                              {"x1", "y1", "x2", "y2", "score", "class"}});
  return finish_report(std::move(report), "", std::move(contract));
}

// An input: list model (torchvision's detectors) is run as loaded, on one
// zero image: its layers are not traced; the contract lists the per-image
// outputs of the dry run, their first axis (the detections) written -1.
ModelReport inspect_list_model(const config::ModelConfig& config, const DryInput& dry) {
  const config::Size size = dry.size;
  models::set_threads(dry.threads);
  auto model = models::ListModel::load(config);
  const int64_t c = 3;
  std::vector<float> zeros(size_t(c) * size.height * size.width, 0.f);
  const auto outputs = model->forward({{zeros.data(), c, size.height, size.width}});

  Json report = report_head(config);
  report["weights"] = weights_json(config, "torchscript");
  report["parameters"] = model->parameter_count();
  report["preprocessing"] = preprocessing_json(config.preprocess);
  report["preprocessing"]["input"] = "list";
  report["output_processor"] = config.output_processor;
  report["labels"] = labels_json(config.classes, config.labels_path);
  report["embeddings_layer"] = nullptr;
  report["dry_input"] = Json::array({c, size.height, size.width});
  report["layers"] = Json::array();
  Contract contract;
  contract.inputs.push_back({"images", "float32", {-1, c, -1, -1}, {}, "list"});
  for (const auto& [name, output] : outputs.at(0)) {
    contract.outputs.push_back({name, name == "labels" ? "int64" : "float32", batch_shape(output.shape)});
  }
  return finish_report(std::move(report), "torchscript", std::move(contract));
}

ModelReport inspect(const InspectOptions& options) {
  const config::ModelConfig config = config::load_model_config(options.model);
  const auto& pre = config.preprocess;
  DryInput dry;
  dry.size = dry_size(pre);
  if (options.width > 0 && options.height > 0) dry.size = {options.width, options.height};
  dry.fixed = (pre.center_crop || pre.image_size) && options.width <= 0;
  dry.threads = options.threads;
  return model_kind(config).inspect(config, dry);
}

Json inspect_model(const InspectOptions& options) { return inspect(options).report; }

ModelReport inspect_batch_model(const config::ModelConfig& config, const DryInput& dry) {
  const auto& pre = config.preprocess;
  const config::Size size = dry.size;
  models::set_threads(dry.threads);
  auto model = models::Model::load(config, {false, models::Precision::fp32});

  Json report = report_head(config);
  report["weights"] = weights_json(config, model->weights_format());
  report["parameters"] = model->parameter_count();
  report["preprocessing"] = preprocessing_json(pre);
  report["output_processor"] = config.output_processor;
  report["labels"] = labels_json(config.classes, config.labels_path);

  const int64_t c = pre.channels;
  const std::vector<models::LayerInfo> layers = model->layers(c, size.height, size.width);
  std::vector<float> zeros(size_t(c) * size.height * size.width, 0.f);
  const models::Output output = model->forward(zeros.data(), 1, c, size.height, size.width);

  report["embeddings_layer"] = config.embeddings_layer.empty() ? Json(nullptr) : Json(config.embeddings_layer);
  if (!config.embeddings_layer.empty()) report["embeddings"] = embeddings_json(config.embeddings_layer, layers);
  report["dry_input"] = Json::array({1, c, size.height, size.width});
  report["layers"] = layers_json(layers);

  Contract contract;
  contract.inputs.push_back({model->input_name(), "float32",
                             {-1, c, dry.fixed ? int64_t(size.height) : -1, dry.fixed ? int64_t(size.width) : -1}});
  contract.outputs.push_back({"output", "float32", batch_shape(output.shape)});
  return finish_report(std::move(report), config.weights.empty() ? "" : model->weights_format(), std::move(contract));
}

std::string format_inspect_text(const Json& r) {
  std::string text;
  auto line = [&](const std::string& key, const std::string& value) { text += fmt::format("{:<14}{}\n", key, value); };
  line("model", r["config"].get<std::string>() +
                    (r["name"].is_null() ? "" : fmt::format(" ({})", r["name"].get<std::string>())));
  std::string entrypoint = r["entrypoint"].get<std::string>();
  if (!r["entrypoint_args"].empty()) entrypoint = fmt::format("{} {}", entrypoint, r["entrypoint_args"].dump());
  line("entrypoint", entrypoint);
  if (r["weights"].is_null()) {
    line("weights", "none (random initial weights)");
  } else {
    const auto& w = r["weights"];
    line("weights", fmt::format("{} ({}, {} bytes)", w["path"].get<std::string>(), w["format"].get<std::string>(),
                                thousands(w["bytes"].get<int64_t>())));
    line("sha256", w["sha256"].get<std::string>());
  }
  line("parameters", thousands(r["parameters"].get<int64_t>()));
  line("preprocessing", preprocessing_text(r["preprocessing"]));
  line("output", r["output_processor"].get<std::string>());
  const auto& labels = r["labels"];
  std::vector<std::string> first;
  for (const auto& label : labels["first"]) first.push_back(label.dump());
  const size_t count = labels["count"].get<size_t>();
  line("labels", count == 0 ? "none"
                            : fmt::format("{}: {}{}", count, util::join(first, ", "), count > first.size() ? ", ..." : ""));
  if (r.contains("embeddings")) {
    const auto& e = r["embeddings"];
    line("embeddings", e.contains("error") ? fmt::format("{}: {}", e["layer"].get<std::string>(), e["error"].get<std::string>())
                                           : fmt::format("{} {} (--pool avg: {} values)", e["layer"].get<std::string>(),
                                                         shape_text(e["shape"]), e["pooled_dims"].get<int64_t>()));
  }

  if (r["layers"].empty()) {
    text += fmt::format("\nlayers: not traced (dry input {})\n", shape_text(r["dry_input"]));
  } else {
    text += fmt::format("\nlayers (output shapes for a dry input of {}):\n", shape_text(r["dry_input"]));
  }
  size_t width = 4;
  for (const auto& layer : r["layers"]) {
    width = std::max(width, layer["name"].get<std::string>().size() + 2 * layer["depth"].get<size_t>());
  }
  size_t kind_width = 4;
  for (const auto& layer : r["layers"]) kind_width = std::max(kind_width, layer["kind"].get<std::string>().size());
  if (!r["layers"].empty()) {
    text += fmt::format("  {:<{}}  {:<{}}  {:<22}  {:>12}\n", "name", width, "kind", kind_width, "output", "parameters");
  }
  for (const auto& layer : r["layers"]) {
    const std::string indent(2 * layer["depth"].get<size_t>(), ' ');
    std::string shape = shape_text(layer["output_shape"]);
    if (layer.contains("note")) {
      const std::string note = fmt::format("({})", layer["note"].get<std::string>());
      shape = layer["output_shape"].is_null() ? note : fmt::format("{} {}", shape, note);
    }
    text += fmt::format("  {:<{}}  {:<{}}  {:<22}  {:>12}\n", indent + layer["name"].get<std::string>(), width,
                        layer["kind"].get<std::string>(), kind_width, shape, thousands(layer["parameters"].get<int64_t>()));
  }

  text += "\ncontract:\n";
  for (const auto& [role, key] : {std::pair{"input", "inputs"}, std::pair{"output", "outputs"}}) {
    for (const auto& item : r["contract"][key]) {
      text += fmt::format("  {:<7} {:<8} {:<8} {}\n", role, item["name"].get<std::string>(),
                          item["dtype"].get<std::string>(), shape_text(item["shape"]));
    }
  }
  return text;
}

}  // namespace zoo::inference
