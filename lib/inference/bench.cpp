#include "inference/bench.hpp"

#include <algorithm>
#include <memory>
#include <random>
#include <vector>

#include "config/model_config.hpp"
#include "inference/model_kinds.hpp"
#include "models/model.hpp"
#include "util/error.hpp"
#include "util/timer.hpp"

namespace zoo::inference {
namespace {

using util::Clock;
using util::seconds_since;

// A loaded model and a batch of input for it.
struct Bench {
  std::unique_ptr<models::Model> model;
  BenchResult result;
  std::vector<float> batch;
  int batch_size = 0;

  // One batch; returns its seconds.
  double run() {
    const auto start = Clock::now();
    model->forward(batch.data(), batch_size, result.channels, result.height, result.width);
    return seconds_since(start);
  }
};

Bench prepare(const std::string& path, const BenchOptions& options) {
  const auto config = config::load_model_config(path);
  check_capability(model_kind(config).cannot_bench, config);
  const auto& pre = config.preprocess;
  Bench b;
  b.batch_size = options.batch_size;
  b.result.channels = pre.channels;
  if (options.width > 0 && options.height > 0) {
    b.result.width = options.width;
    b.result.height = options.height;
  } else if (pre.center_crop) {
    b.result.width = pre.center_crop->width;
    b.result.height = pre.center_crop->height;
  } else if (pre.image_size) {
    b.result.width = pre.image_size->width;
    b.result.height = pre.image_size->height;
  } else {
    throw Error(ErrorKind::usage, "{}: the config does not fix the input size (no center_crop or image_size); "
                "give --size WxH", config.source);
  }
  b.model = models::Model::load(config, {options.optimize, models::parse_precision(options.precision)});
  b.result.description = b.model->description();

  // Fixed-seed noise in the normalised range: the speed does not depend on
  // the values, and the same run is repeatable.
  b.batch.resize(size_t(options.batch_size) * b.result.channels * b.result.height * b.result.width);
  std::mt19937 rng(0);
  std::normal_distribution<float> noise(0.f, 1.f);
  for (auto& v : b.batch) v = noise(rng);
  return b;
}

}  // namespace

BenchResult run_bench(const BenchOptions& options) {
  models::set_threads(options.threads);
  Bench b = prepare(options.model, options);
  b.run();  // warm-up: first-call graph optimisations and allocations
  const auto start = Clock::now();
  int done = 0;
  while (done < options.batches || seconds_since(start) < options.seconds) {
    b.result.seconds += b.run();
    ++done;
  }
  b.result.images = done * options.batch_size;
  if (options.profile) {
    b.result.profiled_batches = done;
    b.result.ops = models::profile_ops([&] {
      for (int i = 0; i < done; ++i) b.run();
    });
  }
  return b.result;
}

CompareResult run_compare(const BenchOptions& options) {
  models::set_threads(options.threads);
  Bench a = prepare(options.model, options);
  Bench b = prepare(options.compare, options);
  const auto& ra = a.result;
  const auto& rb = b.result;
  if (ra.channels != rb.channels || ra.height != rb.height || ra.width != rb.width) {
    throw Error(ErrorKind::usage, "{} takes {}x{}x{} input but --compare {} takes {}x{}x{}; give --size WxH to run both "
                "at one size", options.model, ra.channels, ra.height, ra.width, options.compare, rb.channels,
                rb.height, rb.width);
  }
  a.run();  // warm-up, both
  b.run();
  CompareResult out;
  std::vector<double> ratios;
  const auto start = Clock::now();
  while (out.pairs < options.batches || seconds_since(start) < options.seconds) {
    // Alternate which goes first, so neither always runs on caches the
    // other just filled (or on a clock the other just raised).
    double ta, tb;
    if (out.pairs % 2 == 0) {
      ta = a.run();
      tb = b.run();
    } else {
      tb = b.run();
      ta = a.run();
    }
    a.result.seconds += ta;
    b.result.seconds += tb;
    ratios.push_back(tb / ta);
    ++out.pairs;
  }
  a.result.images = b.result.images = out.pairs * options.batch_size;
  std::sort(ratios.begin(), ratios.end());
  const size_t n = ratios.size();
  out.ratio = n % 2 ? ratios[n / 2] : (ratios[n / 2 - 1] + ratios[n / 2]) / 2;
  out.model = std::move(a.result);
  out.other = std::move(b.result);
  return out;
}

}  // namespace zoo::inference
