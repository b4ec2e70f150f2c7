// The kinds of model zoo runs, one entry each in one table (model_kinds.cpp):
// a Torch module taking a batch of tensors, a Torch module taking a list of
// images (torchvision's detectors), OpenCV's detectors. An entry says which
// configs are its, what its outputs can become, what it can do besides
// labelling (embed, bench), and loads it as a Predictor for the batch loop.
// zoo apply, embed, inspect and bench ask this table; a new model source is
// one entry in it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/model_config.hpp"
#include "inference/predictor.hpp"

namespace zoo::inference {

// How a job wants the model loaded.
struct LoadRequest {
  int threads = 0;                      // Torch (or OpenCV) threads, 0 = all cores
  bool optimize = true;                 // freeze + optimize_for_inference
  std::string precision = "fp32";       // fp32 | bf16
  models::OutputLayer layer;            // batch models: what forward() returns ("" = the model's output)
  RowsFromOutput rows;                  // batch models: the output -> one row per image
  int batch_size = 0;                   // batch models: every call padded to this many images (0 = not)
};

// A loaded model and the Predictor that runs it. Owns both.
class LoadedModel {
 public:
  virtual ~LoadedModel() = default;
  virtual Predictor& predictor() = 0;
  // One line for logs: the entrypoint, weights and settings.
  virtual const std::string& description() const = 0;
  // The label names by class index: the config's, or the model's own
  // (OpenCV's detectors name theirs).
  virtual const std::vector<std::string>& classes() const = 0;
};

// The dry input `zoo inspect` runs a model on.
struct DryInput {
  config::Size size;     // height and width
  bool fixed = false;    // the config fixes the input size (the contract's axes are not -1)
  int threads = 0;
};

struct ModelReport;

struct ModelKind {
  std::string_view name;  // "torch", "torch_list", "opencv"
  // True when `config` is a model of this kind (the first kind in the
  // table that claims a config is its kind).
  bool (*claims)(const config::ModelConfig& config);
  // The output_processor values its outputs can be turned into.
  std::vector<std::string_view> output_processors;
  // The error when output_processor is not one of them: fmt arguments
  // {0} config file, {1} output_processor, {2} entrypoint.
  std::string_view wrong_processor;
  // Why zoo embed cannot run it ("" = it can: it has layers to embed).
  std::string_view cannot_embed;
  // Why zoo bench cannot time it ("" = it can: it takes fixed-size batches).
  std::string_view cannot_bench;
  // Loads it. Throws zoo::Error(config) for a bad config, (model) for
  // files that do not load.
  std::unique_ptr<LoadedModel> (*load)(const config::ModelConfig& config, const LoadRequest& request);
  // zoo inspect's report and the contract (inspect.hpp).
  ModelReport (*inspect)(const config::ModelConfig& config, const DryInput& dry);
  // The entrypoint_args that name files, which travel with the config when
  // it is saved to a store (an OpenCV cascade).
  std::vector<std::string_view> file_args;
  // One line per entrypoint of this kind, with its entrypoint_args and
  // defaults (zoo apply --list-entrypoints).
  std::vector<std::string> (*entrypoints)();
};

// Every kind, in the order they are asked.
const std::vector<ModelKind>& model_kinds();

// The kind of `config`'s model.
const ModelKind& model_kind(const config::ModelConfig& config);

// Throws zoo::Error(config) when `kind` cannot turn its outputs into
// config.output_processor's labels.
void check_output_processor(const ModelKind& kind, const config::ModelConfig& config);

// Throws zoo::Error(config) with `reason` (a kind's cannot_embed or
// cannot_bench) naming the config, unless `reason` is empty.
void check_capability(std::string_view reason, const config::ModelConfig& config);

// Every kind's entrypoints, one line each.
std::vector<std::string> entrypoint_descriptions();

}  // namespace zoo::inference
