// inspect_model: what `zoo inspect` reports about a model: its config
// (entrypoint, weights with format and sha256, preprocessing, labels), the
// layer tree with each layer's output shape for one dry input, and the
// contract (inputs and outputs with name, dtype and shape, -1 for the batch
// axis), as the JSON that --json prints and the text shown otherwise.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/model_config.hpp"

namespace zoo::inference {

struct InspectOptions {
  std::string model;  // config file or folder holding model.yaml
  int width = 0;      // dry input size; 0 = the config's (center_crop, image_size, image_dim, ...; else 224)
  int height = 0;
  int threads = 0;    // Torch threads, 0 = all cores
};

// One input or output of a model's contract (ML Lambda's): its name, dtype
// and shape, -1 for the batch axis and for axes of any size.
struct TensorSpec {
  std::string name;
  std::string dtype;                  // "float32", "uint8", "int64"
  std::vector<int64_t> shape;
  std::vector<std::string> columns;   // what the last axis holds, when it is a record ("x1", "y1", ...)
  std::string form;                   // "list": a list of images, not a batch tensor; "" = a batch
};

struct Contract {
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
};

// The contract as the report and the model card hold it:
// {"inputs": [{"name", "dtype", "shape", "columns"?, "form"?}], "outputs": [...]}.
nlohmann::ordered_json contract_json(const Contract& contract);

// What inspecting a model gives: the report (below), and the parts zoo
// save and zoo upload record, typed.
struct ModelReport {
  nlohmann::ordered_json report;
  std::string weights_format;  // "torchscript", "state dict", "safetensors", ...; "" = no weights file
  Contract contract;
};

// Loads the model (unoptimised, so its submodules are kept), runs one dry
// batch of one zero image and returns the report:
//   {"name", "config", "entrypoint", "entrypoint_args",
//    "weights": {"path", "format", "bytes", "sha256"} | null,
//    "parameters", "preprocessing": {...}, "output_processor",
//    "labels": {"count", "first": [...], "path"},
//    "embeddings_layer": "<fc" | null, "embeddings": {"layer", "shape", "pooled_dims"} (when set),
//    "dry_input": [1, C, H, W],
//    "layers": [{"name", "kind", "depth", "parameters", "input_shape", "output_shape", "note"}],
//    "contract": {"inputs": [{"name", "dtype", "shape"}], "outputs": [...]}}
// Throws zoo::Error: config errors (exit 2), a model that does not load or
// run (exit 1).
ModelReport inspect(const InspectOptions& options);

// inspect(options).report.
nlohmann::ordered_json inspect_model(const InspectOptions& options);

// The report of each model kind (model_kinds.hpp asks the right one for a
// config): a Torch batch model with its layer tree and embeddings layer; an
// input: list model, run as loaded (its layers are not traced); an OpenCV
// detector (no layers or weights).
struct DryInput;
ModelReport inspect_batch_model(const config::ModelConfig& config, const DryInput& dry);
ModelReport inspect_list_model(const config::ModelConfig& config, const DryInput& dry);
ModelReport inspect_opencv_detector(const config::ModelConfig& config, const DryInput& dry);

// The report as aligned text for people.
std::string format_inspect_text(const nlohmann::ordered_json& report);

}  // namespace zoo::inference
