// inspect_model: what `zoo inspect` reports about a model: its config
// (entrypoint, weights with format and sha256, preprocessing, labels), the
// layer tree with each layer's output shape for one dry input, and the
// contract (inputs and outputs with name, dtype and shape, -1 for the batch
// axis), as the JSON that --json prints and the text shown otherwise.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "config/model_config.hpp"

namespace zoo::inference {

struct InspectOptions {
  std::string model;  // config file or folder holding model.yaml
  int width = 0;      // dry input size; 0 = the config's (center_crop, image_size, image_dim, ...; else 224)
  int height = 0;
  int threads = 0;    // Torch threads, 0 = all cores
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
nlohmann::ordered_json inspect_model(const InspectOptions& options);

// The report of each model kind (model_kinds.hpp asks the right one for a
// config): a Torch batch model with its layer tree and embeddings layer; an
// input: list model, run as loaded (its layers are not traced); an OpenCV
// detector (no layers or weights).
struct DryInput;
nlohmann::ordered_json inspect_batch_model(const config::ModelConfig& config, const DryInput& dry);
nlohmann::ordered_json inspect_list_model(const config::ModelConfig& config, const DryInput& dry);
nlohmann::ordered_json inspect_opencv_detector(const config::ModelConfig& config, const DryInput& dry);

// The report as aligned text for people.
std::string format_inspect_text(const nlohmann::ordered_json& report);

}  // namespace zoo::inference
