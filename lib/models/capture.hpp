// Internal to lib/models/: reading a value from inside a model by layer
// name, by graph surgery on a copy of the module. Works the same for
// built-in models, scripted and traced TorchScript files, since all are
// torch::jit::Modules whose forward graphs call submodules through
// `prim::CallMethod` on `prim::GetAttr` chains.
//
// The forward graph is copied and every method call on a submodule that a
// GetAttr chain names is inlined one at a time (torch::jit::Inline would
// lose the boundaries), recording for each submodule the value its forward
// received and the value it returned. The graph then returns the recorded
// value(s) and replaces forward() on a clone of the module, which then
// freezes and optimises like any other.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <torch/script.h>

namespace zoo::models {

// A layer as FiftyOne's embeddings_layer names it: "fc" = the output of
// submodule fc, "<fc" = its input; dotted paths for nested submodules.
struct LayerRef {
  std::string path;
  bool input = false;
};

// Parses "NAME" or "<NAME". Throws zoo::Error(config) naming `where` for an
// empty name.
LayerRef parse_layer(const std::string& text, const std::string& where);

// Dotted names of every submodule, in named_modules() order, root excluded.
std::vector<std::string> submodule_names(const torch::jit::Module& module);

// The class name of a module ("Conv2d", "BasicBlock"), without the
// TorchScript namespace and name mangling.
std::string module_kind(const torch::jit::Module& module);

// A clone of `module` (an eval-mode module, not frozen) whose forward()
// returns the value `layer` names instead of the model's output; the rest
// of the model after it is dropped. `where` names the source of the layer
// in errors ("--layer", "model.yaml: embeddings_layer"). Throws
// zoo::Error(config) for an unknown layer, listing the layer names, and
// zoo::Error(model) for a layer that forward() never calls, calls only
// inside control flow, or whose value is not a tensor.
torch::jit::Module capture_layer(const torch::jit::Module& module, const std::string& layer, const std::string& where);

// What one dry forward pass shows of a submodule's call.
struct CallShapes {
  std::string path;
  c10::IValue input;   // None when unknown (no argument, not captured)
  c10::IValue output;  // None when unknown
  std::string note;    // why it is unknown
};

// Runs `input` through a clone of `module` instrumented to return the
// input and output of every submodule call, and returns them by path (the
// last call when a submodule is called several times). Submodules that
// forward() never calls are missing from the map.
std::map<std::string, CallShapes> trace_calls(const torch::jit::Module& module, const at::Tensor& input);

}  // namespace zoo::models
