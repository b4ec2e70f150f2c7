#include "train/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace zoo::train {

double learning_rate(const TrainOptions& options, int epoch) {
  const double base = options.lr;
  const int warmup = options.warmup_epochs;
  if (epoch < warmup) return base * (epoch + 1) / (warmup + 1);
  const int e = epoch - warmup;
  const int span = std::max(1, options.epochs - warmup);
  if (options.schedule == "cosine") return base * 0.5 * (1 + std::cos(std::numbers::pi * e / span));
  if (options.schedule == "step") {
    const int step = options.step_size > 0 ? options.step_size : std::max(1, options.epochs / 3);
    return base * std::pow(options.gamma, e / step);
  }
  return base;
}

}  // namespace zoo::train
