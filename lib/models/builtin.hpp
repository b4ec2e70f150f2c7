// The Torch-side interface of lib/models/, for the two folders compiled with
// Torch (lib/models/ and lib/train/): the built-in architectures (assembled
// as TorchScript modules with torchvision's module structure and parameter
// names) and the weight-file readers. Everything else uses the Torch-free
// models/model.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/script.h>

namespace zoo::models {

// The canonical built-in name for `name` ("torchvision.models.resnet18" ->
// "resnet18"), or "" if there is none. "torchscript" maps to itself.
std::string canonical_entrypoint(const std::string& name);

// The built-in names, without "torchscript".
std::vector<std::string> builtin_names();

// Builds a built-in architecture with freshly initialised weights
// (torchvision's init, drawn from Torch's generator seeded with `seed`: the
// same seed always gives the same weights). `args` are torchvision's
// constructor arguments (num_classes, ...); `where` is "file:line:col" for
// error messages. Throws zoo::Error(config) for unknown or ill-typed
// arguments.
torch::jit::Module build_builtin(const std::string& name, const nlohmann::json& args, const std::string& where,
                                 uint64_t seed = 0);

// Parameters and buffers by dotted name, as in a PyTorch state_dict.
struct StateDict {
  std::vector<std::pair<std::string, at::Tensor>> entries;
  std::string format;  // "torchscript", "state dict", "checkpoint[\"<key>\"]", "safetensors"
};

// True if `path` is a TorchScript archive (a zip with code/ and constants.pkl).
// Throws zoo::Error(model) for a zip archive that is corrupt.
bool is_torchscript_archive(const std::string& path);

// Reads the tensors of a weights file:
// - a TorchScript archive: its parameters and buffers;
// - a torch.save zip archive (PyTorch >= 1.6), read without running any
//   pickled code: a state dict (dict or OrderedDict of tensors), or a
//   checkpoint dict whose `weights_key` entry - by default the first of
//   "state_dict", "model", "model_state_dict" that is a dict - holds it;
// - a .safetensors file (also recognised by its content).
// The legacy (pre-1.6) torch.save format is refused with a message saying
// how to convert it. A "module." prefix on every key (DataParallel) is
// removed. Tensors may share storage (as saved). Memory is bounded by the
// file's size. Throws zoo::Error(model) naming the file and what is wrong
// with it; a truncated, corrupt or hostile file never gets further.
StateDict read_state_dict(const std::string& path, const std::string& weights_key);

// Copies `dict` into `module`'s parameters and buffers. With `strict`, any
// missing, unexpected or mis-shaped entry is an error listing them by name;
// without, the loadable entries are copied and the rest reported as a
// warning.
void load_state_dict(torch::jit::Module& module, const StateDict& dict, bool strict, const std::string& path);

}  // namespace zoo::models
