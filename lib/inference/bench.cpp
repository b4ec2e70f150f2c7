#include "inference/bench.hpp"

#include <chrono>
#include <random>
#include <vector>

#include "config/model_config.hpp"
#include "models/model.hpp"
#include "util/error.hpp"

namespace zoo::inference {

BenchResult run_bench(const BenchOptions& options) {
  const auto config = config::load_model_config(options.model);
  if (config.input_list) {
    throw Error(ErrorKind::config, "{}: an input: list model takes images one by one at their own sizes, so zoo bench "
                "(batches of one fixed size) cannot time it; time zoo apply on real images instead", config.source);
  }
  const auto& pre = config.preprocess;
  BenchResult result;
  result.channels = pre.channels;
  if (options.width > 0 && options.height > 0) {
    result.width = options.width;
    result.height = options.height;
  } else if (pre.center_crop) {
    result.width = pre.center_crop->width;
    result.height = pre.center_crop->height;
  } else if (pre.image_size) {
    result.width = pre.image_size->width;
    result.height = pre.image_size->height;
  } else {
    throw Error(ErrorKind::usage, "{}: the config does not fix the input size (no center_crop or image_size); "
                "give --size WxH", config.source);
  }
  models::set_threads(options.threads);
  auto model = models::Model::load(config, {options.optimize, models::parse_precision(options.precision)});
  result.description = model->description();

  // Fixed-seed noise in the normalised range: the speed does not depend on
  // the values, and the same run is repeatable.
  std::vector<float> batch(size_t(options.batch_size) * result.channels * result.height * result.width);
  std::mt19937 rng(0);
  std::normal_distribution<float> noise(0.f, 1.f);
  for (auto& v : batch) v = noise(rng);

  auto run = [&] { model->forward(batch.data(), options.batch_size, result.channels, result.height, result.width); };
  run();  // warm-up: first-call graph optimisations and allocations
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < options.batches; ++i) run();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.images = options.batches * options.batch_size;
  return result;
}

}  // namespace zoo::inference
