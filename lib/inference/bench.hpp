// Model-only throughput: runs a model on pre-made input tensors (no
// decoding), to tell how fast the network itself is on this machine and how
// much of a real run's time goes to the model.
#pragma once

#include <string>

namespace zoo::inference {

struct BenchOptions {
  std::string model;     // config file or folder holding model.yaml
  int batch_size = 16;
  int batches = 10;      // timed batches, after one warm-up batch
  int threads = 0;       // Torch threads, 0 = all cores
  bool optimize = true;
  std::string precision = "fp32";  // fp32 | bf16
  int width = 0;         // input size; 0 = from the config (center_crop, else image_size)
  int height = 0;
};

struct BenchResult {
  std::string description;  // the model, as loaded
  int channels = 0, height = 0, width = 0;
  int images = 0;
  double seconds = 0;
  double images_per_second() const { return seconds > 0 ? images / seconds : 0; }
};

// Throws zoo::Error(usage) when the input size is neither given nor fixed
// by the config, and as Model::load does.
BenchResult run_bench(const BenchOptions& options);

}  // namespace zoo::inference
