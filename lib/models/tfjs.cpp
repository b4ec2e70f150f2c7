#include "models/tfjs.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

#include "util/base64.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/json_text.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace zoo::models {
namespace {

// A graph made for one image at a time (its input's batch is 1: its
// reshapes hold the batch) runs once per image of a batch.
bool runs_per_image(const TfjsTensorSpec& input) { return !input.shape.empty() && input.shape[0] == 1; }

// What forward() returns for one entry of entrypoint_args.outputs: a node
// (name or name:index), or {concat: [...], axis: N}, the entries joined
// along a TensorFlow axis (SSD-style graphs split their scores and boxes
// per feature map).
struct OutputExpr {
  std::string node;              // a node, or "" for a concat
  std::vector<OutputExpr> parts;  // a concat's entries
  int64_t axis = 0;

  void leaves(std::vector<std::string>& out) const {
    if (!node.empty()) out.push_back(node);
    for (const auto& p : parts) p.leaves(out);
  }
  std::string describe() const {
    if (!node.empty()) return node;
    std::vector<std::string> items;
    for (const auto& p : parts) items.push_back(p.describe());
    return fmt::format("concat({}; axis {})", util::join(items, ", "), axis);
  }
};

// ---------------------------------------------------------------- weights

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits = 0;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exponent = 127 - 15 + 1;
      while (!(mantissa & 0x400u)) {
        mantissa <<= 1;
        --exponent;
      }
      bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
    }
  } else if (exponent == 31) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float out = 0;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

int64_t element_count(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// Every weight of the manifest by name, dequantized: float16 to float32,
// uint8/uint16 affine as value = q * scale + min.
std::unordered_map<std::string, at::Tensor> read_weights(const json& manifest, const fs::path& folder,
                                                         const std::string& file) {
  std::unordered_map<std::string, at::Tensor> weights;
  if (!manifest.is_array()) throw Error(ErrorKind::model, "{}: \"weightsManifest\" is not a list", file);
  for (const auto& group : manifest) {
    std::string data;
    for (const auto& path : group.at("paths")) {
      const fs::path shard = folder / path.get<std::string>();
      std::error_code ec;
      if (!fs::is_regular_file(shard, ec)) {
        throw Error(ErrorKind::model, "{}: weight shard {} is missing", file, shard.string());
      }
      data += util::read_file(shard.string());
    }
    size_t at = 0;
    for (const auto& spec : group.at("weights")) {
      const std::string name = spec.at("name");
      const std::vector<int64_t> shape = spec.at("shape").get<std::vector<int64_t>>();
      const std::string dtype = spec.at("dtype");
      const int64_t n = element_count(shape);
      std::string stored = dtype;
      double scale = 1, min = 0;
      if (spec.contains("quantization")) {
        const json& q = spec["quantization"];
        stored = q.at("dtype").get<std::string>();
        if (q.contains("scale")) scale = q["scale"].get<double>();
        if (q.contains("min")) min = q["min"].get<double>();
      }
      const size_t item = stored == "float16" || stored == "uint16" ? 2 : stored == "uint8" || stored == "bool" ? 1 : 4;
      const size_t bytes = size_t(n) * item;
      if (at + bytes > data.size()) {
        throw Error(ErrorKind::model, "{}: the weight shards end before weight \"{}\" ({} bytes, {} left): truncated",
                    file, name, bytes, data.size() - at);
      }
      const char* p = data.data() + at;
      at += bytes;
      at::Tensor t;
      if (dtype == "int32" && stored == "int32") {
        t = torch::empty(shape, torch::kInt32);
        std::memcpy(t.data_ptr(), p, bytes);
      } else if (dtype == "bool") {
        t = torch::empty(shape, torch::kBool);
        for (int64_t i = 0; i < n; ++i) t.data_ptr<bool>()[i] = p[i] != 0;
      } else if (dtype == "float32") {
        t = torch::empty(shape, torch::kFloat32);
        float* out = t.data_ptr<float>();
        if (stored == "float32") {
          std::memcpy(out, p, bytes);
        } else if (stored == "float16") {
          for (int64_t i = 0; i < n; ++i) {
            uint16_t h = 0;
            std::memcpy(&h, p + 2 * i, 2);
            out[i] = half_to_float(h);
          }
        } else if (stored == "uint8" || stored == "uint16") {
          for (int64_t i = 0; i < n; ++i) {
            uint32_t v = 0;
            std::memcpy(&v, p + item * size_t(i), item);
            out[i] = float(v * scale + min);
          }
        } else {
          throw Error(ErrorKind::model, "{}: weight \"{}\": unknown quantization dtype \"{}\"", file, name, stored);
        }
      } else {
        throw Error(ErrorKind::model, "{}: weight \"{}\": dtype \"{}\" (stored as {}) is not supported", file, name,
                    dtype, stored);
      }
      weights[name] = t;
    }
    if (at != data.size()) {
      throw Error(ErrorKind::model, "{}: the weight shards hold {} bytes more than the manifest's weights", file,
                  data.size() - at);
    }
  }
  return weights;
}

// ---------------------------------------------------------------- graph

struct Node {
  std::string name, op;
  std::vector<std::string> inputs;  // "name" or "name:K"; control inputs ("^x") dropped
  json attr;
};

// "name:K" -> (name, K); "name" -> (name, 0).
std::pair<std::string, int> split_output(const std::string& ref) {
  const size_t colon = ref.rfind(':');
  if (colon != std::string::npos && colon + 1 < ref.size() &&
      std::all_of(ref.begin() + long(colon) + 1, ref.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return {ref.substr(0, colon), std::stoi(ref.substr(colon + 1))};
  }
  return {ref, 0};
}

std::string dtype_name(const std::string& tf) {
  if (tf == "DT_FLOAT") return "float32";
  if (tf == "DT_INT32") return "int32";
  if (tf == "DT_BOOL") return "bool";
  if (tf == "DT_INT64") return "int64";
  return tf;
}

std::vector<int64_t> shape_of(const json& tensor_shape) {
  std::vector<int64_t> shape;
  if (tensor_shape.contains("dim")) {
    for (const auto& d : tensor_shape["dim"]) shape.push_back(std::stoll(d.value("size", std::string("-1"))));
  }
  return shape;
}

// TF stores attribute strings base64.
std::string attr_string(const Node& node, const std::string& key) {
  if (!node.attr.contains(key) || !node.attr[key].contains("s")) return "";
  return util::base64_decode(node.attr[key]["s"].get<std::string>()).value_or("");
}

std::vector<std::string> attr_strings(const Node& node, const std::string& key) {
  std::vector<std::string> out;
  if (!node.attr.contains(key) || !node.attr[key].contains("list") || !node.attr[key]["list"].contains("s")) {
    return out;
  }
  for (const auto& item : node.attr[key]["list"]["s"]) out.push_back(util::base64_decode(item.get<std::string>()).value_or(""));
  return out;
}

std::vector<int64_t> attr_ints(const Node& node, const std::string& key) {
  std::vector<int64_t> out;
  if (!node.attr.contains(key) || !node.attr[key].contains("list") || !node.attr[key]["list"].contains("i")) {
    return out;
  }
  for (const auto& v : node.attr[key]["list"]["i"]) out.push_back(std::stoll(v.get<std::string>()));
  return out;
}

int64_t attr_int(const Node& node, const std::string& key, int64_t fallback) {
  if (!node.attr.contains(key) || !node.attr[key].contains("i")) return fallback;
  const json& v = node.attr[key]["i"];
  return v.is_string() ? std::stoll(v.get<std::string>()) : v.get<int64_t>();
}

bool attr_bool(const Node& node, const std::string& key, bool fallback) {
  if (!node.attr.contains(key) || !node.attr[key].contains("b")) return fallback;
  return node.attr[key]["b"].get<bool>();
}

double attr_float(const Node& node, const std::string& key, double fallback) {
  if (!node.attr.contains(key) || !node.attr[key].contains("f")) return fallback;
  return node.attr[key]["f"].get<double>();
}

std::string attr_type(const Node& node, const std::string& key) {
  if (!node.attr.contains(key) || !node.attr[key].contains("type")) return "";
  return node.attr[key]["type"].get<std::string>();
}

// A double as TorchScript reads it back to the same float32.
std::string float_literal(double v) {
  std::string text = fmt::format("{}", float(v));
  if (text == "inf") return "float(\"inf\")";
  if (text == "-inf") return "-float(\"inf\")";
  if (text == "nan") return "float(\"nan\")";
  if (text.find_first_of(".eE") == std::string::npos) text += ".0";
  return text;
}

std::string int_list(const std::vector<int64_t>& values) {
  std::vector<std::string> items;
  for (int64_t v : values) items.push_back(std::to_string(v));
  return "[" + util::join(items, ", ") + "]";
}

// Elementwise ops: TensorFlow's name -> ATen's.
const std::map<std::string, std::string>& binary_ops() {
  static const std::map<std::string, std::string> ops = {
      {"Add", "torch.add"},         {"AddV2", "torch.add"},        {"Sub", "torch.sub"},
      {"Mul", "torch.mul"},         {"RealDiv", "torch.div"},      {"Div", "torch.div"},
      {"Maximum", "torch.maximum"}, {"Minimum", "torch.minimum"},  {"Equal", "torch.eq"},
      {"Greater", "torch.gt"},      {"GreaterEqual", "torch.ge"},  {"Less", "torch.lt"},
      {"LessEqual", "torch.le"},    {"Pow", "torch.pow"},          {"FloorMod", "torch.remainder"}};
  return ops;
}

const std::map<std::string, std::string>& unary_ops() {
  static const std::map<std::string, std::string> ops = {
      {"Relu", "torch.relu"}, {"Sigmoid", "torch.sigmoid"}, {"Tanh", "torch.tanh"}, {"Sqrt", "torch.sqrt"},
      {"Rsqrt", "torch.rsqrt"}, {"Exp", "torch.exp"}, {"Log", "torch.log"}, {"Neg", "torch.neg"},
      {"Abs", "torch.abs"}, {"Square", "torch.square"}, {"Floor", "torch.floor"}, {"Round", "torch.round"},
      {"Elu", "torch.elu"}};
  return ops;
}

// Helpers every converted forward() may call. Dtypes are ScalarType codes
// (6 float32, 3 int32, 4 int64, 11 bool): Module::define's resolver has no
// torch.float32.
constexpr const char* k_prelude = R"(
def _same(self, x: Tensor, kh: int, kw: int, sh: int, sw: int, dh: int, dw: int, value: float) -> Tensor:
    h = x.size(2)
    w = x.size(3)
    ph = max((((h + sh - 1) // sh) - 1) * sh + (kh - 1) * dh + 1 - h, 0)
    pw = max((((w + sw - 1) // sw) - 1) * sw + (kw - 1) * dw + 1 - w, 0)
    if ph == 0 and pw == 0:
        return x
    return torch.constant_pad_nd(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2], value)

def _conv(self, x: Tensor, w: Tensor, b: Optional[Tensor], sh: int, sw: int, dh: int, dw: int, groups: int) -> Tensor:
    y = self._same(x, w.size(2), w.size(3), sh, sw, dh, dw, 0.0)
    return torch.conv2d(y, w, b, [sh, sw], [0, 0], [dh, dw], groups)

def _max_pool(self, x: Tensor, kh: int, kw: int, sh: int, sw: int, same: bool) -> Tensor:
    y = x
    if same:
        y = self._same(y, kh, kw, sh, sw, 1, 1, -float("inf"))
    return torch.max_pool2d(y, [kh, kw], [sh, sw], [0, 0], [1, 1], False)

def _avg_pool(self, x: Tensor, kh: int, kw: int, sh: int, sw: int, same: bool) -> Tensor:
    if same:
        ones = torch.ones_like(x[:, :1])
        total = torch.avg_pool2d(self._same(x, kh, kw, sh, sw, 1, 1, 0.0), [kh, kw], [sh, sw], [0, 0], False, True, None)
        count = torch.avg_pool2d(self._same(ones, kh, kw, sh, sw, 1, 1, 0.0), [kh, kw], [sh, sw], [0, 0], False, True, None)
        return total / count
    return torch.avg_pool2d(x, [kh, kw], [sh, sw], [0, 0], False, True, None)

def _resize_legacy(self, x: Tensor, oh: int, ow: int, align: bool) -> Tensor:
    h = x.size(2)
    w = x.size(3)
    if align and oh > 1:
        ys = torch.arange(oh, dtype=6) * ((h - 1) / (oh - 1))
    else:
        ys = torch.arange(oh, dtype=6) * (h / oh)
    if align and ow > 1:
        xs = torch.arange(ow, dtype=6) * ((w - 1) / (ow - 1))
    else:
        xs = torch.arange(ow, dtype=6) * (w / ow)
    y0 = torch.floor(ys).to(4)
    x0 = torch.floor(xs).to(4)
    y1 = torch.clamp(y0 + 1, max=h - 1)
    x1 = torch.clamp(x0 + 1, max=w - 1)
    wy = (ys - y0.to(6)).view([1, 1, oh, 1])
    wx = (xs - x0.to(6)).view([1, 1, 1, ow])
    top = x.index_select(2, y0)
    bottom = x.index_select(2, y1)
    rows = top + (bottom - top) * wy
    left = rows.index_select(3, x0)
    right = rows.index_select(3, x1)
    return left + (right - left) * wx

def _resize_half(self, x: Tensor, oh: int, ow: int) -> Tensor:
    return torch.upsample_bilinear2d(x, [oh, ow], False, None, None)

def _gather(self, x: Tensor, indices: Tensor, axis: int) -> Tensor:
    if axis < 0:
        axis = axis + x.dim()
    shape = x.size()
    picked = x.index_select(axis, indices.reshape([-1]).to(4))
    out: List[int] = []
    for i in range(axis):
        out.append(shape[i])
    for d in indices.size():
        out.append(d)
    for i in range(axis + 1, len(shape)):
        out.append(shape[i])
    return picked.reshape(out)

def _gather_nd(self, x: Tensor, indices: Tensor) -> Tensor:
    k = indices.size(-1)
    idx = indices.to(4).reshape([-1, k])
    shape = x.size()
    flat = torch.zeros([idx.size(0)], dtype=4)
    for i in range(k):
        flat = flat * shape[i] + idx[:, i]
    rest: List[int] = []
    for i in range(k, len(shape)):
        rest.append(shape[i])
    picked = x.reshape([-1] + rest).index_select(0, flat)
    out: List[int] = []
    for d in indices.size()[:-1]:
        out.append(d)
    return picked.reshape(out + rest)
)";

class Converter {
 public:
  Converter(std::string file, const json& doc, std::unordered_map<std::string, at::Tensor> weights)
      : m_file(std::move(file)), m_weights(std::move(weights)) {
    const json& topology = doc.at("modelTopology");
    for (const auto& n : topology.at("node")) {
      Node node;
      node.name = n.at("name");
      node.op = n.at("op");
      if (n.contains("input")) {
        for (const auto& in : n["input"]) {
          const std::string ref = in;
          if (!ref.empty() && ref[0] != '^') node.inputs.push_back(ref);
        }
      }
      if (n.contains("attr")) node.attr = n["attr"];
      if (!m_nodes.emplace(node.name, node).second) {
        throw Error(ErrorKind::model, "{}: node \"{}\" is defined twice", m_file, node.name);
      }
      m_order.push_back(node.name);
    }
  }

  const Node& node(const std::string& name, const std::string& used_by) const {
    auto it = m_nodes.find(name);
    if (it == m_nodes.end()) {
      throw Error(ErrorKind::model, "{}: node \"{}\" takes \"{}\", which is not in the graph", m_file, used_by, name);
    }
    return it->second;
  }

  bool has_node(const std::string& name) const { return m_nodes.count(name) != 0; }
  const std::vector<std::string>& order() const { return m_order; }

  // The nodes `targets` need, inputs before users.
  std::vector<std::string> needed(const std::vector<std::string>& targets) const {
    std::vector<std::string> out;
    std::set<std::string> done, active;
    std::function<void(const std::string&, const std::string&)> visit = [&](const std::string& name,
                                                                            const std::string& user) {
      if (done.count(name)) return;
      if (active.count(name)) throw Error(ErrorKind::model, "{}: the graph has a cycle through \"{}\"", m_file, name);
      active.insert(name);
      for (const auto& in : node(name, user).inputs) visit(split_output(in).first, name);
      active.erase(name);
      done.insert(name);
      out.push_back(name);
    };
    for (const auto& t : targets) visit(split_output(t).first, "(the outputs)");
    return out;
  }

  // A Const node's value.
  std::optional<at::Tensor> constant(const std::string& ref) const {
    const auto [name, index] = split_output(ref);
    const Node& n = node(name, "?");
    if (n.op != "Const" || index != 0) return std::nullopt;
    auto it = m_weights.find(name);
    if (it != m_weights.end()) return it->second;
    return std::nullopt;
  }

  std::vector<int64_t> constant_ints(const std::string& ref, const Node& user) const {
    const auto value = constant(ref);
    if (!value) {
      throw Error(ErrorKind::model, "{}: node \"{}\" ({}): input \"{}\" must be a constant here (a graph whose "
                  "shapes change with its input is not supported)", m_file, user.name, user.op, ref);
    }
    at::Tensor t = value->to(torch::kInt64).contiguous().reshape({-1});
    return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
  }

  // Emits forward() computing `targets`; fills `module`'s attributes.
  std::string emit(const std::vector<OutputExpr>& targets, const TfjsTensorSpec& input, torch::jit::Module& module,
                   std::vector<std::string>& computed, int64_t& parameters) {
    m_module = &module;
    std::vector<std::string> leaves;
    for (const auto& t : targets) t.leaves(leaves);
    std::ostringstream code;
    code << k_prelude << "\n";
    const std::string returns =
        targets.size() == 1 ? "Tensor" : "Tuple[" + repeat("Tensor", targets.size()) + "]";
    const bool one_by_one = runs_per_image(input);
    if (one_by_one) {
      code << "def forward(self, x: Tensor) -> " << returns << ":\n";
      std::vector<std::string> cats;
      for (size_t i = 0; i < targets.size(); ++i) {
        code << "    o" << i << ": List[Tensor] = []\n";
        cats.push_back("torch.cat(o" + std::to_string(i) + ", 0)");
      }
      code << "    for i in range(x.size(0)):\n";
      if (targets.size() == 1) {
        code << "        o0.append(self._graph(x[i:i + 1]))\n";
      } else {
        std::vector<std::string> names;
        for (size_t i = 0; i < targets.size(); ++i) names.push_back("r" + std::to_string(i));
        code << "        " << util::join(names, ", ") << " = self._graph(x[i:i + 1])\n";
        for (size_t i = 0; i < targets.size(); ++i) code << "        o" << i << ".append(r" << i << ")\n";
      }
      code << "    return " << (cats.size() == 1 ? cats[0] : "(" + util::join(cats, ", ") + ")") << "\n\n";
    }
    code << "def " << (one_by_one ? "_graph" : "forward") << "(self, x: Tensor) -> " << returns << ":\n";
    const std::vector<std::string> nodes = needed(leaves);
    for (const auto& name : nodes) {
      const Node& n = m_nodes.at(name);
      if (n.op == "Const") continue;
      if (n.op == "Placeholder") {
        if (name != split_output(input.name).first) {
          throw Error(ErrorKind::model, "{}: the graph has a second input, \"{}\": zoo feeds one image input",
                      m_file, name);
        }
        code << "    " << var(name) << " = x.permute([0, 2, 3, 1])";
        if (input.dtype == "int32") {
          code << ".round().to(3)";
        } else {
          m_nchw[name] = "x";
        }
        code << "\n";
        continue;
      }
      code << emit_node(n);
      computed.push_back(name);
    }
    std::vector<std::string> results;
    for (const auto& t : targets) results.push_back(expression(t));
    code << "    return " << (results.size() == 1 ? results[0] : "(" + util::join(results, ", ") + ")") << "\n";
    parameters = m_parameters;
    return code.str();
  }

 private:
  static std::string repeat(const std::string& s, size_t n) {
    std::vector<std::string> items(n, s);
    return util::join(items, ", ");
  }

  std::string var(const std::string& name, int index = 0) {
    auto it = m_vars.find(name);
    if (it == m_vars.end()) it = m_vars.emplace(name, "v" + std::to_string(m_vars.size())).first;
    return index == 0 ? it->second : it->second + "_" + std::to_string(index);
  }

  // The code computing an output expression.
  std::string expression(const OutputExpr& e) {
    if (!e.node.empty()) return value(e.node);
    std::vector<std::string> items;
    for (const auto& p : e.parts) items.push_back(expression(p));
    return fmt::format("torch.cat([{}], {})", util::join(items, ", "), e.axis);
  }

  // The TorchScript expression for a tensor reference: a variable, or a
  // constant (an attribute).
  std::string value(const std::string& ref) {
    const auto [name, index] = split_output(ref);
    const Node& n = node(name, "?");
    if (n.op != "Const") return var(name, index);
    const auto c = constant(ref);
    if (!c) throw Error(ErrorKind::model, "{}: constant \"{}\" has no value in the weights manifest", m_file, name);
    auto it = m_attrs.find(name);
    if (it != m_attrs.end()) return "self." + it->second;
    const std::string attr = "c" + std::to_string(m_attrs.size());
    m_attrs[name] = attr;
    m_module->register_buffer(attr, *c);
    return "self." + attr;
  }

  // A constant float scalar as a literal.
  std::optional<std::string> literal(const std::string& ref) const {
    const auto c = constant(ref);
    if (c && c->numel() == 1 && c->dim() == 0 && c->scalar_type() == torch::kFloat32) {
      return float_literal(c->item<float>());
    }
    return std::nullopt;
  }

  // A constant float scalar as a literal; otherwise the value.
  std::string operand(const std::string& ref) {
    if (auto l = literal(ref)) return *l;
    return value(ref);
  }

  // A static int list from a constant input, or the runtime conversion.
  std::string ints(const std::string& ref) {
    if (const auto c = constant(ref)) {
      at::Tensor t = c->to(torch::kInt64).contiguous().reshape({-1});
      return int_list(std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel()));
    }
    return "torch.jit.annotate(List[int], " + value(ref) + ".to(4).tolist())";
  }

  std::string one_int(const std::string& ref) {
    if (const auto c = constant(ref)) return std::to_string(c->to(torch::kInt64).reshape({-1})[0].item<int64_t>());
    return "int(" + value(ref) + ".reshape([-1])[0].item())";
  }

  // A filter as a torch weight attribute: HWIO -> OIHW, or a depthwise
  // [H, W, C, m] -> [C*m, 1, H, W].
  std::string filter(const std::string& ref, bool depthwise,
                     const Node& user) {
    const auto c = constant(ref);
    if (!c || c->dim() != 4) {
      throw Error(ErrorKind::model, "{}: node \"{}\" ({}): its filter \"{}\" is not a constant 4-D tensor", m_file,
                  user.name, user.op, ref);
    }
    const std::string key = ref + (depthwise ? "#depthwise" : "#conv");
    auto it = m_attrs.find(key);
    if (it != m_attrs.end()) return "self." + it->second;
    at::Tensor w = depthwise ? c->permute({2, 3, 0, 1}).reshape({c->size(2) * c->size(3), 1, c->size(0), c->size(1)})
                             : c->permute({3, 2, 0, 1});
    const std::string attr = "w" + std::to_string(m_attrs.size());
    m_attrs[key] = attr;
    m_module->register_parameter(attr, w.contiguous(), false);
    m_parameters += w.numel();
    return "self." + attr;
  }

  std::string bias(const std::string& ref) {
    const auto c = constant(ref);
    if (!c) return value(ref);
    auto it = m_attrs.find(ref + "#bias");
    if (it != m_attrs.end()) return "self." + it->second;
    const std::string attr = "b" + std::to_string(m_attrs.size());
    m_attrs[ref + "#bias"] = attr;
    m_module->register_parameter(attr, c->reshape({-1}).contiguous(), false);
    m_parameters += c->numel();
    return "self." + attr;
  }

  [[noreturn]] void unsupported(const Node& n, const std::string& what) const {
    throw Error(ErrorKind::model, "{}: node \"{}\": {} {}", m_file, n.name, n.op, what);
  }

  // Conv padding: "SAME" -> true, "VALID" -> false.
  bool same_padding(const Node& n) const {
    const std::string padding = attr_string(n, "padding");
    if (padding == "SAME") return true;
    if (padding == "VALID") return false;
    unsupported(n, fmt::format("with padding \"{}\" is not supported", padding));
  }

  void check_nhwc(const Node& n) const {
    const std::string format = attr_string(n, "data_format");
    if (!format.empty() && format != "NHWC") unsupported(n, fmt::format("in {} layout is not supported", format));
  }

  std::string activation(const std::string& op, const std::string& x, const Node& n) const {
    if (op == "Relu") return "torch.relu(" + x + ")";
    if (op == "Relu6") return "torch.clamp(" + x + ", 0.0, 6.0)";
    if (op == "Elu") return "torch.elu(" + x + ")";
    if (op == "Sigmoid") return "torch.sigmoid(" + x + ")";
    if (op == "Tanh") return "torch.tanh(" + x + ")";
    if (op == "LeakyRelu") return "torch.leaky_relu(" + x + ", " + float_literal(attr_float(n, "alpha", 0.2)) + ")";
    unsupported(n, fmt::format("with the fused activation {} is not supported", op));
  }

  std::string emit_node(const Node& n) {
    if (const auto nchw = nchw_expr(n)) {
      const std::string out = var(n.name);
      m_nchw[n.name] = "n" + out;
      return "    n" + out + " = " + *nchw + "\n    " + out + " = n" + out + ".permute([0, 2, 3, 1])\n";
    }
    auto in = [&](size_t i) {
      if (i >= n.inputs.size()) unsupported(n, fmt::format("has {} inputs, expected more", n.inputs.size()));
      return n.inputs[i];
    };
    auto v = [&](size_t i) { return value(in(i)); };
    auto o = [&](size_t i) { return operand(in(i)); };
    const std::string out = var(n.name);
    const std::string& op = n.op;
    std::string expr;
    const auto& binary = binary_ops();
    const auto& unary = unary_ops();
    if (op == "Identity" || op == "StopGradient") {
      expr = v(0);
    } else if (binary.count(op)) {
      expr = binary_expr(n, o(0), o(1), v(0), v(1));
    } else if (op == "FloorDiv") {
      expr = "torch.div(" + v(0) + ", " + v(1) + ", rounding_mode=\"floor\")";
    } else if (op == "SquaredDifference") {
      expr = "torch.square(torch.sub(" + v(0) + ", " + v(1) + "))";
    } else if (auto u = unary.find(op); u != unary.end()) {
      expr = u->second + "(" + v(0) + ")";
    } else if (op == "Relu6") {
      expr = "torch.clamp(" + v(0) + ", 0.0, 6.0)";
    } else if (op == "LeakyRelu") {
      expr = "torch.leaky_relu(" + v(0) + ", " + float_literal(attr_float(n, "alpha", 0.2)) + ")";
    } else if (op == "Softmax") {
      expr = "torch.softmax(" + v(0) + ", -1)";
    } else if (op == "BiasAdd") {
      expr = "torch.add(" + v(0) + ", " + v(1) + ")";
    } else if (op == "MatMul" || op == "_FusedMatMul") {
      std::string a = v(0), b = v(1);
      if (attr_bool(n, "transpose_a", false)) a += ".t()";
      if (attr_bool(n, "transpose_b", false)) b += ".t()";
      expr = "torch.matmul(" + a + ", " + b + ")";
      const std::vector<std::string> fused = attr_strings(n, "fused_ops");
      if (!fused.empty()) {
        if (fused[0] != "BiasAdd") unsupported(n, fmt::format("with fused {} is not supported", fused[0]));
        expr = "torch.add(" + expr + ", " + v(2) + ")";
        for (size_t i = 1; i < fused.size(); ++i) expr = activation(fused[i], expr, n);
      }
    } else if (op == "Mean" || op == "Sum" || op == "Max" || op == "Min" || op == "Prod") {
      std::string dims = ints(in(1));
      std::string x = v(0);
      // Global pooling of an NCHW form: over its H and W.
      if (const auto form = nchw_of(in(0)); form && !attr_bool(n, "keep_dims", false) &&
                                            (dims == "[1, 2]" || dims == "[2, 1]")) {
        x = *form;
        dims = "[2, 3]";
      }
      const std::string keep = attr_bool(n, "keep_dims", false) ? "True" : "False";
      if (op == "Mean") {
        expr = "torch.mean(" + x + ", " + dims + ", " + keep + ")";
      } else if (op == "Sum") {
        expr = "torch.sum(" + x + ", " + dims + ", " + keep + ")";
      } else if (op == "Max") {
        expr = "torch.amax(" + x + ", " + dims + ", " + keep + ")";
      } else if (op == "Min") {
        expr = "torch.amin(" + x + ", " + dims + ", " + keep + ")";
      } else {
        unsupported(n, "is not supported");
      }
    } else if (op == "ConcatV2") {
      std::vector<std::string> parts;
      for (size_t i = 0; i + 1 < n.inputs.size(); ++i) parts.push_back(v(i));
      expr = "torch.cat([" + util::join(parts, ", ") + "], " + one_int(n.inputs.back()) + ")";
    } else if (op == "Pack") {
      std::vector<std::string> parts;
      for (size_t i = 0; i < n.inputs.size(); ++i) parts.push_back(v(i));
      expr = "torch.stack([" + util::join(parts, ", ") + "], " + std::to_string(attr_int(n, "axis", 0)) + ")";
    } else if (op == "Unpack") {
      const int64_t num = attr_int(n, "num", 0);
      std::string lines = fmt::format("    _u_{} = torch.unbind({}, {})\n", out, v(0), attr_int(n, "axis", 0));
      for (int64_t i = 0; i < num; ++i) lines += fmt::format("    {} = _u_{}[{}]\n", var(n.name, int(i)), out, i);
      return lines;
    } else if (op == "Reshape") {
      expr = v(0) + ".reshape(" + ints(in(1)) + ")";
    } else if (op == "Squeeze") {
      const auto dims = attr_ints(n, "squeeze_dims");
      expr = v(0);
      if (dims.empty()) {
        expr += ".squeeze()";
      } else {
        std::vector<int64_t> sorted = dims;
        std::sort(sorted.rbegin(), sorted.rend());
        for (int64_t d : sorted) expr += ".squeeze(" + std::to_string(d) + ")";
        if (std::any_of(dims.begin(), dims.end(), [](int64_t d) { return d < 0; })) {
          unsupported(n, "with negative squeeze_dims is not supported");
        }
      }
    } else if (op == "ExpandDims") {
      expr = v(0) + ".unsqueeze(" + one_int(in(1)) + ")";
    } else if (op == "Cast") {
      const std::string to = attr_type(n, "DstT");
      const std::string dtype = to == "DT_FLOAT" ? "6" : to == "DT_INT32" ? "3"
                              : to == "DT_BOOL"  ? "11"    : to == "DT_INT64" ? "4" : "";
      if (dtype.empty()) unsupported(n, fmt::format("to {} is not supported", to));
      // TF truncates floats toward zero when casting to integers; so does .to().
      expr = v(0) + ".to(" + dtype + ")";
    } else if (op == "Pad" || op == "PadV2" || op == "MirrorPad") {
      const auto pads = constant_ints(in(1), n);
      std::vector<int64_t> torch_pads;  // last dimension first
      for (size_t d = pads.size() / 2; d-- > 0;) {
        torch_pads.push_back(pads[2 * d]);
        torch_pads.push_back(pads[2 * d + 1]);
      }
      if (op == "MirrorPad") unsupported(n, "is not supported");
      std::string fill = "0.0";
      if (op == "PadV2") fill = o(2);
      expr = "torch.constant_pad_nd(" + v(0) + ", " + int_list(torch_pads) + ", " + fill + ")";
    } else if (op == "StridedSlice") {
      expr = strided_slice(n);
    } else if (op == "TopKV2") {
      const std::string k = one_int(in(1));
      return fmt::format("    {}, _i_{} = torch.topk({}, {}, -1, True, True)\n    {} = _i_{}.to(3)\n", out,
                         out, v(0), k, var(n.name, 1), out);
    } else if (op == "GatherV2") {
      if (attr_int(n, "batch_dims", 0) != 0) unsupported(n, "with batch_dims is not supported");
      expr = "self._gather(" + v(0) + ", " + v(1) + ", " + one_int(in(2)) + ")";
    } else if (op == "GatherNd") {
      expr = "self._gather_nd(" + v(0) + ", " + v(1) + ")";
    } else if (op == "ArgMax") {
      expr = "torch.argmax(" + v(0) + ", " + one_int(in(1)) + ").to(3)";
    } else if (op == "Shape") {
      expr = "torch.tensor(" + v(0) + ".size(), dtype=3)";
    } else if (op == "Fill") {
      expr = "torch.full(" + ints(in(0)) + ", " + v(1) + ".item())";
    } else {
      unsupported(n, "is not an op zoo supports");
    }
    return "    " + out + " = " + expr + "\n";
  }

  // A binary op: a tensor first, as ATen's binary ops take a scalar only
  // second (and torch.maximum and friends none). `a`, `c`: the operands,
  // literals for scalar constants; `a_tensor`, `c_tensor`: the same as
  // tensors.
  std::string binary_expr(const Node& n, std::string a, std::string c, const std::string& a_tensor,
                          const std::string& c_tensor) {
    const std::string& op = n.op;
    const std::string& fn = binary_ops().at(op);
    bool a_literal = a != a_tensor;
    const bool c_literal = c != c_tensor;
    if (a_literal && c_literal) {
      a = a_tensor;
      a_literal = false;
    }
    if (a_literal && (op == "Add" || op == "AddV2" || op == "Mul")) {
      std::swap(a, c);
      a_literal = false;
    }
    if (a_literal && op == "Sub") return "torch.rsub(" + c + ", " + a + ")";
    if (a_literal && (op == "RealDiv" || op == "Div")) return "torch.mul(torch.reciprocal(" + c + "), " + a + ")";
    if (a_literal) a = a_tensor;
    if (c_literal && (op == "Maximum" || op == "Minimum")) c = c_tensor;
    return fn + "(" + a + ", " + c + ")";
  }

  // The NCHW form of a value: the variable computed in NCHW, if any.
  std::optional<std::string> nchw_of(const std::string& ref) const {
    const auto [name, index] = split_output(ref);
    if (index != 0) return std::nullopt;
    const auto it = m_nchw.find(name);
    if (it == m_nchw.end()) return std::nullopt;
    return it->second;
  }

  // A constant of at most 4 dimensions as it broadcasts against NCHW
  // tensors: its NHWC shape padded on the left to 4 dimensions, permuted.
  std::optional<std::string> nchw_constant(const std::string& ref) {
    const auto c = constant(ref);
    if (!c || c->dim() > 4) return std::nullopt;
    if (c->dim() == 0) return value(ref);
    const std::string key = ref + "#nchw";
    if (const auto it = m_attrs.find(key); it != m_attrs.end()) return "self." + it->second;
    std::vector<int64_t> shape(size_t(4 - c->dim()), 1);
    for (int64_t d : c->sizes()) shape.push_back(d);
    const std::string attr = "c" + std::to_string(m_attrs.size());
    m_attrs[key] = attr;
    m_module->register_buffer(attr, c->reshape(shape).permute({0, 3, 1, 2}).contiguous());
    return "self." + attr;
  }

  // A float scalar constant's value.
  std::optional<float> scalar(const std::string& ref) const {
    const auto c = constant(ref);
    if (!c || c->numel() != 1 || c->scalar_type() != torch::kFloat32) return std::nullopt;
    return c->reshape({-1})[0].item<float>();
  }

  // X when `ref` is Relu6(X + 3) (MobileNetV3's hard activations).
  std::optional<std::string> relu6_of_plus_3(const std::string& ref) const {
    const auto [name, index] = split_output(ref);
    const Node& relu6 = node(name, "?");
    if (index != 0 || relu6.op != "Relu6" || relu6.inputs.size() != 1) return std::nullopt;
    const Node& add = node(split_output(relu6.inputs[0]).first, relu6.name);
    if ((add.op != "Add" && add.op != "AddV2") || add.inputs.size() != 2) return std::nullopt;
    for (size_t i = 0; i < 2; ++i) {
      if (scalar(add.inputs[1 - i]) == 3.f) return add.inputs[i];
    }
    return std::nullopt;
  }

  // MobileNetV3's hard activations as TensorFlow spells them, as one op on
  // an NCHW form: hard_swish, Mul(Mul(X, 1/6), Relu6(X + 3)), and
  // hard_sigmoid, Mul(1/6, Relu6(X + 3)). One ATen op instead of four, which
  // MKLDNN runs in place after a convolution whose channels it does not pad.
  std::optional<std::string> hard_activation(const Node& n) {
    if (n.inputs.size() != 2) return std::nullopt;
    // The graph's 1/6 may be float16-quantized (0.16668701): the op is
    // scaled by 6 times it, exactly as the graph computes.
    auto sixth = [](std::optional<float> v) { return v && std::abs(*v - 1.f / 6.f) < 1e-4f; };
    auto scaled = [](const std::string& expr, float c) {
      const float k = float(double(c) * 6.0);
      return k == 1.f ? expr : "torch.mul(" + expr + ", " + float_literal(k) + ")";
    };
    for (size_t i = 0; i < 2; ++i) {
      const auto x = relu6_of_plus_3(n.inputs[i]);
      if (!x) continue;
      const auto form = nchw_of(*x);
      if (!form) return std::nullopt;
      const std::string& other = n.inputs[1 - i];
      if (const auto c = scalar(other); sixth(c)) return scaled("torch.hardsigmoid(" + *form + ")", *c);
      const auto [name, index] = split_output(other);
      const Node& mul = node(name, n.name);
      if (index == 0 && mul.op == "Mul" && mul.inputs.size() == 2) {
        for (size_t j = 0; j < 2; ++j) {
          if (const auto c = scalar(mul.inputs[1 - j]); mul.inputs[j] == *x && sixth(c)) {
            return scaled("torch.hardswish(" + *form + ")", *c);
          }
        }
      }
    }
    return std::nullopt;
  }

  // Ops computed on NCHW tensors (channels-last in memory), so that a chain
  // of convolutions, pools and elementwise ops has no permutes and
  // optimize_for_inference keeps it in MKLDNN: convolutions, pools and
  // resizes always (from a permuted view of an NHWC input), elementwise ops
  // and channel concats when their inputs have NCHW forms. Their NHWC value,
  // for every other op, is a permuted view. nullopt: not such an op.
  std::optional<std::string> nchw_expr(const Node& n) {
    const std::string& op = n.op;
    auto in = [&](size_t i) -> const std::string& {
      if (i >= n.inputs.size()) unsupported(n, fmt::format("has {} inputs, expected more", n.inputs.size()));
      return n.inputs[i];
    };
    auto forced = [&](size_t i) {
      const auto form = nchw_of(in(i));
      return form ? *form : value(in(i)) + ".permute([0, 3, 1, 2])";
    };
    if (op == "Conv2D" || op == "_FusedConv2D" || op == "DepthwiseConv2dNative" ||
        op == "FusedDepthwiseConv2dNative") {
      check_nhwc(n);
      const bool depthwise = op.find("Depthwise") != std::string::npos;
      const auto strides = attr_ints(n, "strides");
      auto dilations = attr_ints(n, "dilations");
      if (dilations.empty()) dilations = {1, 1, 1, 1};
      if (strides.size() != 4 || dilations.size() != 4) unsupported(n, "has strides or dilations not of 4 values");
      const std::string w = filter(in(1), depthwise, n);
      std::string b = "None";
      std::vector<std::string> fused = attr_strings(n, "fused_ops");
      if (!fused.empty()) {
        if (fused[0] != "BiasAdd") unsupported(n, fmt::format("with fused {} is not supported", fused[0]));
        b = bias(in(2));
      }
      const auto f = constant(in(1));
      const int64_t groups = depthwise ? f->size(2) : 1;
      const int64_t ph = (f->size(0) - 1) * dilations[1], pw = (f->size(1) - 1) * dilations[2];
      const std::string x = forced(0);
      std::string expr;
      if (!same_padding(n)) {
        expr = fmt::format("torch.conv2d({}, {}, {}, [{}, {}], [0, 0], [{}, {}], {})", x, w, b, strides[1],
                           strides[2], dilations[1], dilations[2], groups);
      } else if (strides[1] == 1 && strides[2] == 1 && ph % 2 == 0 && pw % 2 == 0) {
        // At stride 1 SAME pads (k - 1) * d, split evenly when even: the
        // convolution's own padding, no copy.
        expr = fmt::format("torch.conv2d({}, {}, {}, [1, 1], [{}, {}], [{}, {}], {})", x, w, b, ph / 2, pw / 2,
                           dilations[1], dilations[2], groups);
      } else {
        expr = fmt::format("self._conv({}, {}, {}, {}, {}, {}, {}, {})", x, w, b, strides[1], strides[2],
                           dilations[1], dilations[2], groups);
      }
      for (size_t i = 1; i < fused.size(); ++i) expr = activation(fused[i], expr, n);
      return expr;
    }
    if (op == "MaxPool" || op == "AvgPool") {
      check_nhwc(n);
      const auto k = attr_ints(n, "ksize");
      const auto s = attr_ints(n, "strides");
      if (k.size() != 4 || s.size() != 4 || k[0] != 1 || k[3] != 1) unsupported(n, "pools over batch or channels");
      const bool same = same_padding(n);
      if (same && s[1] == 1 && s[2] == 1 && k[1] % 2 == 1 && k[2] % 2 == 1) {
        // Even padding: the pool's own (MaxPool pads with -inf, AvgPool
        // leaves the padding out of the divisor, as TensorFlow).
        return op == "MaxPool"
                   ? fmt::format("torch.max_pool2d({}, [{}, {}], [1, 1], [{}, {}], [1, 1], False)", forced(0), k[1],
                                 k[2], k[1] / 2, k[2] / 2)
                   : fmt::format("torch.avg_pool2d({}, [{}, {}], [1, 1], [{}, {}], False, False, None)", forced(0),
                                 k[1], k[2], k[1] / 2, k[2] / 2);
      }
      return fmt::format("self.{}({}, {}, {}, {}, {}, {})", op == "MaxPool" ? "_max_pool" : "_avg_pool", forced(0),
                         k[1], k[2], s[1], s[2], same ? "True" : "False");
    }
    if (op == "ResizeBilinear") {
      const std::string size = ints(in(1));
      const bool align = attr_bool(n, "align_corners", false);
      const bool half = attr_bool(n, "half_pixel_centers", false);
      if (half && align) unsupported(n, "with both align_corners and half_pixel_centers is not supported");
      return half ? fmt::format("self._resize_half({}, {}[0], {}[1])", forced(0), size, size)
                  : fmt::format("self._resize_legacy({}, {}[0], {}[1], {})", forced(0), size, size,
                                align ? "True" : "False");
    }
    if (n.inputs.empty()) return std::nullopt;
    const auto form = nchw_of(n.inputs[0]);
    if (op == "Identity" || op == "StopGradient") return form;
    if (const auto u = unary_ops().find(op); u != unary_ops().end()) {
      if (form) return u->second + "(" + *form + ")";
      return std::nullopt;
    }
    if (op == "Relu6" || op == "LeakyRelu") {
      if (form) return activation(op, *form, n);
      return std::nullopt;
    }
    if (op == "Softmax") {
      if (form) return "torch.softmax(" + *form + ", 1)";
      return std::nullopt;
    }
    if (op == "Mul") {
      if (const auto fused = hard_activation(n)) return fused;
    }
    if (op == "BiasAdd" || binary_ops().count(op)) {
      const bool bias_add = op == "BiasAdd";
      const auto a = nchw_of(in(0)), c = nchw_of(in(1));
      if (!a && !c) return std::nullopt;
      // An operand: its NCHW form, a literal for a float scalar, or a
      // constant made to broadcast as NCHW.
      auto operand_of = [&](size_t i, const std::optional<std::string>& f) -> std::optional<std::string> {
        if (f) return f;
        if (auto l = literal(in(i))) return l;
        return nchw_constant(in(i));
      };
      const auto a_op = operand_of(0, a), c_op = operand_of(1, c);
      if (!a_op || !c_op) return std::nullopt;
      if (bias_add) return "torch.add(" + *a_op + ", " + *c_op + ")";
      const std::string a_tensor = a ? *a : *nchw_constant(in(0));
      const std::string c_tensor = c ? *c : *nchw_constant(in(1));
      return binary_expr(n, *a_op, *c_op, a_tensor, c_tensor);
    }
    if ((op == "Mean" || op == "Sum" || op == "Max" || op == "Min") && form && attr_bool(n, "keep_dims", false)) {
      const auto axes = constant(in(1));
      if (!axes) return std::nullopt;
      std::vector<int64_t> mapped;
      for (int64_t a : constant_ints(in(1), n)) {
        if (a < -4 || a > 3) return std::nullopt;
        mapped.push_back(std::array<int64_t, 4>{0, 2, 3, 1}[size_t((a + 4) % 4)]);
      }
      const std::string fn = op == "Mean" ? "torch.mean" : op == "Sum" ? "torch.sum"
                           : op == "Max"  ? "torch.amax" : "torch.amin";
      return fn + "(" + *form + ", " + int_list(mapped) + ", True)";
    }
    if (op == "ConcatV2" && n.inputs.size() > 1) {
      const auto axis = constant(n.inputs.back());
      if (!axis) return std::nullopt;
      const int64_t a = axis->to(torch::kInt64).reshape({-1})[0].item<int64_t>();
      if (a != 3 && a != -1) return std::nullopt;
      std::vector<std::string> parts;
      for (size_t i = 0; i + 1 < n.inputs.size(); ++i) {
        const auto part = nchw_of(n.inputs[i]);
        if (!part) return std::nullopt;
        parts.push_back(*part);
      }
      return "torch.cat([" + util::join(parts, ", ") + "], 1)";
    }
    return std::nullopt;
  }

  std::string strided_slice(const Node& n) {
    const auto begin = constant_ints(n.inputs.at(1), n);
    const auto end = constant_ints(n.inputs.at(2), n);
    const auto strides = constant_ints(n.inputs.at(3), n);
    const int64_t begin_mask = attr_int(n, "begin_mask", 0), end_mask = attr_int(n, "end_mask", 0);
    const int64_t shrink = attr_int(n, "shrink_axis_mask", 0), new_axis = attr_int(n, "new_axis_mask", 0);
    if (attr_int(n, "ellipsis_mask", 0) != 0) unsupported(n, "with an ellipsis is not supported");
    std::vector<std::string> items;
    for (size_t i = 0; i < begin.size(); ++i) {
      if (new_axis & (1 << i)) {
        items.push_back("None");
        continue;
      }
      if (shrink & (1 << i)) {
        items.push_back(std::to_string(begin[i]));
        continue;
      }
      if (strides[i] <= 0) unsupported(n, "with a negative stride is not supported");
      const std::string b = (begin_mask & (1 << i)) ? "" : std::to_string(begin[i]);
      const std::string e = (end_mask & (1 << i)) ? "" : std::to_string(end[i]);
      items.push_back(b + ":" + e + (strides[i] == 1 ? "" : ":" + std::to_string(strides[i])));
    }
    return value(n.inputs.at(0)) + "[" + util::join(items, ", ") + "]";
  }

  std::string m_file;
  std::unordered_map<std::string, at::Tensor> m_weights;
  std::unordered_map<std::string, Node> m_nodes;
  std::vector<std::string> m_order;
  std::unordered_map<std::string, std::string> m_vars;
  std::unordered_map<std::string, std::string> m_nchw;  // node -> the variable of its NCHW form
  std::unordered_map<std::string, std::string> m_attrs;
  torch::jit::Module* m_module = nullptr;  // emit()'s: where constants and weights are registered
  int64_t m_parameters = 0;                // weight values registered
};

std::vector<TfjsTensorSpec> specs_of(const json& map) {
  std::vector<TfjsTensorSpec> out;
  for (const auto& [key, spec] : map.items()) {
    TfjsTensorSpec s;
    s.name = spec.value("name", key);
    s.dtype = dtype_name(spec.value("dtype", std::string("DT_FLOAT")));
    if (spec.contains("tensorShape")) s.shape = shape_of(spec["tensorShape"]);
    out.push_back(s);
  }
  return out;
}

// One entry of entrypoint_args.outputs (see OutputExpr).
OutputExpr output_expr(const json& item, const Converter& graph, const std::string& model_json,
                       const std::string& where) {
  const std::string key = where + ": entrypoint_args.outputs";
  if (item.is_string()) {
    const std::string name = item.get<std::string>();
    if (!graph.has_node(split_output(name).first)) {
      throw Error(ErrorKind::config, "{}: no node \"{}\" in {}", key, name, model_json);
    }
    return {name, {}, 0};
  }
  if (!item.is_object() || !item.contains("concat") || !item["concat"].is_array() || item["concat"].empty()) {
    throw Error(ErrorKind::config, "{}: expected a node name or {{concat: [NODE, ...], axis: N}}, got {}", key,
                item.dump());
  }
  for (const auto& [name, _] : item.items()) {
    if (name != "concat" && name != "axis") {
      throw Error(ErrorKind::config, "{}: a concat takes \"concat\" and \"axis\", not \"{}\"", key, name);
    }
  }
  if (!item.contains("axis") || !item["axis"].is_number_integer()) {
    throw Error(ErrorKind::config, "{}: a concat needs \"axis\", an integer (TensorFlow's axes, NHWC)", key);
  }
  OutputExpr e;
  e.axis = item["axis"].get<int64_t>();
  for (const auto& part : item["concat"]) e.parts.push_back(output_expr(part, graph, model_json, where));
  return e;
}

}  // namespace

TfjsModel load_tfjs(const std::string& model_json, const json& args, const std::string& layer,
                    const std::string& where) {
  json doc;
  try {
    doc = util::parse_json<json>(util::read_file(model_json));
  } catch (const json::exception& e) {
    throw Error(ErrorKind::model, "{}: not a TensorFlow.js model.json: {}", model_json, e.what());
  }
  if (!doc.is_object() || !doc.contains("modelTopology") || !doc.contains("weightsManifest")) {
    throw Error(ErrorKind::model, "{}: not a TensorFlow.js graph model (no modelTopology and weightsManifest)",
                model_json);
  }
  for (const auto& [key, _] : args.items()) {
    if (key != "outputs") {
      throw Error(ErrorKind::config, "{}: entrypoint_args: tfjs has no argument \"{}\" (it takes: outputs)", where, key);
    }
  }
  TfjsModel model;
  try {
    Converter graph(model_json, doc, read_weights(doc["weightsManifest"], fs::path(model_json).parent_path(), model_json));
    // The signature, or the graph's Placeholder and its sinks.
    if (doc.contains("signature") && doc["signature"].is_object() && doc["signature"].contains("inputs")) {
      model.inputs = specs_of(doc["signature"]["inputs"]);
      model.outputs = specs_of(doc["signature"].value("outputs", json::object()));
    }
    std::set<std::string> used;
    for (const auto& name : graph.order()) {
      for (const auto& in : graph.node(name, name).inputs) used.insert(split_output(in).first);
    }
    if (model.inputs.empty()) {
      for (const auto& name : graph.order()) {
        const Node& n = graph.node(name, name);
        if (n.op != "Placeholder") continue;
        TfjsTensorSpec s{name, dtype_name(attr_type(n, "dtype")), {}};
        if (n.attr.contains("shape") && n.attr["shape"].contains("shape")) s.shape = shape_of(n.attr["shape"]["shape"]);
        model.inputs.push_back(s);
      }
    }
    if (model.outputs.empty()) {
      for (const auto& name : graph.order()) {
        const Node& n = graph.node(name, name);
        if (n.op != "Const" && n.op != "Placeholder" && !used.count(name)) model.outputs.push_back({name, "float32", {}});
      }
    }
    if (model.inputs.size() != 1) {
      throw Error(ErrorKind::model, "{}: the graph has {} inputs; zoo feeds models one image input", model_json,
                  model.inputs.size());
    }
    std::vector<OutputExpr> targets;
    if (!layer.empty()) {
      if (!graph.has_node(split_output(layer).first)) {
        throw Error(ErrorKind::config, "{}: no node \"{}\" in {}", where, layer, model_json);
      }
      targets = {OutputExpr{layer, {}, 0}};
    } else if (args.contains("outputs")) {
      if (!args["outputs"].is_array() || args["outputs"].empty()) {
        throw Error(ErrorKind::config, "{}: entrypoint_args.outputs: expected a list of node names (or "
                    "{{concat: [NODE, ...], axis: N}})", where);
      }
      std::vector<TfjsTensorSpec> chosen;
      for (const auto& item : args["outputs"]) {
        targets.push_back(output_expr(item, graph, model_json, where));
        auto it = std::find_if(model.outputs.begin(), model.outputs.end(),
                               [&](const TfjsTensorSpec& s) { return s.name == targets.back().node; });
        chosen.push_back(it != model.outputs.end() ? *it : TfjsTensorSpec{targets.back().describe(), "float32", {}});
      }
      model.outputs = chosen;
    } else {
      for (const auto& o : model.outputs) targets.push_back({o.name, {}, 0});
    }
    torch::jit::Module module(c10::QualifiedName("__torch__.zoo.TfjsGraph"),
                              std::make_shared<torch::jit::CompilationUnit>());
    module.register_attribute("training", c10::BoolType::get(), false);
    const std::string code = graph.emit(targets, model.inputs[0], module, model.nodes, model.parameters);
    try {
      module.define(code);
    } catch (const c10::Error& e) {
      throw Error(ErrorKind::model, "{}: the converted graph does not compile: {}", model_json, e.msg());
    } catch (const std::exception& e) {
      throw Error(ErrorKind::model, "{}: the converted graph does not compile: {}", model_json, e.what());
    }
    model.module = module;
    model.per_image = runs_per_image(model.inputs[0]);
  } catch (const json::exception& e) {
    throw Error(ErrorKind::model, "{}: malformed model.json: {}", model_json, e.what());
  }
  return model;
}

}  // namespace zoo::models
