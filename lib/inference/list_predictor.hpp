// ListPredictor: runs an `input: list` model (models::ListModel) in the
// batch loop, one image per model call, so that an image's result never
// depends on its batch neighbours (torchvision's detectors pad a list to
// its largest image).
#pragma once

#include "inference/predictor.hpp"
#include "inference/spatial_labels.hpp"
#include "models/list_model.hpp"

namespace zoo::inference {

class ListPredictor : public Predictor {
 public:
  // Holds a reference: `model` must outlive it. Rows as spatial_labels.hpp
  // lays them out for `kind` (not segmenter).
  ListPredictor(models::ListModel& model, SpatialKind kind, double mask_thresh)
      : m_model(model), m_kind(kind), m_mask_thresh(mask_thresh) {}

  // Runs the items one by one; throws zoo::Error when the model fails on one.
  void run(const std::vector<media::PipelineItem>& batch, size_t start, size_t end,
           std::vector<std::vector<float>>& rows) override;

 private:
  models::ListModel& m_model;
  SpatialKind m_kind;
  double m_mask_thresh;
};

}  // namespace zoo::inference
