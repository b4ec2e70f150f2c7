#include "config/model_config.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/sha256.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace zoo::config {
namespace {

// Keys zoo reads, with their FiftyOne aliases mapped to zoo's name.
const std::map<std::string, std::string>& key_aliases() {
  static const std::map<std::string, std::string> aliases = {
      {"name", "name"},
      {"description", "description"},
      {"entrypoint", "entrypoint"},
      {"entrypoint_fcn", "entrypoint"},
      {"entrypoint_args", "entrypoint_args"},
      {"weights", "weights"},
      {"weights_path", "weights"},
      {"model_path", "weights"},
      {"weights_key", "weights_key"},
      {"strict", "strict"},
      {"output_processor", "output_processor"},
      {"output_processor_cls", "output_processor"},
      {"output_processor_args", "output_processor_args"},
      {"confidence_thresh", "confidence_thresh"},
      {"mask_thresh", "mask_thresh"},
      {"keypoint_thresh", "keypoint_thresh"},
      {"nms_thresh", "nms_thresh"},
      {"input", "input"},
      {"classes", "classes"},
      {"labels_path", "labels_path"},
      {"labels_string", "labels_string"},
      {"image_size", "image_size"},
      {"image_dim", "image_dim"},
      {"image_min_dim", "image_min_dim"},
      {"image_max_dim", "image_max_dim"},
      {"center_crop", "center_crop"},
      {"image_mean", "image_mean"},
      {"image_std", "image_std"},
      {"image_channels", "image_channels"},
      {"embeddings_layer", "embeddings_layer"},
      {"augment", "augment"},
      {"train", "train"},
      {"deskew", "deskew"},
      {"interpolation", "interpolation"},
      {"device", "device"},
      {"use_half_precision", "use_half_precision"},
      {"cudnn_benchmark", "cudnn_benchmark"},
  };
  return aliases;
}

// FiftyOne keys zoo knows but does not implement: naming them is better
// than "unknown key".
const std::set<std::string>& unsupported_fiftyone_keys() {
  static const std::set<std::string> keys = {
      "transforms_fcn", "transforms_args", "image_min_size", "image_max_size", "image_patch_size",
      "ragged_batches", "raw_inputs", "as_feature_extractor", "mask_targets", "mask_targets_path",
      "skeleton", "skip_unlabeled", "use_half_precision_fcn", "collate_fn"};
  return keys;
}

class Reader {
 public:
  Reader(std::string source, std::string base_dir, ParseOptions options = {})
      : m_source(std::move(source)), m_base(std::move(base_dir)), m_options(options) {}

  const std::string& base_dir() const { return m_base; }
  const ParseOptions& options() const { return m_options; }

  std::string where(const YAML::Node& node) const {
    auto mark = node.Mark();
    if (mark.line < 0) return m_source;
    return fmt::format("{}:{}:{}", m_source, mark.line + 1, mark.column + 1);
  }

  [[noreturn]] void fail(const YAML::Node& node, const std::string& key, const std::string& what) const {
    throw Error(ErrorKind::config, "{}: key \"{}\": {}", where(node), key, what);
  }

  std::string string(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) fail(node, key, "expected a string");
    return node.as<std::string>();
  }

  bool boolean(const YAML::Node& node, const std::string& key) const {
    bool value = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) fail(node, key, "expected true or false");
    return value;
  }

  double number(const YAML::Node& node, const std::string& key) const {
    double value = 0;
    if (!node.IsScalar() || !YAML::convert<double>::decode(node, value)) {
      fail(node, key, fmt::format("expected a number, got \"{}\"", node.IsScalar() ? node.Scalar() : "a list or map"));
    }
    if (!std::isfinite(value)) fail(node, key, fmt::format("expected a finite number, got \"{}\"", node.Scalar()));
    return value;
  }

  int positive_int(const YAML::Node& node, const std::string& key) const {
    long long value = 0;
    if (!node.IsScalar() || !YAML::convert<long long>::decode(node, value)) {
      fail(node, key, fmt::format("expected a positive integer, got \"{}\"",
                                  node.IsScalar() ? node.Scalar() : "a list or map"));
    }
    if (value <= 0 || value > 100000) fail(node, key, fmt::format("expected a positive integer, got {}", value));
    return static_cast<int>(value);
  }

  // An int N (N x N) or a list [height, width], as torchvision's Resize and
  // CenterCrop (and so FiftyOne) read it.
  Size size(const YAML::Node& node, const std::string& key) const {
    if (node.IsScalar()) {
      int n = positive_int(node, key);
      return {n, n};
    }
    if (!node.IsSequence() || node.size() != 2) fail(node, key, "expected an integer or a list [height, width]");
    const int height = positive_int(node[0], key);
    return {positive_int(node[1], key), height};
  }

  std::array<float, 3> triple(const YAML::Node& node, const std::string& key) const {
    if (!node.IsSequence() || (node.size() != 3 && node.size() != 1)) {
      fail(node, key, "expected a list of 3 numbers (one per RGB channel)");
    }
    std::array<float, 3> out{};
    for (size_t i = 0; i < 3; ++i) out[i] = static_cast<float>(number(node[node.size() == 1 ? 0 : i], key));
    return out;
  }

  std::vector<std::string> strings(const YAML::Node& node, const std::string& key) const {
    if (!node.IsSequence()) fail(node, key, "expected a list of strings");
    std::vector<std::string> out;
    for (const auto& item : node) out.push_back(string(item, key));
    return out;
  }

  // A path in the config, relative to the config's folder; must exist
  // unless `may_be_missing`.
  std::string existing_path(const YAML::Node& node, const std::string& key, bool may_be_missing = false) const {
    std::string value = string(node, key);
    if (value.empty()) fail(node, key, "expected a path, got an empty string");
    fs::path path(value);
    if (path.is_relative()) path = fs::path(m_base) / path;
    if (may_be_missing) return path.lexically_normal().string();
    // Anything but a regular file (a FIFO would block the reader) is refused here.
    const std::string problem = util::regular_file_problem(path.string(), "a file");
    if (problem == "no such file") fail(node, key, fmt::format("file not found: {}", path.lexically_normal().string()));
    if (!problem.empty()) fail(node, key, fmt::format("{}: {}", problem, path.string()));
    return path.lexically_normal().string();
  }

  nlohmann::json to_json(const YAML::Node& node) const {
    if (node.IsMap()) {
      auto out = nlohmann::json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) {
          throw Error(ErrorKind::config, "{}: argument names must be plain names", where(kv.first));
        }
        out[kv.first.Scalar()] = to_json(kv.second);
      }
      return out;
    }
    if (node.IsSequence()) {
      auto out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(to_json(item));
      return out;
    }
    if (node.IsNull()) return nullptr;
    const std::string& text = node.Scalar();
    if (node.Tag() == "!") return text;  // quoted: always a string
    long long i = 0;
    double d = 0;
    bool b = false;
    if (YAML::convert<long long>::decode(node, i)) return i;
    if (YAML::convert<double>::decode(node, d)) {
      if (!std::isfinite(d)) throw Error(ErrorKind::config, "{}: expected a finite number, got \"{}\"", where(node), text);
      return d;
    }
    if (YAML::convert<bool>::decode(node, b)) return b;
    return text;
  }

 private:
  std::string m_source;
  std::string m_base;
  ParseOptions m_options;
};

// A threshold between 0 and 1.
double read_fraction(const Reader& read, const YAML::Node& value, const std::string& key) {
  const double x = read.number(value, key);
  if (!(x >= 0 && x <= 1)) read.fail(value, key, "expected a number between 0 and 1");
  return x;
}

std::string canonical_output_processor(const std::string& value) {
  // FiftyOne class names map to zoo's processor names.
  static const std::map<std::string, std::string> names = {
      {"classifier", "classifier"},
      {"ClassifierOutputProcessor", "classifier"},
      {"fiftyone.utils.torch.ClassifierOutputProcessor", "classifier"},
      {"detector", "detector"},
      {"DetectorOutputProcessor", "detector"},
      {"fiftyone.utils.torch.DetectorOutputProcessor", "detector"},
      {"instance_segmenter", "instance_segmenter"},
      {"InstanceSegmenterOutputProcessor", "instance_segmenter"},
      {"fiftyone.utils.torch.InstanceSegmenterOutputProcessor", "instance_segmenter"},
      {"keypoints", "keypoints"},
      {"KeypointDetectorOutputProcessor", "keypoints"},
      {"fiftyone.utils.torch.KeypointDetectorOutputProcessor", "keypoints"},
      {"segmenter", "segmenter"},
      {"regression", "regression"},
      {"SemanticSegmenterOutputProcessor", "segmenter"},
      {"fiftyone.utils.torch.SemanticSegmenterOutputProcessor", "segmenter"},
  };
  auto it = names.find(value);
  return it == names.end() ? "" : it->second;
}

// A [min, max] list with low < min <= max <= high.
std::array<double, 2> read_range(const Reader& read, const YAML::Node& value, const std::string& key, double low,
                                 double high) {
  if (!value.IsSequence() || value.size() != 2) read.fail(value, key, "expected a list [min, max]");
  std::array<double, 2> r{read.number(value[0], key), read.number(value[1], key)};
  if (r[0] <= low || r[1] > high || r[0] > r[1]) {
    read.fail(value, key, fmt::format("expected {} < min <= max <= {}", low, high));
  }
  return r;
}

// augment.random_resized_crop: true/false or {scale: [a, b], ratio: [c, d]}.
void parse_crop(const Reader& read, const YAML::Node& value, const std::string& key, Augment& out) {
  if (value.IsScalar()) {
    out.random_resized_crop = read.boolean(value, key);
    return;
  }
  if (!value.IsMap()) read.fail(value, key, "expected true/false or a map {scale: [min, max], ratio: [min, max]}");
  out.random_resized_crop = true;
  for (const auto& arg : value) {
    const std::string arg_name = arg.first.Scalar();
    if (arg_name == "scale") {
      out.crop_scale = read_range(read, arg.second, key + ".scale", 0.0, 1.0);
    } else if (arg_name == "ratio") {
      out.crop_ratio = read_range(read, arg.second, key + ".ratio", 0.0, 100.0);
    } else {
      throw Error(ErrorKind::config, "{}: unknown key \"{}.{}\"{}", read.where(arg.first), key, arg_name,
                  util::did_you_mean(arg_name, {"scale", "ratio"}));
    }
  }
}

// augment.elastic: {alpha: pixels, sigma: pixels}.
void parse_elastic(const Reader& read, const YAML::Node& value, const std::string& key, Augment& out) {
  if (!value.IsMap()) read.fail(value, key, "expected a map {alpha: pixels, sigma: pixels}");
  for (const auto& arg : value) {
    const std::string arg_name = arg.first.Scalar();
    if (arg_name == "alpha") {
      out.elastic_alpha = read.number(arg.second, key + ".alpha");
      if (out.elastic_alpha < 0) read.fail(arg.second, key + ".alpha", "expected a number >= 0");
    } else if (arg_name == "sigma") {
      out.elastic_sigma = read.number(arg.second, key + ".sigma");
      if (out.elastic_sigma <= 0) read.fail(arg.second, key + ".sigma", "expected a number > 0");
    } else {
      throw Error(ErrorKind::config, "{}: unknown key \"{}.{}\"{}", read.where(arg.first), key, arg_name,
                  util::did_you_mean(arg_name, {"alpha", "sigma"}));
    }
  }
}

// augment.random_affine: {degrees: d, translate: [x, y], scale: [a, b], shear: s}.
void parse_affine(const Reader& read, const YAML::Node& value, const std::string& key, Augment& out) {
  if (!value.IsMap()) read.fail(value, key, "expected a map {degrees: d, translate: [x, y], scale: [min, max], shear: s}");
  out.random_affine = true;
  for (const auto& arg : value) {
    const std::string arg_name = arg.first.Scalar();
    const std::string arg_key = key + "." + arg_name;
    if (arg_name == "degrees") {
      out.affine_degrees = read.number(arg.second, arg_key);
      if (out.affine_degrees < 0 || out.affine_degrees > 180) read.fail(arg.second, arg_key, "expected degrees between 0 and 180");
    } else if (arg_name == "translate") {
      if (!arg.second.IsSequence() || arg.second.size() != 2) read.fail(arg.second, arg_key, "expected [x, y], fractions of the width and height");
      out.affine_translate = {read.number(arg.second[0], arg_key), read.number(arg.second[1], arg_key)};
      for (double t : out.affine_translate) {
        if (t < 0 || t > 1) read.fail(arg.second, arg_key, "expected fractions between 0 and 1");
      }
    } else if (arg_name == "scale") {
      out.affine_scale = read_range(read, arg.second, arg_key, 0.0, 10.0);
    } else if (arg_name == "shear") {
      out.affine_shear = read.number(arg.second, arg_key);
      if (out.affine_shear < 0 || out.affine_shear >= 90) read.fail(arg.second, arg_key, "expected degrees between 0 and 90");
    } else {
      throw Error(ErrorKind::config, "{}: unknown key \"{}\"{}", read.where(arg.first), arg_key,
                  util::did_you_mean(arg_name, {"degrees", "translate", "scale", "shear"}));
    }
  }
}

// augment.color_jitter: {brightness: x, contrast: y, saturation: z}, each in [0, 1].
void parse_jitter(const Reader& read, const YAML::Node& value, const std::string& key, Augment& out) {
  if (!value.IsMap()) read.fail(value, key, "expected a map {brightness: x, contrast: y, saturation: z}");
  for (const auto& arg : value) {
    const std::string arg_name = arg.first.Scalar();
    double* target = arg_name == "brightness" ? &out.brightness
                     : arg_name == "contrast" ? &out.contrast
                     : arg_name == "saturation" ? &out.saturation
                                                : nullptr;
    if (!target) {
      throw Error(ErrorKind::config, "{}: unknown key \"{}.{}\"{}", read.where(arg.first), key, arg_name,
                  util::did_you_mean(arg_name, {"brightness", "contrast", "saturation"}));
    }
    *target = read.number(arg.second, key + "." + arg_name);
    if (*target < 0 || *target > 1) read.fail(arg.second, key + "." + arg_name, "expected a number in [0, 1]");
  }
}

// augment: {random_resized_crop: {scale: [a, b], ratio: [c, d]} | true,
//           hflip: bool, rotate: degrees, elastic: {alpha: a, sigma: s},
//           random_affine: {degrees: d, translate: [x, y], scale: [a, b], shear: s},
//           color_jitter: {brightness: x, contrast: y, saturation: z}}
void parse_augment(const Reader& read, const YAML::Node& node, Augment& out) {
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) read.fail(kv.first, "augment", "keys must be plain names");
    const std::string name = kv.first.Scalar();
    const std::string key = "augment." + name;
    const YAML::Node& value = kv.second;
    if (name == "random_resized_crop") {
      parse_crop(read, value, key, out);
    } else if (name == "hflip") {
      out.hflip = read.boolean(value, key);
    } else if (name == "rotate") {
      out.rotate = read.number(value, key);
      if (out.rotate < 0 || out.rotate > 180) read.fail(value, key, "expected degrees between 0 and 180");
    } else if (name == "elastic") {
      parse_elastic(read, value, key, out);
    } else if (name == "random_affine") {
      parse_affine(read, value, key, out);
    } else if (name == "color_jitter") {
      parse_jitter(read, value, key, out);
    } else {
      throw Error(ErrorKind::config, "{}: unknown key \"{}\"{}", read.where(kv.first), key,
                  util::did_you_mean(name, {"random_resized_crop", "hflip", "rotate", "elastic", "random_affine", "color_jitter"}));
    }
  }
}

// train: zoo train's options. Each value is checked as the flag checks it,
// so a bad recipe fails at its line before any data is read.
void parse_train(const Reader& read, const YAML::Node& node, nlohmann::json& out) {
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) read.fail(kv.first, "train", "keys must be plain names");
    const std::string name = kv.first.Scalar();
    const std::string key = "train." + name;
    const YAML::Node& value = kv.second;
    auto count = [&](long long low) {
      long long n = 0;
      if (!value.IsScalar() || !YAML::convert<long long>::decode(value, n) || n < low) {
        read.fail(value, key, fmt::format("expected an integer >= {}", low));
      }
      return n;
    };
    auto number = [&](double low, double high, bool low_open) {
      const double x = read.number(value, key);
      if (x < low || x > high || (low_open && x == low)) {
        read.fail(value, key, high < 1e300 ? fmt::format("expected a number in {}{}, {}]", low_open ? "(" : "[", low, high)
                                           : fmt::format("expected a number {} {}", low_open ? ">" : ">=", low));
      }
      return x;
    };
    auto one_of = [&](const std::vector<std::string>& allowed) {
      const std::string v = read.string(value, key);
      if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
        read.fail(value, key, fmt::format("expected one of {}, got \"{}\"", util::join(allowed, ", "), v));
      }
      return v;
    };
    constexpr double k_any = 1e308;
    if (out.contains(name)) read.fail(kv.first, key, "given twice");
    if (name == "data" || name == "val") {
      fs::path path(read.string(value, key));
      if (path.is_relative()) path = fs::path(read.base_dir()) / path;
      out[name] = path.lexically_normal().string();
    } else if (name == "val_split") {
      out[name] = number(0, 0.9, false);
    } else if (name == "seed") {
      out[name] = uint64_t(count(0));
    } else if (name == "epochs" || name == "batch_size") {
      out[name] = int(std::min<long long>(count(1), 1000000));
    } else if (name == "step_size" || name == "warmup_epochs" || name == "patience" || name == "threads") {
      out[name] = int(std::min<long long>(count(0), 1000000));
    } else if (name == "lr" || name == "gamma") {
      out[name] = number(0, k_any, true);
    } else if (name == "momentum" || name == "weight_decay") {
      out[name] = number(0, k_any, false);
    } else if (name == "label_smoothing") {
      out[name] = number(0, 1, false);
    } else if (name == "optimizer") {
      out[name] = one_of({"sgd", "adam", "adamw"});
    } else if (name == "schedule") {
      out[name] = one_of({"constant", "step", "cosine"});
    } else if (name == "freeze") {
      out[name] = read.boolean(value, key);
    } else if (name == "freeze_until") {
      out[name] = read.string(value, key);
    } else {
      throw Error(ErrorKind::config, "{}: unknown key \"{}\"{} (train: holds zoo train's options: {})",
                  read.where(kv.first), key, util::did_you_mean(name, train_keys()), util::join(train_keys(), ", "));
    }
  }
}

}  // namespace

const std::vector<std::string>& train_keys() {
  static const std::vector<std::string> keys = {
      "data",          "val",      "val_split",      "seed",       "epochs",   "batch_size",
      "lr",            "optimizer", "momentum",      "weight_decay", "schedule", "step_size",
      "gamma",         "warmup_epochs", "label_smoothing", "patience", "threads", "freeze",
      "freeze_until"};
  return keys;
}

namespace {

// Writes a JSON value (entrypoint_args) as flow-style YAML that reads back
// to the same JSON: nested lists and maps kept, floats as the shortest
// decimals that round-trip, and always with a decimal point so that they
// stay floats.
void emit_json(YAML::Emitter& out, const nlohmann::json& value) {
  if (value.is_object()) {
    out << YAML::Flow << YAML::BeginMap;
    for (const auto& [key, item] : value.items()) {
      out << YAML::Key << key << YAML::Value;
      emit_json(out, item);
    }
    out << YAML::EndMap;
  } else if (value.is_array()) {
    out << YAML::Flow << YAML::BeginSeq;
    for (const auto& item : value) emit_json(out, item);
    out << YAML::EndSeq;
  } else if (value.is_number_integer()) {
    out << value.get<int64_t>();
  } else if (value.is_number()) {
    std::string text = fmt::format("{}", value.get<double>());
    if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
    out << text;
  } else if (value.is_boolean()) {
    out << value.get<bool>();
  } else if (value.is_string()) {
    out << YAML::DoubleQuoted << value.get<std::string>();
  } else {
    out << YAML::Null;
  }
}

}  // namespace

std::string to_yaml(const ModelConfig& config, const std::string& base_dir) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  auto relative = [&](const std::string& path) {
    const fs::path p = fs::absolute(path).lexically_normal();
    const fs::path base = fs::absolute(base_dir).lexically_normal();
    const fs::path rel = p.lexically_relative(base);
    return (!rel.empty() && *rel.begin() != "..") ? rel.string() : p.string();
  };
  if (!config.name.empty()) out << YAML::Key << "name" << YAML::Value << config.name;
  out << YAML::Key << "entrypoint" << YAML::Value << config.entrypoint;
  if (!config.entrypoint_args.empty()) {
    out << YAML::Key << "entrypoint_args" << YAML::Value;
    emit_json(out, config.entrypoint_args);
  }
  if (!config.weights.empty()) out << YAML::Key << "weights" << YAML::Value << relative(config.weights);
  if (!config.weights_key.empty()) out << YAML::Key << "weights_key" << YAML::Value << config.weights_key;
  if (!config.strict) out << YAML::Key << "strict" << YAML::Value << false;
  out << YAML::Key << "output_processor" << YAML::Value << config.output_processor;
  if (config.store_logits || config.probabilities || config.anchors) {
    out << YAML::Key << "output_processor_args" << YAML::Value << YAML::Flow << YAML::BeginMap;
    if (config.store_logits) out << YAML::Key << "store_logits" << YAML::Value << true;
    if (config.probabilities) out << YAML::Key << "probabilities" << YAML::Value << true;
    if (config.anchors) {
      out << YAML::Key << "anchors" << YAML::Value << YAML::BeginMap;
      out << YAML::Key << "strides" << YAML::Value << config.anchors->strides;
      out << YAML::Key << "per_cell" << YAML::Value << config.anchors->per_cell;
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
  }
  if (config.input_list) out << YAML::Key << "input" << YAML::Value << "list";
  if (config.mask_thresh) out << YAML::Key << "mask_thresh" << YAML::Value << *config.mask_thresh;
  if (config.keypoint_thresh) out << YAML::Key << "keypoint_thresh" << YAML::Value << *config.keypoint_thresh;
  if (config.nms_thresh) out << YAML::Key << "nms_thresh" << YAML::Value << *config.nms_thresh;
  if (config.confidence_thresh) out << YAML::Key << "confidence_thresh" << YAML::Value << *config.confidence_thresh;
  if (!config.labels_path.empty()) {
    out << YAML::Key << "labels_path" << YAML::Value << relative(config.labels_path);
  } else if (!config.classes.empty()) {
    out << YAML::Key << "classes" << YAML::Value << YAML::Flow << config.classes;
  }
  const Preprocess& pre = config.preprocess;
  auto size = [&](const char* key, const Size& s) {
    out << YAML::Key << key << YAML::Value << YAML::Flow << std::vector<int>{s.height, s.width};
  };
  if (pre.image_size) size("image_size", *pre.image_size);
  if (pre.image_dim) out << YAML::Key << "image_dim" << YAML::Value << pre.image_dim;
  if (pre.image_min_dim) out << YAML::Key << "image_min_dim" << YAML::Value << pre.image_min_dim;
  if (pre.image_max_dim) out << YAML::Key << "image_max_dim" << YAML::Value << pre.image_max_dim;
  if (pre.center_crop) size("center_crop", *pre.center_crop);
  // One value per channel (a grayscale model's mean is [0.5], not
  // [0.5, 0.5, 0.5]), as the shortest decimals that read back as the same
  // floats ("0.485", not "0.48500001430511475").
  auto floats = [&](const char* key, const std::array<float, 3>& values) {
    out << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (int c = 0; c < pre.channels; ++c) out << fmt::format("{}", values[c]);
    out << YAML::EndSeq;
  };
  floats("image_mean", pre.mean);
  floats("image_std", pre.std);
  if (pre.channels != 3) out << YAML::Key << "image_channels" << YAML::Value << pre.channels;
  if (pre.deskew) out << YAML::Key << "deskew" << YAML::Value << true;
  if (pre.bicubic) out << YAML::Key << "interpolation" << YAML::Value << "bicubic";
  if (!config.embeddings_layer.empty()) {
    out << YAML::Key << "embeddings_layer" << YAML::Value << YAML::DoubleQuoted << config.embeddings_layer;
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string model_digest(const ModelConfig& config) {
  ModelConfig canonical = config;
  canonical.name.clear();
  canonical.source.clear();
  canonical.weights.clear();
  canonical.labels_path.clear();  // then to_yaml writes the classes
  util::Sha256 hash;
  hash.update(to_yaml(canonical, "/"));
  if (!config.weights.empty()) hash.update("weights sha256:" + util::sha256_file(config.weights));
  return "sha256:" + hash.hex_digest();
}

const std::vector<std::string>& known_config_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out;
    for (const auto& [key, _] : key_aliases()) out.push_back(key);
    return out;
  }();
  return keys;
}

std::optional<std::pair<size_t, size_t>> repeated_class(const std::vector<std::string>& classes) {
  std::map<std::string_view, size_t> first;
  for (size_t i = 0; i < classes.size(); ++i) {
    if (const auto [it, added] = first.emplace(classes[i], i); !added) return std::pair{it->second, i};
  }
  return std::nullopt;
}

std::vector<std::string> read_labels_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorKind::config, "{}: cannot read labels file", path);
  std::stringstream text;
  text << in.rdbuf();
  return parse_labels(text.str(), path);
}

std::vector<std::string> parse_labels(const std::string& text, const std::string& path) {
  std::istringstream in(text);
  std::vector<std::string> labels;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    labels.push_back(line);
  }
  while (!labels.empty() && labels.back().empty()) labels.pop_back();
  if (labels.empty()) throw Error(ErrorKind::config, "{}: labels file is empty", path);
  if (const auto repeat = repeated_class(labels)) {
    util::warn(fmt::format("{}:{}: the label \"{}\" is also on line {}: records cannot tell these two classes apart",
                           path, repeat->second + 1, labels[repeat->second], repeat->first + 1));
  }
  return labels;
}

namespace {

// The config being read, and where its `input` key was (for errors).
struct ParseState {
  ModelConfig config;
  std::string input_where;
};

// Reads one key's value into the state; `key` is the name as written.
using KeyReader = void (*)(const Reader& read, const YAML::Node& value, const std::string& key, ParseState& state);

// output_processor_args.anchors: {strides: [..], per_cell: [..]}, one
// count per stride.
ModelConfig::Anchors read_anchors(const Reader& read, const YAML::Node& value, const std::string& key) {
  if (!value.IsMap()) read.fail(value, key, "expected a map {strides: [16, 32], per_cell: [2, 6]}");
  ModelConfig::Anchors anchors;
  for (const auto& item : value) {
    const std::string name = item.first.IsScalar() ? item.first.Scalar() : "";
    if (name != "strides" && name != "per_cell") {
      read.fail(item.first, key, fmt::format("unknown key \"{}\" (it takes strides and per_cell)", name));
    }
    if (!item.second.IsSequence() || item.second.size() == 0) {
      read.fail(item.second, key + "." + name, "expected a list of positive integers, one per feature map");
    }
    auto& list = name == "strides" ? anchors.strides : anchors.per_cell;
    for (const auto& n : item.second) list.push_back(read.positive_int(n, key + "." + name));
  }
  if (anchors.strides.empty() || anchors.strides.size() != anchors.per_cell.size()) {
    read.fail(value, key, fmt::format("strides and per_cell need one count each per feature map (got {} and {})",
                                      anchors.strides.size(), anchors.per_cell.size()));
  }
  return anchors;
}

void read_output_processor_args(const Reader& read, const YAML::Node& value, const std::string& key,
                                ParseState& state) {
  if (value.IsNull()) return;
  if (!value.IsMap()) read.fail(value, key, "expected a map");
  ModelConfig& config = state.config;
  for (const auto& arg : value) {
    if (!arg.first.IsScalar()) read.fail(arg.first, key, "argument names must be plain names");
    std::string arg_name = arg.first.Scalar();
    if (arg_name == "store_logits") {
      config.store_logits = read.boolean(arg.second, key + "." + arg_name);
    } else if (arg_name == "probabilities") {
      config.probabilities = read.boolean(arg.second, key + "." + arg_name);
    } else if (arg_name == "mask_thresh" || arg_name == "keypoint_thresh" || arg_name == "nms_thresh") {
      (arg_name == "mask_thresh" ? config.mask_thresh
       : arg_name == "keypoint_thresh" ? config.keypoint_thresh : config.nms_thresh) =
          read_fraction(read, arg.second, key + "." + arg_name);
    } else if (arg_name == "anchors") {
      config.anchors = read_anchors(read, arg.second, key + "." + arg_name);
    } else {
      throw Error(ErrorKind::config, "{}: unknown key \"{}.{}\"{}", read.where(arg.first), key, arg_name,
                  util::did_you_mean(arg_name, {"store_logits", "probabilities", "mask_thresh", "keypoint_thresh",
                                                "nms_thresh", "anchors"}));
    }
  }
}

// Each canonical key's reader.
const std::map<std::string, KeyReader>& key_readers() {
  using Node = YAML::Node;
  using S = ParseState;
  static const std::map<std::string, KeyReader> readers = {
      {"name", [](const Reader& r, const Node& v, const std::string& k, S& s) { s.config.name = r.string(v, k); }},
      {"description", [](const Reader& r, const Node& v, const std::string& k, S&) { r.string(v, k); }},
      {"entrypoint",
       [](const Reader& r, const Node& v, const std::string& k, S& s) {
         s.config.entrypoint = r.string(v, k);
         s.config.entrypoint_where = r.where(v);
       }},
      {"entrypoint_args",
       [](const Reader& r, const Node& v, const std::string& k, S& s) {
         if (!v.IsMap() && !v.IsNull()) r.fail(v, k, "expected a map of argument names to values");
         if (v.IsMap()) s.config.entrypoint_args = r.to_json(v);
       }},
      {"weights",
       [](const Reader& r, const Node& v, const std::string& k, S& s) {
         s.config.weights = r.existing_path(v, k, !r.options().require_weights);
       }},
      {"weights_key", [](const Reader& r, const Node& v, const std::string& k, S& s) { s.config.weights_key = r.string(v, k); }},
      {"strict", [](const Reader& r, const Node& v, const std::string& k, S& s) { s.config.strict = r.boolean(v, k); }},
      {"output_processor",
       [](const Reader& r, const Node& v, const std::string& k, S& s) {
         std::string name = r.string(v, k);
         s.config.output_processor = canonical_output_processor(name);
         if (s.config.output_processor.empty()) {
           const std::vector<std::string> known = {"classifier", "detector", "instance_segmenter", "keypoints",
                                                   "regression", "segmenter"};
           r.fail(v, k, fmt::format("unknown output processor \"{}\" (known: {}){}", name, util::join(known, ", "),
                                    util::did_you_mean(name, known)));
         }
       }},
      {"output_processor_args", read_output_processor_args},
      {"confidence_thresh",
       [](const Reader& r, const Node& v, const std::string& k, S& s) {
         double thresh = r.number(v, k);
         if (thresh < 0 || thresh > 1) r.fail(v, k, "expected a number between 0 and 1");
         s.config.confidence_thresh = thresh;
       }},
      {"mask_thresh", [](const Reader& r, const Node& v, const std::string& k, S& s) { s.config.mask_thresh = read_fraction(r, v, k); }},
      {"keypoint_thresh",
       [](const Reader& r, const Node& v, const std::string& k, S& s) { s.config.keypoint_thresh = read_fraction(r, v, k); }},
      {"nms_thresh",
       [](const Reader& r, const Node& v, const std::string& k, S& s) { s.config.nms_thresh = read_fraction(r, v, k); }},
      {"input",
       [](const Reader& r, const Node& v, const std::string& k, S& s) {
         const std::string input = r.string(v, k);
         if (input != "batch" && input != "list") {
           r.fail(v, k, fmt::format("expected batch (one NCHW tensor) or list (a list of CHW images), got \"{}\"", input));
         }
         s.config.input_list = input == "list";
         s.input_where = r.where(v);
       }},
      {"classes",
       [](const Reader& r, const Node& v, const std::string& k, S& s) {
         s.config.classes = r.strings(v, k);
         if (const auto repeat = repeated_class(s.config.classes)) {
           util::warn(fmt::format("{}: key \"{}\": \"{}\" is also class {} (from 0): records cannot tell these two "
                                  "classes apart", r.where(v[repeat->second]), k, s.config.classes[repeat->second],
                                  repeat->first));
         }
       }},
      {"labels_path",
       [](const Reader& r, const Node& v, const std::string& k, S& s) {
         const auto* named = r.options().named_labels;
         if (named && v.IsScalar() && named->count(v.Scalar())) {
           s.config.classes = parse_labels(named->at(v.Scalar()), v.Scalar());
           return;
         }
         s.config.labels_path = r.existing_path(v, k);
       }},
      {"labels_string",
       [](const Reader& r, const Node& v, const std::string& k, S& s) {
         std::stringstream in(r.string(v, k));
         std::string label;
         while (std::getline(in, label, ',')) s.config.classes.push_back(label);
         if (const auto repeat = repeated_class(s.config.classes)) {
           util::warn(fmt::format("{}: key \"{}\": \"{}\" is also class {} (from 0): records cannot tell these two "
                                  "classes apart", r.where(v), k, s.config.classes[repeat->second], repeat->first));
         }
       }},
      {"image_size", [](const Reader& r, const Node& v, const std::string& k, S& s) { s.config.preprocess.image_size = r.size(v, k); }},
      {"image_dim", [](const Reader& r, const Node& v, const std::string& k, S& s) { s.config.preprocess.image_dim = r.positive_int(v, k); }},
      {"image_min_dim",
       [](const Reader& r, const Node& v, const std::string& k, S& s) { s.config.preprocess.image_min_dim = r.positive_int(v, k); }},
      {"image_max_dim",
       [](const Reader& r, const Node& v, const std::string& k, S& s) { s.config.preprocess.image_max_dim = r.positive_int(v, k); }},
      {"center_crop", [](const Reader& r, const Node& v, const std::string& k, S& s) { s.config.preprocess.center_crop = r.size(v, k); }},
      {"image_mean", [](const Reader& r, const Node& v, const std::string& k, S& s) { s.config.preprocess.mean = r.triple(v, k); }},
      {"image_std",
       [](const Reader& r, const Node& v, const std::string& k, S& s) {
         s.config.preprocess.std = r.triple(v, k);
         for (float x : s.config.preprocess.std) {
           if (x <= 0) r.fail(v, k, "every value must be > 0");
         }
       }},
      {"image_channels",
       [](const Reader& r, const Node& v, const std::string& k, S& s) {
         int channels = r.positive_int(v, k);
         if (channels != 1 && channels != 3) r.fail(v, k, "expected 1 (grayscale) or 3 (RGB)");
         s.config.preprocess.channels = channels;
       }},
      {"deskew", [](const Reader& r, const Node& v, const std::string& k, S& s) { s.config.preprocess.deskew = r.boolean(v, k); }},
      {"interpolation",
       [](const Reader& r, const Node& v, const std::string& k, S& s) {
         const std::string filter = r.string(v, k);
         if (filter != "bilinear" && filter != "bicubic") {
           r.fail(v, k, fmt::format("expected bilinear or bicubic, got \"{}\"", filter));
         }
         s.config.preprocess.bicubic = filter == "bicubic";
       }},
      {"augment",
       [](const Reader& r, const Node& v, const std::string& k, S& s) {
         if (!v.IsMap()) {
           r.fail(v, k, "expected a map (random_resized_crop, hflip, rotate, elastic, random_affine, color_jitter)");
         }
         parse_augment(r, v, s.config.augment);
       }},
      {"train",
       [](const Reader& r, const Node& v, const std::string& k, S& s) {
         if (!v.IsMap()) r.fail(v, k, "expected a map of zoo train's options (epochs: 45, batch_size: 32, ...)");
         parse_train(r, v, s.config.train);
       }},
      {"embeddings_layer", [](const Reader& r, const Node& v, const std::string& k, S& s) { s.config.embeddings_layer = r.string(v, k); }},
      {"device",
       [](const Reader& r, const Node& v, const std::string& k, S&) {
         std::string device = r.string(v, k);
         if (device != "cpu") r.fail(v, k, fmt::format("device \"{}\" is not available: zoo runs on cpu", device));
       }},
      {"use_half_precision",
       [](const Reader& r, const Node& v, const std::string& k, S&) {
         if (r.boolean(v, k)) r.fail(v, k, "half precision is not supported on cpu");
       }},
      // A GPU setting: accepted for FiftyOne configs, no effect on cpu.
      {"cudnn_benchmark", [](const Reader& r, const Node& v, const std::string& k, S&) { r.boolean(v, k); }},
  };
  return readers;
}

// The canonical name of a top-level key, once it is known, not given twice
// (under another alias either) and not a second way to give the labels.
std::string checked_key(const Reader& read, const YAML::Node& key_node, const YAML::Node& value,
                        std::map<std::string, YAML::Node>& seen) {
  if (!key_node.IsScalar()) {
    throw Error(ErrorKind::config, "{}: a key must be a plain name, not a list or map", read.where(key_node));
  }
  const std::string key = key_node.Scalar();
  auto alias = key_aliases().find(key);
  if (alias == key_aliases().end()) {
    if (unsupported_fiftyone_keys().count(key)) {
      throw Error(ErrorKind::config, "{}: key \"{}\": this FiftyOne option is not supported by zoo",
                  read.where(key_node), key);
    }
    throw Error(ErrorKind::config, "{}: unknown key \"{}\"{}", read.where(key_node), key,
                util::did_you_mean(key, known_config_keys()));
  }
  const std::string& canonical = alias->second;
  if (seen.count(canonical)) {
    throw Error(ErrorKind::config, "{}: key \"{}\" given twice (also as \"{}\" at {})", read.where(key_node), key,
                canonical, read.where(seen[canonical]));
  }
  seen[canonical] = value;
  if (canonical == "classes" || canonical == "labels_path" || canonical == "labels_string") {
    for (const char* other : {"classes", "labels_path", "labels_string"}) {
      if (other != canonical && seen.count(other)) {
        throw Error(ErrorKind::config, "{}: key \"{}\": give the labels once, as labels_path, classes or "
                    "labels_string (\"{}\" is at {})", read.where(value), key, other, read.where(seen[other]));
      }
    }
  }
  if (value.IsNull() && canonical != "entrypoint_args" && canonical != "output_processor_args") {
    // yaml-cpp places an empty value on the next line; name the key's.
    throw Error(ErrorKind::config, "{}: key \"{}\" has no value", read.where(key_node), key);
  }
  return canonical;
}

// What no single key can check: the entrypoint is there, one of image_size
// and image_dim, and an input: list model's preprocessing left to it.
void check_whole(const ParseState& state, const Reader& read, const std::map<std::string, YAML::Node>& seen,
                 const std::string& source) {
  const ModelConfig& config = state.config;
  if (config.entrypoint.empty()) {
    throw Error(ErrorKind::config, "{}: missing key \"entrypoint\" (e.g. entrypoint: resnet18, or torchscript)", source);
  }
  if (config.preprocess.image_size && config.preprocess.image_dim > 0) {
    throw Error(ErrorKind::config, "{}: give either \"image_size\" or \"image_dim\", not both", source);
  }
  if (config.anchors && (!config.preprocess.image_size ||
                         (config.output_processor != "detector" && config.output_processor != "keypoints"))) {
    throw Error(ErrorKind::config, "{}: output_processor_args.anchors is for a detector or keypoints model whose "
                "input size the config fixes (image_size): the anchors tile that input", source);
  }
  if (!config.input_list) return;
  // The model resizes and normalises by itself (torchvision's
  // GeneralizedRCNNTransform): it takes the image as decoded, 0-1 RGB.
  const Preprocess& pre = config.preprocess;
  for (const char* key : {"image_size", "image_dim", "image_min_dim", "image_max_dim", "center_crop"}) {
    if (seen.count(key)) {
      throw Error(ErrorKind::config, "{}: key \"{}\": an input: list model takes the images at their own size "
                  "(it resizes them itself); remove the key", read.where(seen.at(key)), key);
    }
  }
  if (pre.mean != std::array<float, 3>{0.f, 0.f, 0.f} || pre.std != std::array<float, 3>{1.f, 1.f, 1.f} ||
      pre.channels != 3) {
    throw Error(ErrorKind::config, "{}: an input: list model takes 0-1 RGB images (it normalises them itself): "
                "remove image_mean, image_std and image_channels", state.input_where);
  }
}

}  // namespace

ModelConfig parse_model_config(const std::string& yaml_text, const std::string& source,
                               const std::string& base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    throw Error(ErrorKind::config, "{}:{}:{}: invalid YAML: {}", source, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  if (!root.IsMap()) throw Error(ErrorKind::config, "{}: expected a map of config keys at the top level", source);
  return parse_model_config(root, source, base_dir, ParseOptions{});
}

ModelConfig parse_model_config(const YAML::Node& root, const std::string& source, const std::string& base_dir,
                               const ParseOptions& options) {
  Reader read(source, base_dir, options);
  if (!root.IsMap()) throw Error(ErrorKind::config, "{}: expected a map of config keys", read.where(root));
  ParseState state;
  state.config.source = source;
  std::map<std::string, YAML::Node> seen;  // canonical key -> value node
  for (const auto& kv : root) {
    const std::string canonical = checked_key(read, kv.first, kv.second, seen);
    key_readers().at(canonical)(read, kv.second, kv.first.Scalar(), state);
  }
  check_whole(state, read, seen, source);
  if (!state.config.labels_path.empty()) state.config.classes = read_labels_file(state.config.labels_path);
  return std::move(state.config);
}

ModelConfig load_model_config(const std::string& path) {
  fs::path file(path);
  std::error_code ec;
  if (fs::is_directory(file, ec)) file /= "model.yaml";
  std::ifstream in(file);
  if (!in) {
    throw Error(ErrorKind::config, "{}: cannot read model config: {}", file.string(),
                fs::exists(file, ec) ? "permission denied" : "no such file");
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string base = file.parent_path().string();
  if (base.empty()) base = ".";
  return parse_model_config(text.str(), file.string(), base);
}

}  // namespace zoo::config
