#include "inference/embedder.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "util/error.hpp"

namespace zoo::inference {

Pool parse_pool(const std::string& text) {
  if (text == "avg") return Pool::avg;
  if (text == "max") return Pool::max;
  if (text == "flatten") return Pool::flatten;
  throw Error(ErrorKind::usage, "--pool: expected avg, max or flatten, got \"{}\"", text);
}

void pool_rows(const models::Output& output, size_t n, Pool pool, std::vector<std::vector<float>>& rows) {
  const auto& shape = output.shape;
  if (shape.empty() || shape[0] != int64_t(n)) {
    throw Error(ErrorKind::model, "the embedding output has shape [{}], expected [{}, ...] (one row per image)",
                fmt::join(shape, ", "), n);
  }
  size_t per_image = 1;
  for (size_t d = 1; d < shape.size(); ++d) per_image *= size_t(shape[d]);
  if (output.values.size() != per_image * n) {
    throw Error(ErrorKind::model, "the embedding output holds {} values, its shape [{}] says {}", output.values.size(),
                fmt::join(shape, ", "), per_image * n);
  }
  rows.resize(n);
  if (shape.size() <= 2 || pool == Pool::flatten) {
    for (size_t i = 0; i < n; ++i) {
      rows[i].assign(output.values.begin() + i * per_image, output.values.begin() + (i + 1) * per_image);
    }
    return;
  }
  // [N, C, H, W, ...]: channels are axis 1, space the axes after it.
  // [N, T, D] (a transformer's tokens): the tokens are the space, axis 1.
  const bool tokens = shape.size() == 3;
  const size_t channels = size_t(tokens ? shape[2] : shape[1]);
  const size_t area = channels == 0 ? 0 : per_image / channels;
  const size_t channel_step = tokens ? 1 : area;  // distance between channels
  const size_t point_step = tokens ? channels : 1;  // distance between points of one channel
  for (size_t i = 0; i < n; ++i) {
    auto& row = rows[i];
    row.assign(channels, 0.f);
    if (area == 0) continue;
    for (size_t c = 0; c < channels; ++c) {
      const float* values = output.values.data() + i * per_image + c * channel_step;
      if (pool == Pool::avg) {
        double sum = 0;
        for (size_t k = 0; k < area; ++k) sum += values[k * point_step];
        row[c] = float(sum / double(area));
      } else {
        float best = values[0];
        for (size_t k = 1; k < area; ++k) best = std::max(best, values[k * point_step]);
        row[c] = best;
      }
    }
  }
}

void l2_normalize(float* row, size_t size) {
  double sum = 0;
  for (size_t i = 0; i < size; ++i) sum += double(row[i]) * row[i];
  if (sum <= 0) return;
  const double scale = 1.0 / std::sqrt(sum);
  for (size_t i = 0; i < size; ++i) row[i] = float(row[i] * scale);
}

}  // namespace zoo::inference
