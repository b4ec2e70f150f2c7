// Model-only throughput: runs a model on pre-made input tensors (no
// decoding), to tell how fast the network itself is on this machine and how
// much of a real run's time goes to the model. With a second model, the two
// run in one process batch by batch in turn, so that the machine's own
// speed swings hit both alike and their ratio is what the models differ by.
#pragma once

#include <string>
#include <vector>

#include "models/profile.hpp"

namespace zoo::inference {

struct BenchOptions {
  std::string model;     // config file or folder holding model.yaml
  std::string compare;   // a second model to run in turn with the first; empty = none
  int batch_size = 16;
  int batches = 10;      // timed batches per model, after one warm-up batch
  double seconds = 0;    // and go on until this much time has passed (0: batches only)
  int threads = 0;       // Torch threads, 0 = all cores
  bool optimize = true;
  std::string precision = "fp32";  // fp32 | bf16
  int width = 0;         // input size; 0 = from the config (center_crop, else image_size)
  int height = 0;
  bool profile = false;  // after timing, run the batches again under LibTorch's profiler (BenchResult::ops)
};

struct BenchResult {
  std::string description;  // the model, as loaded
  int channels = 0, height = 0, width = 0;
  int images = 0;
  double seconds = 0;
  double images_per_second() const { return seconds > 0 ? images / seconds : 0; }
  // With BenchOptions::profile: every op of the profiled batches, most self
  // time first, and how many batches they are.
  std::vector<models::OpTime> ops;
  int profiled_batches = 0;
};

struct CompareResult {
  BenchResult model, other;
  // The median over the pairs of adjacent batches (one of each model) of
  // other's batch time / model's batch time: model's speed relative to
  // other's, > 1 when model is faster. The median keeps one batch slowed by
  // another job from moving it.
  double ratio = 0;
  int pairs = 0;
};

// Throws zoo::Error(usage) when the input size is neither given nor fixed
// by the config, and as Model::load does.
BenchResult run_bench(const BenchOptions& options);

// options.model against options.compare, batch by batch in turn (A B, B A,
// A B, ...). Throws zoo::Error(usage) when the two take different inputs.
CompareResult run_compare(const BenchOptions& options);

}  // namespace zoo::inference
