// Weight-file readers (TorchScript archives, torch.save'd state dicts and
// checkpoints, safetensors) and state-dict loading with by-name error
// reports. Every reader checks sizes and offsets against the file before
// allocating: a corrupt or hostile file is a zoo::Error, never a crash.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "models/builtin.hpp"
#include "models/pickle_reader.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace zoo::models {
namespace {

using Kind = PickleValue::Kind;

bool is_zip(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in && std::memcmp(magic, "PK\x03\x04", 4) == 0;
}

// A safetensors file starts with an 8-byte header length and the header's "{".
bool looks_like_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[9] = {};
  in.read(head, 9);
  return in && head[8] == '{';
}

std::vector<std::string> zip_records(const std::string& path) {
  auto reader = open_pytorch_zip(path);
  try {
    return reader->getAllRecords();
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::model, "{}: not a readable PyTorch zip archive: {}", path, e.what_without_backtrace());
  }
}

std::string list_names(const std::vector<std::string>& names) {
  constexpr size_t shown = 12;
  std::vector<std::string> head(names.begin(), names.begin() + std::min(shown, names.size()));
  std::string out = util::join(head, ", ");
  if (names.size() > shown) out += fmt::format(", ... ({} more)", names.size() - shown);
  return out;
}

// The string keys of a pickled dict, for messages (long ones cut short).
std::vector<std::string> string_keys(const PickleValue& dict) {
  constexpr size_t k_max_shown = 80;
  std::vector<std::string> keys;
  for (const auto& [key, _] : dict.entries) {
    if (key->kind != Kind::string) continue;
    keys.push_back(key->text.size() > k_max_shown ? key->text.substr(0, k_max_shown) + "..." : key->text);
  }
  return keys;
}

// The tensors of an unpickled torch.save file: the checkpoint entry
// `weights_key`, or by default the first of "state_dict", "model",
// "model_state_dict" that is a dict, else the top-level dict (a state
// dict). Entries that are not tensors (epochs, nested dicts) are skipped.
StateDict collect_tensors(const PickleValue& top, const std::string& weights_key, const std::string& path) {
  StateDict out;
  out.format = "state dict";
  if (top.kind != Kind::dict) {
    throw Error(ErrorKind::model, "{}: expected a dict of tensors (a state dict or a checkpoint), found a {}", path,
                top.describe());
  }
  const PickleValue* dict = &top;
  if (!weights_key.empty()) {
    dict = top.find(weights_key);
    if (!dict) {
      throw Error(ErrorKind::model, "{}: weights_key \"{}\" is not in this file (entries: {})", path, weights_key,
                  list_names(string_keys(top)));
    }
    if (dict->kind != Kind::dict) {
      throw Error(ErrorKind::model, "{}: weights_key \"{}\" holds a {}, expected a dict of tensors", path, weights_key,
                  dict->describe());
    }
    out.format = fmt::format("checkpoint[\"{}\"]", weights_key);
  } else {
    // A checkpoint may hold stray tensors beside its weights (PyTorch's
    // ImageNet example saves best_acc1 as one): its weights entry wins.
    for (const char* candidate : {"state_dict", "model", "model_state_dict"}) {
      const PickleValue* entry = top.find(candidate);
      if (entry && entry->kind == Kind::dict) {
        dict = entry;
        out.format = fmt::format("checkpoint[\"{}\"]", candidate);
        break;
      }
    }
  }
  for (const auto& [key, value] : dict->entries) {
    if (value->kind != Kind::tensor) continue;  // checkpoints carry epochs, settings and the like
    if (key->kind != Kind::string) {
      throw Error(ErrorKind::model, "{}: a tensor is stored under a key of type {}; state dict keys are strings", path,
                  key->describe());
    }
    out.entries.emplace_back(key->text, value->tensor);
  }
  if (out.entries.empty()) {
    throw Error(ErrorKind::model, "{}: no tensors found in {} (entries: {}); set weights_key to the entry holding them",
                path, dict == &top ? "the saved dict" : out.format, list_names(string_keys(*dict)));
  }
  return out;
}

StateDict read_pickled_dict(const std::string& path, const std::string& weights_key) {
  const PickleRef top = read_torch_save(path);
  return collect_tensors(*top, weights_key, path);
}

StateDict read_torchscript(const std::string& path) {
  StateDict dict;
  dict.format = "torchscript";
  torch::jit::Module module;
  try {
    module = torch::jit::load(path);
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::model, "{}: cannot load TorchScript archive: {}", path, e.what_without_backtrace());
  }
  for (const auto& p : module.named_parameters(true)) dict.entries.emplace_back(p.name, p.value);
  for (const auto& b : module.named_buffers(true)) dict.entries.emplace_back(b.name, b.value);
  return dict;
}

std::string shape_string(at::IntArrayRef sizes) { return fmt::format("[{}]", fmt::join(sizes, ", ")); }

// safetensors: 8-byte little-endian header length, a JSON header mapping
// names to {dtype, shape, data_offsets}, then the raw little-endian data.
// Following the format's own rules, the tensors must tile the data exactly
// (no overlaps, no holes), so what is allocated is at most the file's size.
// One tensor of a safetensors header.
struct SafetensorsEntry {
  std::string name;
  c10::ScalarType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets in the data
};

// Reads the header (length, then JSON) of a safetensors file of
// `file_size` bytes; leaves `in` at the data.
nlohmann::json read_safetensors_header(std::ifstream& in, const std::string& path, uint64_t file_size) {
  unsigned char length[8] = {};
  if (file_size < 8 || !in.read(reinterpret_cast<char*>(length), 8)) {
    throw Error(ErrorKind::model, "{}: truncated safetensors file ({} bytes)", path, file_size);
  }
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | length[i];
  constexpr uint64_t k_max_header = 100u << 20;  // the limit of the reference implementation
  if (header_size > file_size - 8) {
    throw Error(ErrorKind::model, "{}: truncated safetensors file: the header claims {} bytes, the file has {}", path,
                header_size, file_size - 8);
  }
  if (header_size > k_max_header) {
    throw Error(ErrorKind::model, "{}: safetensors header of {} bytes exceeds the {} byte limit", path, header_size,
                k_max_header);
  }
  std::string header_text(header_size, '\0');
  if (!in.read(header_text.data(), static_cast<std::streamsize>(header_size))) {
    throw Error(ErrorKind::model, "{}: cannot read the safetensors header", path);
  }
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::model, "{}: bad safetensors header: {}", path, e.what());
  }
  if (!header.is_object()) throw Error(ErrorKind::model, "{}: bad safetensors header: not a JSON object", path);
  return header;
}

// The header entry `name` checked: a known dtype, a sane shape, offsets
// inside the `data_size` bytes of data that hold exactly the shape's bytes.
SafetensorsEntry safetensors_entry(const std::string& path, const std::string& name, const nlohmann::json& info,
                                   uint64_t data_size) {
  static const std::map<std::string, c10::ScalarType> dtypes = {
      {"F64", torch::kFloat64}, {"F32", torch::kFloat32}, {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16},
      {"I64", torch::kInt64},   {"I32", torch::kInt32},   {"I16", torch::kInt16},   {"I8", torch::kInt8},
      {"U8", torch::kUInt8},    {"BOOL", torch::kBool}};
  constexpr size_t k_max_dims = 64;
  auto bad = [&](const std::string& what) { return Error(ErrorKind::model, "{}: tensor \"{}\": {}", path, name, what); };
  if (!info.is_object()) throw bad("header entry is not an object");
  SafetensorsEntry entry;
  entry.name = name;
  const auto dtype = info.find("dtype");
  if (dtype == info.end() || !dtype->is_string()) throw bad("no dtype");
  const auto type = dtypes.find(dtype->get<std::string>());
  if (type == dtypes.end()) throw bad(fmt::format("unsupported dtype {}", dtype->get<std::string>()));
  entry.dtype = type->second;
  const auto shape = info.find("shape");
  if (shape == info.end() || !shape->is_array() || shape->size() > k_max_dims) {
    throw bad(fmt::format("shape is not a list of at most {} sizes", k_max_dims));
  }
  int64_t numel = 1;
  for (const auto& d : *shape) {
    if (!d.is_number_unsigned() || d.get<uint64_t>() > (uint64_t(1) << 62)) throw bad("shape holds a bad size");
    entry.shape.push_back(int64_t(d.get<uint64_t>()));
    if (__builtin_mul_overflow(numel, entry.shape.back(), &numel) || numel > (int64_t(1) << 62)) {
      throw bad(fmt::format("shape {} is absurd", shape_string(entry.shape)));
    }
  }
  const auto offsets = info.find("data_offsets");
  if (offsets == info.end() || !offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
      !(*offsets)[1].is_number_unsigned()) {
    throw bad("data_offsets is not a pair of byte offsets");
  }
  entry.begin = (*offsets)[0].get<uint64_t>();
  entry.end = (*offsets)[1].get<uint64_t>();
  if (entry.begin > entry.end) throw bad(fmt::format("data_offsets [{}, {}] end before they begin", entry.begin, entry.end));
  if (entry.end > data_size) {
    throw bad(fmt::format("data_offsets [{}, {}] lie past the end of the data ({} bytes): the file is truncated or "
                          "corrupt",
                          entry.begin, entry.end, data_size));
  }
  int64_t nbytes = 0;
  if (__builtin_mul_overflow(numel, int64_t(c10::elementSize(entry.dtype)), &nbytes) ||
      uint64_t(nbytes) != entry.end - entry.begin) {
    throw bad(fmt::format("shape {} of {} needs {} bytes but data_offsets [{}, {}] hold {}", shape_string(entry.shape),
                          type->first, nbytes, entry.begin, entry.end, entry.end - entry.begin));
  }
  return entry;
}

// Checks that the entries tile the data: no overlap, no gap, nothing after.
void check_safetensors_coverage(const std::string& path, const std::vector<SafetensorsEntry>& entries,
                                uint64_t data_size) {
  std::vector<const SafetensorsEntry*> by_offset;
  for (const auto& entry : entries) by_offset.push_back(&entry);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const SafetensorsEntry* a, const SafetensorsEntry* b) { return std::tie(a->begin, a->end) < std::tie(b->begin, b->end); });
  uint64_t covered = 0;
  const SafetensorsEntry* previous = nullptr;
  for (const SafetensorsEntry* entry : by_offset) {
    if (entry->begin < covered) {
      throw Error(ErrorKind::model, "{}: tensors \"{}\" and \"{}\" overlap in the data", path, previous->name,
                  entry->name);
    }
    if (entry->begin > covered) {
      throw Error(ErrorKind::model, "{}: bytes {} to {} of the data belong to no tensor", path, covered, entry->begin);
    }
    covered = entry->end;
    previous = entry;
  }
  if (covered != data_size) {
    throw Error(ErrorKind::model, "{}: bytes {} to {} of the data belong to no tensor", path, covered, data_size);
  }
}

StateDict read_safetensors(const std::string& path) {
  StateDict dict;
  dict.format = "safetensors";
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(ErrorKind::model, "{}: cannot open weights file", path);
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  const nlohmann::json header = read_safetensors_header(in, path, file_size);
  const uint64_t data_start = static_cast<uint64_t>(in.tellg());  // just after the header
  const uint64_t data_size = file_size - data_start;
  std::vector<SafetensorsEntry> entries;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      if (!info.is_object()) throw Error(ErrorKind::model, "{}: safetensors __metadata__ is not an object", path);
      continue;
    }
    entries.push_back(safetensors_entry(path, name, info, data_size));
  }
  check_safetensors_coverage(path, entries, data_size);
  for (const auto& entry : entries) {
    auto tensor = torch::empty(entry.shape, torch::TensorOptions().dtype(entry.dtype));
    in.seekg(static_cast<std::streamoff>(data_start + entry.begin));
    if (!in.read(static_cast<char*>(tensor.data_ptr()), static_cast<std::streamsize>(entry.end - entry.begin))) {
      throw Error(ErrorKind::model, "{}: tensor \"{}\": cannot read its data", path, entry.name);
    }
    dict.entries.emplace_back(entry.name, tensor);
  }
  return dict;
}

void strip_prefix(StateDict& dict, const std::string& prefix) {
  if (dict.entries.empty()) return;
  for (const auto& [name, _] : dict.entries) {
    if (name.rfind(prefix, 0) != 0) return;
  }
  for (auto& [name, _] : dict.entries) name = name.substr(prefix.size());
}

}  // namespace

bool is_torchscript_archive(const std::string& path) {
  if (!is_zip(path)) return false;
  for (const auto& record : zip_records(path)) {
    if (record == "constants.pkl" || record.rfind("code/", 0) == 0) return true;
  }
  return false;
}

StateDict read_state_dict(const std::string& path, const std::string& weights_key) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(ErrorKind::model, "{}: weights file is a directory", path);
  // A FIFO or a device would block the reads below.
  if (const std::string problem = util::regular_file_problem(path, "a weights file");
      !problem.empty() && problem != "no such file") {
    throw Error(ErrorKind::model, "{}: {}", path, problem);
  }
  if (!std::ifstream(path, std::ios::binary)) throw Error(ErrorKind::model, "{}: cannot open weights file", path);
  auto no_key = [&](StateDict dict) {
    if (!weights_key.empty()) {
      throw Error(ErrorKind::model, "{}: weights_key \"{}\" applies to torch.save checkpoints, but this is a {} file",
                  path, weights_key, dict.format);
    }
    return dict;
  };
  StateDict dict;
  if (util::ends_with(util::to_lower(path), ".safetensors")) {
    dict = no_key(read_safetensors(path));
  } else if (is_zip(path)) {
    dict = is_torchscript_archive(path) ? no_key(read_torchscript(path)) : read_pickled_dict(path, weights_key);
  } else if (is_legacy_torch_save(path)) {
    throw Error(ErrorKind::model,
                "{}: legacy torch.save format (PyTorch < 1.6, or _use_new_zipfile_serialization=False), which zoo "
                "does not read; re-save it with a current PyTorch: torch.save(torch.load(f), f)",
                path);
  } else if (looks_like_safetensors(path)) {
    dict = no_key(read_safetensors(path));
  } else {
    throw Error(ErrorKind::model,
                "{}: unknown weights format (expected a TorchScript or torch.save zip archive, or a safetensors file)",
                path);
  }
  strip_prefix(dict, "module.");
  return dict;
}

void load_state_dict(torch::jit::Module& module, const StateDict& dict, bool strict, const std::string& path) {
  std::map<std::string, at::Tensor> given(dict.entries.begin(), dict.entries.end());
  std::vector<std::string> missing, mismatched, loaded;
  std::set<std::string> used;
  torch::NoGradGuard no_grad;
  auto load_one = [&](const std::string& name, at::Tensor target) {
    auto it = given.find(name);
    if (it == given.end()) {
      missing.push_back(name);
      return;
    }
    used.insert(name);
    if (!it->second.sizes().equals(target.sizes())) {
      mismatched.push_back(fmt::format("{} (file {}, model {})", name, shape_string(it->second.sizes()),
                                       shape_string(target.sizes())));
      return;
    }
    target.copy_(it->second);
    loaded.push_back(name);
  };
  for (const auto& p : module.named_parameters(true)) load_one(p.name, p.value);
  for (const auto& b : module.named_buffers(true)) load_one(b.name, b.value);
  std::vector<std::string> unexpected;
  for (const auto& [name, _] : dict.entries) {
    if (!used.count(name)) unexpected.push_back(name);
  }
  if (missing.empty() && unexpected.empty() && mismatched.empty()) return;

  std::vector<std::string> problems;
  if (!missing.empty()) problems.push_back(fmt::format("missing keys ({}): {}", missing.size(), list_names(missing)));
  if (!unexpected.empty()) {
    problems.push_back(fmt::format("unexpected keys ({}): {}", unexpected.size(), list_names(unexpected)));
  }
  if (!mismatched.empty()) {
    problems.push_back(fmt::format("shape mismatches ({}): {}", mismatched.size(), list_names(mismatched)));
  }
  if (strict || loaded.empty()) {
    throw Error(ErrorKind::model, "{}: weights do not fit the model: {}{}", path, util::join(problems, "; "),
                strict ? " (set strict: false in the config to load what fits)" : "");
  }
  util::warn(fmt::format("{}: partial load ({} of {} tensors); left at their initial values: {}", path, loaded.size(),
                         loaded.size() + missing.size() + mismatched.size(), util::join(problems, "; ")));
}

}  // namespace zoo::models
