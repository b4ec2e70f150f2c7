// Internal to lib/models/: TensorFlow.js graph models (a model.json with
// its weight shards, as tfjs-converter writes them) as TorchScript
// modules. The graph's nodes become one TorchScript forward() of ATen
// calls, so a converted model freezes, optimises, is inspected and saved
// like any other. Tensors keep TensorFlow's NHWC layout; convolutions and
// pools see it through a permuted view, which is PyTorch's channels_last.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/script.h>

namespace zoo::models {

// One input or output of the graph's signature.
struct TfjsTensorSpec {
  std::string name;            // the node ("tower_0/images"), or node:index
  std::string dtype;           // "float32", "int32", "bool"
  std::vector<int64_t> shape;  // -1 for a free dimension
};

struct TfjsModel {
  torch::jit::Module module;              // forward(x: NCHW float) -> Tensor, or a tuple of them
  std::vector<TfjsTensorSpec> inputs;     // the signature's (one, for zoo)
  std::vector<TfjsTensorSpec> outputs;    // what forward() returns, in order
  std::vector<std::string> nodes;         // every computed node, in execution order (layers)
  int64_t parameters = 0;                 // weight values
  bool per_image = false;                 // the graph's batch is 1: forward() runs the images one by one
};

// Builds the module of `model_json`. `args` (entrypoint_args) may name
// `outputs`: node names forward() returns, in order (default: the
// signature's outputs). `layer` (a node name, or "" for the outputs)
// makes forward() return that node's value alone and run only what it
// needs. The input arrives as NCHW floats (zoo's pipeline) and is
// permuted to NHWC; an int32 input gets them rounded. A graph whose input
// has a batch of 1 runs once per image of a batch. Throws
// zoo::Error(model) naming the file and, for a graph zoo cannot run, the
// node and its op; zoo::Error(config) naming `where` for bad args or an
// unknown layer.
TfjsModel load_tfjs(const std::string& model_json, const nlohmann::json& args, const std::string& layer,
                    const std::string& where);

}  // namespace zoo::models
