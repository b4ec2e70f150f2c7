#include "inference/list_predictor.hpp"

namespace zoo::inference {

void ListPredictor::run(const std::vector<media::PipelineItem>& batch, size_t start, size_t end,
                        std::vector<std::vector<float>>& rows) {
  for (size_t i = start; i < end; ++i) {
    const auto& input = batch[i].image.input;
    const auto outputs = m_model.forward({{input.data.data(), input.channels, input.height, input.width}});
    row_from_named_outputs(outputs.at(0), m_kind, m_mask_thresh, rows[i]);
  }
}

}  // namespace zoo::inference
