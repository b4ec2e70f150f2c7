#include "inference/predictor.hpp"

#include <cstring>

namespace zoo::inference {

void TorchPredictor::run(const std::vector<media::PipelineItem>& batch, size_t start, size_t end,
                         std::vector<std::vector<float>>& rows) {
  const auto& shape = batch[start].image.input;
  const size_t per_image = shape.data.size();
  m_buffer.resize(per_image * (end - start));
  for (size_t i = start; i < end; ++i) {
    std::memcpy(m_buffer.data() + (i - start) * per_image, batch[i].image.input.data.data(),
                per_image * sizeof(float));
  }
  const models::Output out =
      m_model.forward(m_buffer.data(), int64_t(end - start), shape.channels, shape.height, shape.width);
  m_group.assign(end - start, {});
  m_rows_from_output(out, end - start, m_group);
  for (size_t i = start; i < end; ++i) rows[i] = std::move(m_group[i - start]);
}

}  // namespace zoo::inference
