#include "inference/predictor.hpp"

#include <algorithm>
#include <cstring>

namespace zoo::inference {

void TorchPredictor::run(const std::vector<media::PipelineItem>& batch, size_t start, size_t end,
                         std::vector<std::vector<float>>& rows) {
  const auto& shape = batch[start].image.input;
  const size_t per_image = shape.data.size();
  const size_t n = m_model.per_image() ? end - start : std::max(end - start, m_batch_size);
  m_buffer.resize(per_image * n);
  for (size_t k = 0; k < n; ++k) {
    const size_t i = std::min(start + k, end - 1);  // padding: the last image again
    std::memcpy(m_buffer.data() + k * per_image, batch[i].image.input.data.data(), per_image * sizeof(float));
  }
  const models::Output out = m_model.forward(m_buffer.data(), int64_t(n), shape.channels, shape.height, shape.width);
  m_group.assign(n, {});
  m_rows_from_output(out, n, m_group);
  for (size_t i = start; i < end; ++i) rows[i] = std::move(m_group[i - start]);
}

}  // namespace zoo::inference
