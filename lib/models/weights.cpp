// Weight-file readers (TorchScript archives, torch.save'd dicts,
// safetensors) and state-dict loading with by-name error reports.
#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "models/builtin.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace zoo::models {
namespace {

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::model, "{}: cannot open weights file", path);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return bytes;
}

bool is_zip(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in && std::memcmp(magic, "PK\x03\x04", 4) == 0;
}

std::vector<std::string> zip_records(const std::string& path) {
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    return reader.getAllRecords();
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::model, "{}: not a readable PyTorch zip archive: {}", path, e.msg());
  }
}

// The tensors of a dict IValue, keys as strings; nested dicts (checkpoints)
// are searched by `weights_key`, else "state_dict", "model", "model_state_dict".
void collect_tensors(const c10::IValue& value, const std::string& weights_key, const std::string& path,
                     StateDict& out) {
  if (!value.isGenericDict()) {
    throw Error(ErrorKind::model, "{}: expected a dict of tensors, found {}", path, value.tagKind());
  }
  auto dict = value.toGenericDict();
  std::vector<std::string> nested;
  for (const auto& entry : dict) {
    if (!entry.key().isString()) continue;
    if (entry.value().isGenericDict()) nested.push_back(entry.key().toStringRef());
  }
  std::string key = weights_key;
  if (key.empty()) {
    for (const char* candidate : {"state_dict", "model", "model_state_dict"}) {
      if (std::find(nested.begin(), nested.end(), candidate) != nested.end()) {
        key = candidate;
        break;
      }
    }
  }
  if (!key.empty()) {
    for (const auto& entry : dict) {
      if (entry.key().isString() && entry.key().toStringRef() == key) {
        collect_tensors(entry.value(), "", path, out);
        return;
      }
    }
    throw Error(ErrorKind::model, "{}: weights_key \"{}\" is not in this file (dict entries: {})", path, key,
                util::join(nested, ", "));
  }
  for (const auto& entry : dict) {
    if (!entry.key().isString()) {
      throw Error(ErrorKind::model, "{}: state dict has a non-string key", path);
    }
    if (entry.value().isTensor()) {
      out.entries.emplace_back(entry.key().toStringRef(), entry.value().toTensor());
    } else if (!entry.value().isGenericDict()) {
      // Checkpoints carry epochs, optimizer settings and the like beside the tensors.
      continue;
    }
  }
  if (out.entries.empty()) {
    throw Error(ErrorKind::model, "{}: no tensors found{}", path,
                nested.empty() ? "" : fmt::format(" (nested dicts: {}; set weights_key)", util::join(nested, ", ")));
  }
}

StateDict read_pickled_dict(const std::string& path, const std::string& weights_key) {
  StateDict dict;
  dict.format = "state dict";
  c10::IValue value;
  try {
    value = torch::jit::pickle_load(read_bytes(path));
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::model, "{}: cannot read torch.save file: {}", path, e.msg());
  }
  if (value.isNone()) {
    throw Error(ErrorKind::model,
                "{}: this file holds a collections.OrderedDict (torch.save(model.state_dict())), which this zoo "
                "version cannot read yet; save dict(model.state_dict()), a TorchScript file or a .safetensors file",
                path);
  }
  collect_tensors(value, weights_key, path, dict);
  return dict;
}

StateDict read_torchscript(const std::string& path) {
  StateDict dict;
  dict.format = "torchscript";
  torch::jit::Module module;
  try {
    module = torch::jit::load(path);
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::model, "{}: cannot load TorchScript archive: {}", path, e.msg());
  }
  for (const auto& p : module.named_parameters(true)) dict.entries.emplace_back(p.name, p.value);
  for (const auto& b : module.named_buffers(true)) dict.entries.emplace_back(b.name, b.value);
  return dict;
}

// safetensors: 8-byte little-endian header length, a JSON header mapping
// names to {dtype, shape, data_offsets}, then the raw little-endian data.
StateDict read_safetensors(const std::string& path) {
  StateDict dict;
  dict.format = "safetensors";
  const std::vector<char> bytes = read_bytes(path);
  if (bytes.size() < 8) throw Error(ErrorKind::model, "{}: truncated safetensors file ({} bytes)", path, bytes.size());
  uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);
  if (header_size > bytes.size() - 8 || header_size > (100u << 20)) {
    throw Error(ErrorKind::model, "{}: safetensors header size {} exceeds the file size {}", path, header_size,
                bytes.size());
  }
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + header_size);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::model, "{}: bad safetensors header: {}", path, e.what());
  }
  if (!header.is_object()) throw Error(ErrorKind::model, "{}: bad safetensors header: not a JSON object", path);
  const uint64_t data_size = bytes.size() - 8 - header_size;
  const char* data = bytes.data() + 8 + header_size;
  static const std::map<std::string, std::pair<c10::ScalarType, size_t>> dtypes = {
      {"F32", {torch::kFloat32, 4}}, {"F16", {torch::kFloat16, 2}}, {"BF16", {torch::kBFloat16, 2}},
      {"F64", {torch::kFloat64, 8}}, {"I64", {torch::kInt64, 8}},   {"I32", {torch::kInt32, 4}},
      {"I16", {torch::kInt16, 2}},   {"I8", {torch::kInt8, 1}},     {"U8", {torch::kUInt8, 1}},
      {"BOOL", {torch::kBool, 1}}};
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    try {
      const std::string dtype = info.at("dtype").get<std::string>();
      auto type = dtypes.find(dtype);
      if (type == dtypes.end()) throw Error(ErrorKind::model, "{}: tensor \"{}\": unsupported dtype {}", path, name, dtype);
      std::vector<int64_t> shape;
      uint64_t count = 1;
      for (const auto& d : info.at("shape")) {
        const int64_t n = d.get<int64_t>();
        if (n < 0 || (n > 0 && count > data_size / uint64_t(n))) {
          throw Error(ErrorKind::model, "{}: tensor \"{}\": shape {} does not fit in the file", path, name,
                      info.at("shape").dump());
        }
        count *= uint64_t(n);
        shape.push_back(n);
      }
      const auto offsets = info.at("data_offsets").get<std::vector<uint64_t>>();
      if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > data_size ||
          offsets[1] - offsets[0] != count * type->second.second) {
        throw Error(ErrorKind::model, "{}: tensor \"{}\": data_offsets {} do not match its shape and the file size", path,
                    name, info.at("data_offsets").dump());
      }
      auto tensor = torch::empty(shape, torch::TensorOptions().dtype(type->second.first));
      std::memcpy(tensor.data_ptr(), data + offsets[0], offsets[1] - offsets[0]);
      dict.entries.emplace_back(name, tensor);
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorKind::model, "{}: tensor \"{}\": bad header entry: {}", path, name, e.what());
    }
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

std::string shape_string(at::IntArrayRef sizes) { return fmt::format("[{}]", fmt::join(sizes, ", ")); }

std::string list_names(const std::vector<std::string>& names) {
  constexpr size_t shown = 12;
  std::vector<std::string> head(names.begin(), names.begin() + std::min(shown, names.size()));
  std::string out = util::join(head, ", ");
  if (names.size() > shown) out += fmt::format(", ... ({} more)", names.size() - shown);
  return out;
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
  StateDict dict;
  if (util::ends_with(util::to_lower(path), ".safetensors")) {
    dict = read_safetensors(path);
  } else if (is_zip(path)) {
    dict = is_torchscript_archive(path) ? read_torchscript(path) : read_pickled_dict(path, weights_key);
  } else {
    throw Error(ErrorKind::model,
                "{}: unknown weights format (expected a TorchScript or torch.save zip archive, or .safetensors)", path);
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
