// A restricted reader for files written by torch.save (PyTorch >= 1.6): a zip
// archive whose data.pkl is a pickle of dicts, lists, tuples, numbers,
// strings and tensors, with the tensor data in data/<key> records. Unlike
// Python's pickle it runs no code: the only globals it accepts are
// collections.OrderedDict, torch._utils._rebuild_tensor_v2 and
// _rebuild_parameter and the torch.*Storage types; anything else is refused.
// Internal to lib/models/.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace caffe2::serialize {
class PyTorchStreamReader;
}

namespace zoo::models {

struct PickleValue;
using PickleRef = std::shared_ptr<PickleValue>;

// One value of an unpickled object graph. Containers share their elements
// as in Python (the same tensor may appear under two keys), but the graph
// is acyclic and at most k_max_pickle_depth containers deep, so walking it
// recursively is safe.
struct PickleValue {
  enum class Kind { none, boolean, integer, real, string, bytes, list, tuple, dict, tensor, storage, global };

  Kind kind = Kind::none;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0;        // also integers beyond int64 (approximated)
  std::string text;       // string, bytes; global: "module.name"
  std::vector<PickleRef> items;                          // list, tuple
  std::vector<std::pair<PickleRef, PickleRef>> entries;  // dict, in insertion order
  at::Tensor tensor;      // tensor (a view of its storage); storage: all of it, 1-D

  // Bookkeeping of the reader: nesting depth of this value, whether it has
  // been put into another container (after which it may not change), and
  // the dict's index of entries by string and by integer key (the views
  // point into the key values, which the dict keeps alive).
  int depth = 0;
  bool nested = false;
  std::unordered_map<std::string_view, size_t> string_keys;
  std::unordered_map<int64_t, size_t> integer_keys;

  // The value of the dict entry whose key is the string `key`, or nullptr
  // (also when this is not a dict).
  const PickleValue* find(const std::string& key) const;

  // "dict", "tensor", "global posix.system", ... for messages.
  std::string describe() const;
};

inline constexpr int k_max_pickle_depth = 256;

// Returns the raw bytes of the storage record `key` (data/<key> in a
// torch.save archive) as a 1-D uint8 tensor; throws zoo::Error if it does
// not exist.
using StorageReader = std::function<at::Tensor(const std::string& key)>;

// Runs the restricted unpickler over `data` (pickle protocol 2 to 5, the
// opcodes Python emits for dicts, lists, tuples, numbers, strings, bytes and
// tensors). Tensor storages are fetched through `read_storage`, once per key;
// tensors are views of them with the pickled dtype, size, stride and offset,
// checked to lie inside the storage. `where` names the source in errors.
// Throws zoo::Error(model) naming `where` and the byte offset for a refused
// global, an unsupported opcode, malformed or truncated data. Never
// allocates more than the size of `data` plus what `read_storage` returns.
PickleRef unpickle(std::string_view data, const StorageReader& read_storage, const std::string& where);

// Opens the zip archive at `path` with PyTorch's reader, after checking that
// every entry of its central directory claims sizes the file can hold (so a
// corrupt or hostile archive cannot make the reader allocate more than the
// file justifies). Throws zoo::Error(model) naming `path`.
std::unique_ptr<caffe2::serialize::PyTorchStreamReader> open_pytorch_zip(const std::string& path);

// True if the file at `path` starts with the magic number of the legacy
// (pre-1.6, not zip) torch.save format.
bool is_legacy_torch_save(const std::string& path);

// Reads a torch.save zip archive: unpickles its data.pkl with tensors from
// its data/ records. Throws zoo::Error(model) naming `path`.
PickleRef read_torch_save(const std::string& path);

}  // namespace zoo::models
