#include "outputs/labels.hpp"

namespace zoo::outputs {

Labeler::Labeler(const config::ModelConfig& config, const LabelOptions& options)
    : m_config(config),
      m_options(options),
      m_spatial(inference::spatial_kind(config.output_processor)),
      m_masks(options.masks_dir) {
  m_classifier.top_k = options.top_k;
  m_classifier.confidence_thresh = options.confidence_thresh ? options.confidence_thresh : config.confidence_thresh;
  m_classifier.store_logits = false;
  m_classifier.probabilities = config.probabilities;
  m_classification_only = m_classifier;
  m_classifier.store_logits = options.store_logits || config.store_logits;
  m_spatial_options.detector.confidence_thresh = m_classifier.confidence_thresh;
  m_spatial_options.mask_thresh = config.mask_thresh.value_or(0.5);
  m_spatial_options.keypoint_thresh = config.keypoint_thresh;
  set_classes(config.classes);
}

void Labeler::set_classes(const std::vector<std::string>& classes) {
  m_classifier.classes = classes;
  m_classification_only.classes = classes;
  m_spatial_options.detector.classes = classes;
}

bool Labeler::boxes() const { return m_spatial && *m_spatial != inference::SpatialKind::segmenter; }

std::vector<std::pair<std::string, nlohmann::ordered_json>> Labeler::labels(const media::PipelineItem& item,
                                                                            const std::vector<float>& row) const {
  if (m_config.output_processor == "regression") return {{"", inference::regress(row.data(), row.size(), m_classifier)}};
  if (!m_spatial) return {{"", inference::classify(row.data(), row.size(), m_classifier)}};
  return inference::spatial_labels(row, *m_spatial, geometry(item), m_spatial_options, m_masks,
                                   inference::mask_file_stem(item.path, item.frame_number));
}

nlohmann::ordered_json Labeler::classification(const std::vector<float>& row) const {
  return inference::classify(row.data(), row.size(), m_classification_only);
}

media::InputGeometry Labeler::geometry(const media::PipelineItem& item) const {
  return media::input_geometry(item.image.width, item.image.height, m_config.preprocess);
}

std::vector<float> Labeler::detections(const std::vector<float>& row) const {
  return inference::detection_part(row, *m_spatial);
}

}  // namespace zoo::outputs
