// Model: a loaded network ready to run batches, built from a ModelConfig
// (a built-in architecture plus a weights file, or a TorchScript file).
// This header is Torch-free so that the rest of zoo compiles fast; tensors
// cross it as plain float buffers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/model_config.hpp"

namespace zoo::models {

enum class Precision {
  fp32,  // float32 throughout: matches PyTorch within 1e-4
  bf16,  // bfloat16 weights and activations, channels_last: about 2x faster on
         // CPUs with AVX512-BF16 or AMX; probabilities differ by ~1e-2
};

// Parses "fp32" or "bf16"; throws zoo::Error(usage) otherwise.
Precision parse_precision(const std::string& text);

struct LoadOptions {
  bool optimize = true;  // freeze + optimize_for_inference (fold BN, oneDNN); off = plain eval module
  Precision precision = Precision::fp32;
};

// What forward() returns, for embeddings.
struct OutputLayer {
  // "" = the model's output; "NAME" = the output of the submodule NAME (a
  // dotted path as in PyTorch's named_modules(): "fc", "layer4",
  // "features.18"); "<NAME" = its input (FiftyOne's embeddings_layer
  // convention). The rest of the model is not run.
  std::string layer;
  // Where `layer` comes from, for error messages.
  std::string source = "--layer";
};

// A submodule of a loaded model, with what one dry input shows of it.
struct LayerInfo {
  std::string name;                   // dotted path: "layer1.0.conv1"
  std::string kind;                   // class name: "Conv2d", "BasicBlock"
  int64_t parameters = 0;             // parameter values in it and its submodules
  std::vector<int64_t> input_shape;   // its (first) input; empty when unknown
  std::vector<int64_t> output_shape;  // its output; empty when unknown
  std::string note;                   // why a shape is unknown, or what a non-tensor output holds
};

// A dense float array with its shape (row-major).
struct Output {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

class Model {
 public:
  // Builds and loads the model the config names. Throws zoo::Error(config)
  // for an unknown entrypoint or bad entrypoint_args (naming file:line:col),
  // zoo::Error(model) when the weights cannot be read or do not fit (listing
  // missing, unexpected and mis-shaped parameters by name).
  static std::unique_ptr<Model> load(const config::ModelConfig& config, const LoadOptions& options);

  // Same, with forward() returning `output`'s value. Also throws
  // zoo::Error(config) for an unknown layer (listing the model's layers) and
  // zoo::Error(model) for a layer whose value cannot be captured (never
  // called, called only inside control flow, not a tensor).
  static std::unique_ptr<Model> load(const config::ModelConfig& config, const LoadOptions& options,
                                     const OutputLayer& output);
  ~Model();

  // Runs one batch. `input` holds n*c*h*w floats in NCHW order. Returns the
  // model's (first) output as floats. Not thread-safe: one caller at a time.
  // Throws zoo::Error(model) if the model fails (e.g. wrong input size).
  Output forward(const float* input, int64_t n, int64_t c, int64_t h, int64_t w);

  // One line for logs: entrypoint, weights file and format, optimisation.
  const std::string& description() const;

  // True when forward() runs the images of a batch one at a time (a
  // TensorFlow.js graph made for a batch of 1): then its results cannot
  // depend on the batch size.
  bool per_image() const;

  // The weights file's format: "torchscript", "state dict",
  // "checkpoint[\"<key>\"]", "safetensors"; "" when none was loaded.
  const std::string& weights_format() const;

  // The number of parameter values (counted before any optimisation).
  int64_t parameter_count() const;

  // The name of forward()'s image argument ("x").
  std::string input_name() const;

  // Every submodule in named_modules() order (root excluded), with the
  // shapes its forward() takes and returns when the model runs a dry batch
  // of one zero image of c x h x w. Submodules forward() never calls have
  // no shapes. Needs a model loaded with optimize = false (freezing removes
  // the submodules): zoo::Error(usage) otherwise; zoo::Error(model) if the
  // dry run fails. Not thread-safe.
  std::vector<LayerInfo> layers(int64_t c, int64_t h, int64_t w);

 private:
  struct Impl;
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// Sets the number of threads Torch uses for intra-op parallelism (LibTorch
// starts with 1 here). n <= 0 means all cores.
void set_threads(int n);
int hardware_threads();

// The threads and the BLAS library a run computes with, for benchmark
// logs: "2 Torch threads; BLAS: OpenBLAS 0.3.21 ... (on the OpenMP threads
// Torch uses)". OpenBLAS's pthread build competes with Torch's threads
// for the cores (see CMakeLists.txt) and is named as such.
std::string compute_description();

// Names of the built-in entrypoints, with "torchscript" first.
std::vector<std::string> entrypoint_names();

// One line per entrypoint: its name and its entrypoint_args with defaults
// ("resnet18  num_classes=1000 zero_init_residual=false").
std::vector<std::string> entrypoint_descriptions();

}  // namespace zoo::models
