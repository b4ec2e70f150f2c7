#include "train/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace zoo::train {

std::pair<Dataset, Dataset> split_dataset(const Dataset& dataset, double fraction, uint64_t seed) {
  Dataset train{dataset.source, dataset.classes, {}};
  Dataset val{dataset.source + " (validation split)", dataset.classes, {}};
  std::vector<std::vector<size_t>> by_class(dataset.classes.size());
  for (size_t i = 0; i < dataset.samples.size(); ++i) by_class[dataset.samples[i].label].push_back(i);
  std::vector<bool> is_val(dataset.samples.size(), false);
  std::mt19937_64 rng(seed);
  for (auto& members : by_class) {
    if (members.size() < 2 || fraction <= 0) continue;
    size_t take = static_cast<size_t>(std::llround(fraction * members.size()));
    take = std::clamp<size_t>(take, 1, members.size() - 1);
    std::vector<size_t> shuffled = members;
    // Fisher-Yates with our own draws: std::shuffle's algorithm is
    // implementation-defined, and splits must not change between builds.
    for (size_t i = shuffled.size(); i > 1; --i) std::swap(shuffled[i - 1], shuffled[rng() % i]);
    for (size_t i = 0; i < take; ++i) is_val[shuffled[i]] = true;
  }
  for (size_t i = 0; i < dataset.samples.size(); ++i) {
    (is_val[i] ? val : train).samples.push_back(dataset.samples[i]);
  }
  return {train, val};
}

}  // namespace zoo::train
