#include "inference/model_kinds.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "inference/inspect.hpp"
#include "inference/list_predictor.hpp"
#include "inference/opencv_detectors.hpp"
#include "inference/spatial_labels.hpp"
#include "models/list_model.hpp"
#include "models/model.hpp"
#include "util/error.hpp"

namespace zoo::inference {
namespace {

// A Torch module taking an NCHW batch: the built-in architectures and
// TorchScript files.
class BatchModel : public LoadedModel {
 public:
  BatchModel(const config::ModelConfig& config, const LoadRequest& request)
      : m_model(models::Model::load(config, {request.optimize, models::parse_precision(request.precision)},
                                    request.layer)),
        m_predictor(*m_model, request.rows, size_t(std::max(0, request.batch_size))),
        m_classes(config.classes) {}
  Predictor& predictor() override { return m_predictor; }
  const std::string& description() const override { return m_model->description(); }
  const std::vector<std::string>& classes() const override { return m_classes; }

 private:
  std::unique_ptr<models::Model> m_model;
  TorchPredictor m_predictor;
  std::vector<std::string> m_classes;
};

// A scripted torchvision detector taking a list of images, run one image
// per call.
class ListInputModel : public LoadedModel {
 public:
  explicit ListInputModel(const config::ModelConfig& config)
      : m_model(models::ListModel::load(config)),
        m_predictor(*m_model, *spatial_kind(config.output_processor), config.mask_thresh.value_or(0.5)),
        m_classes(config.classes) {}
  Predictor& predictor() override { return m_predictor; }
  const std::string& description() const override { return m_model->description(); }
  const std::vector<std::string>& classes() const override { return m_classes; }

 private:
  std::unique_ptr<models::ListModel> m_model;
  ListPredictor m_predictor;
  std::vector<std::string> m_classes;
};

// An OpenCV detector: its own Predictor, on 8-bit pixels.
class OpenCvModel : public LoadedModel {
 public:
  OpenCvModel(const config::ModelConfig& config, int threads) : m_detector(load_opencv_detector(config, threads)) {}
  Predictor& predictor() override { return *m_detector; }
  const std::string& description() const override { return m_detector->description(); }
  const std::vector<std::string>& classes() const override { return m_detector->classes(); }

 private:
  std::unique_ptr<OpenCvDetector> m_detector;
};

std::unique_ptr<LoadedModel> load_batch_model(const config::ModelConfig& config, const LoadRequest& request) {
  models::set_threads(request.threads);
  return std::make_unique<BatchModel>(config, request);
}

std::unique_ptr<LoadedModel> load_list_model(const config::ModelConfig& config, const LoadRequest& request) {
  models::set_threads(request.threads);
  return std::make_unique<ListInputModel>(config);
}

std::unique_ptr<LoadedModel> load_opencv_model(const config::ModelConfig& config, const LoadRequest& request) {
  return std::make_unique<OpenCvModel>(config, request.threads);
}

std::vector<std::string> no_entrypoints() { return {}; }

}  // namespace

const std::vector<ModelKind>& model_kinds() {
  static const std::vector<ModelKind> kinds = {
      {"opencv",
       [](const config::ModelConfig& c) { return is_opencv_entrypoint(c.entrypoint); },
       {"detector"},
       "{0}: entrypoint {2} is a detector: set output_processor: detector",
       "entrypoint {2} is an OpenCV detector: it has no layers to embed",
       "entrypoint {2} is an OpenCV detector: it takes 8-bit images one by one, so zoo bench (batches of one "
       "tensor) cannot time it; time zoo apply on real images instead",
       load_opencv_model, inspect_opencv_detector, {"cascade"}, opencv_entrypoint_descriptions},
      {"torch_list",
       [](const config::ModelConfig& c) { return c.input_list; },
       {"detector", "instance_segmenter", "keypoints"},
       "{0}: output_processor {1} does not take an input: list model's outputs (use detector, instance_segmenter "
       "or keypoints)",
       "zoo embed runs input: batch models; this is an input: list model (a detector taking a list of images)",
       "an input: list model takes images one by one at their own sizes, so zoo bench (batches of one fixed size) "
       "cannot time it; time zoo apply on real images instead",
       load_list_model, inspect_list_model, {}, no_entrypoints},
      {"torch",
       [](const config::ModelConfig&) { return true; },
       {"classifier", "regression", "segmenter", "detector", "keypoints"},
       "{0}: output_processor \"{1}\" is not supported by zoo apply for an input: batch model (classifier, "
       "regression, segmenter, detector for an output [batch, detections, 6], keypoints for [batch, people, "
       "keypoints, 3]; "
       "instance_segmenter takes torchvision-style dicts (boxes, labels, scores, masks) from an input: list model, "
       "a torchvision detection model scripted with torch.jit.script: set input: list)",
       "", "", load_batch_model, inspect_batch_model, {}, models::entrypoint_descriptions},
  };
  return kinds;
}

const ModelKind& model_kind(const config::ModelConfig& config) {
  for (const auto& kind : model_kinds()) {
    if (kind.claims(config)) return kind;
  }
  return model_kinds().back();
}

void check_output_processor(const ModelKind& kind, const config::ModelConfig& config) {
  const auto& allowed = kind.output_processors;
  if (std::find(allowed.begin(), allowed.end(), config.output_processor) == allowed.end()) {
    throw Error(ErrorKind::config, fmt::format(fmt::runtime(kind.wrong_processor), config.source,
                                               config.output_processor, config.entrypoint));
  }
}

void check_capability(std::string_view reason, const config::ModelConfig& config) {
  if (reason.empty()) return;
  throw Error(ErrorKind::config, config.source + ": " +
                                     fmt::format(fmt::runtime(reason), config.source, config.output_processor,
                                                 config.entrypoint));
}

std::vector<std::string> entrypoint_descriptions() {
  std::vector<std::string> lines;
  for (const auto& kind : model_kinds()) {
    for (auto& line : kind.entrypoints()) lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace zoo::inference
