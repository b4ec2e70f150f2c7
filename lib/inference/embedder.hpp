// Embedder output processor: a model output (or a captured layer's value)
// -> one row of floats per image, pooled over space or tokens when it has
// more than 2 dimensions, optionally scaled to unit length; what zoo embed
// writes to .npy, as FiftyOne's embeddings are.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "models/model.hpp"

namespace zoo::inference {

// How an output of more than 2 dimensions becomes rows: [N, C, H, W] (and
// more spatial axes) is pooled over the axes after C; [N, T, D] (a
// transformer's tokens) over the tokens T.
enum class Pool {
  avg,      // the mean: [N, C, H, W] -> [N, C], [N, T, D] -> [N, D]
  max,      // the maximum
  flatten,  // every value: [N, C, H, W] -> [N, C*H*W]
};

// Parses "avg", "max", "flatten"; throws zoo::Error(usage).
Pool parse_pool(const std::string& text);

// One row per image from a model output of shape [n, ...]: [n, d] as it
// is, [n] as one value per row, 3 or more dimensions pooled by `pool`
// (see Pool).
// Throws zoo::Error(model) if the output's first dimension is not n.
void pool_rows(const models::Output& output, size_t n, Pool pool, std::vector<std::vector<float>>& rows);

// Scales the `size` values at `row` to unit L2 norm (an all-zero row stays
// zero).
void l2_normalize(float* row, size_t size);

}  // namespace zoo::inference
