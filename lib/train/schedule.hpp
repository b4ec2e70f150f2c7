// The learning-rate schedule of a training run, per epoch.
#pragma once

#include "train/trainer.hpp"

namespace zoo::train {

// The learning rate of `epoch` (0-based): options.lr after a linear warm-up
// of warmup_epochs, then constant, cosine-annealed to 0 over the remaining
// epochs, or multiplied by gamma every step_size epochs (0 = epochs / 3).
double learning_rate(const TrainOptions& options, int epoch);

}  // namespace zoo::train
