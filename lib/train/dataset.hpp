// Training data: the labelled image set (media/dataset.hpp) and the
// stratified validation split. No Torch here.
#pragma once

#include <cstdint>
#include <utility>

#include "media/dataset.hpp"

namespace zoo::train {

using media::Dataset;
using media::load_dataset;
using media::Sample;

// Splits off `fraction` of each class (rounded, at least 1 when the class
// has 2 or more samples) as validation, chosen by `seed`. Both parts keep the
// original order. Returns {train, validation}.
std::pair<Dataset, Dataset> split_dataset(const Dataset& dataset, double fraction, uint64_t seed);

}  // namespace zoo::train
