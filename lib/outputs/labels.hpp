// Labeler: what zoo apply's formats share: a model's rows (logits, raw
// detections, masks, keypoints) turned into FiftyOne labels with the
// config's classes and thresholds and the user's options.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/model_config.hpp"
#include "inference/classifier.hpp"
#include "inference/spatial_labels.hpp"
#include "media/pipeline.hpp"

namespace zoo::outputs {

// zoo apply's label options.
struct LabelOptions {
  int top_k = 0;                            // 0 = one Classification per image
  std::optional<double> confidence_thresh;  // overrides the config's
  bool store_logits = false;                // or the config's output_processor_args.store_logits
  std::string label_field = "predictions";  // the record's key for the label
  std::string masks_dir;                    // instance_segmenter, segmenter: mask PNG files here; "" = inline
  bool inline_masks = false;                // --inline-masks: asked for inline (jobs::run_apply picks a masks_dir otherwise)
  std::string coco_truth;                   // --format coco-results: the COCO instances JSON giving the ids
};

class Labeler {
 public:
  // `config` must outlive the Labeler. Throws zoo::Error(io) when
  // masks_dir cannot be created.
  Labeler(const config::ModelConfig& config, const LabelOptions& options);

  // The label names by class index, once the model is loaded (an OpenCV
  // detector names its own classes); the config's until then.
  void set_classes(const std::vector<std::string>& classes);

  const config::ModelConfig& config() const { return m_config; }
  const LabelOptions& options() const { return m_options; }
  // The kind of the labels: nullopt for a classifier.
  const std::optional<inference::SpatialKind>& spatial() const { return m_spatial; }
  // True for detectors, instance segmenters and keypoints models.
  bool boxes() const;

  // The labels of one item's row, as (key suffix, label) pairs: {"",
  // Classification(s) or null} for a classifier, see
  // inference::spatial_labels for the others.
  std::vector<std::pair<std::string, nlohmann::ordered_json>> labels(const media::PipelineItem& item,
                                                                     const std::vector<float>& row) const;

  // Without logits (CSV has no column for them).
  nlohmann::ordered_json classification(const std::vector<float>& row) const;

  // The item's size and how the model input maps onto it.
  media::InputGeometry geometry(const media::PipelineItem& item) const;

  // The detections part of a row (detector, instance_segmenter, keypoints).
  std::vector<float> detections(const std::vector<float>& row) const;

  const inference::DetectorOptions& detector_options() const { return m_spatial_options.detector; }
  const inference::SpatialOptions& spatial_options() const { return m_spatial_options; }

 private:
  const config::ModelConfig& m_config;
  LabelOptions m_options;
  std::optional<inference::SpatialKind> m_spatial;
  inference::ClassifierOptions m_classifier;
  inference::ClassifierOptions m_classification_only;  // m_classifier without logits
  inference::SpatialOptions m_spatial_options;
  inference::MaskWriter m_masks;
};

}  // namespace zoo::outputs
