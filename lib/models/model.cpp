// Model loading (built-in or TorchScript), inference optimisation and the
// batch forward pass.
#include "models/model.hpp"
#include "models/tfjs.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/passes/remove_mutation.h>

#include "models/builtin.hpp"
#include "models/capture.hpp"
#include "models/fused_conv.hpp"
#include "models/per_sample.hpp"
#include "models/pickle_reader.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace zoo::models {

struct Model::Impl {
  torch::jit::Module module;
  std::string description;
  Precision precision = Precision::fp32;
  // The module before optimize_for_inference, kept until the optimised one
  // has run once: oneDNN lacks some cases (e.g. adaptive pooling to a size
  // that does not divide the input) that only show at the first forward.
  std::optional<torch::jit::Module> unoptimized;
  std::string weights_format;   // "" when no weights file was loaded
  int64_t parameters = 0;       // counted before freezing turns them into constants
  bool frozen = false;          // submodules inlined away (freeze / optimize_for_inference)
  bool per_image = false;       // forward() runs the images of a batch one by one
};

Precision parse_precision(const std::string& text) {
  if (text == "fp32") return Precision::fp32;
  if (text == "bf16") return Precision::bf16;
  throw Error(ErrorKind::usage, "--precision: expected fp32 or bf16, got \"{}\"", text);
}

namespace {

// The informative part of a TorchScript error: its last non-empty line
// ("RuntimeError: ..."), not the interpreter traceback above it.
std::string last_line(const std::string& message) {
  size_t end = message.find_last_not_of(" \n");
  if (end == std::string::npos) return message;
  size_t start = message.rfind('\n', end);
  return message.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start == std::string::npos ? 0 : start + 1));
}

// PyTorch 1.13's optimize_for_inference moves hardswish, hardsigmoid,
// hardtanh (ReLU6) and clamp into MKLDNN as ops that treat the first
// numel() floats of the tensor's memory as the tensor. MKLDNN's blocked
// layouts (nChw8c, nChw16c) pad the channels to a multiple of 8 or 16, so
// for other channel counts the memory is longer and its tail is left as it
// was: a TorchScript export of torchvision's mobilenet_v3_large gave logits
// 7% off and other top-1 classes. The built-in architectures avoid it in
// their code (layers.hpp, activation_expr); this does the same to any
// frozen graph.
const std::set<c10::Symbol>& padding_sensitive_ops() {
  static const std::set<c10::Symbol> ops = [] {
    std::set<c10::Symbol> s;
    for (const char* name : {"hardswish", "hardsigmoid", "hardtanh", "relu6", "clamp"}) {
      s.insert(c10::Symbol::aten(name));
      s.insert(c10::Symbol::aten(std::string(name) + "_"));
    }
    return s;
  }();
  return ops;
}

// Whether MKLDNN computes a padding-sensitive op on `input` right: it comes
// from a convolution or linear layer with a multiple of 16 output channels
// (no padding).
bool safe_in_mkldnn(const torch::jit::Value* input) {
  const torch::jit::Node* producer = input->node();
  const c10::Symbol kind = producer->kind();
  if (kind != c10::aten::conv2d && kind != c10::aten::conv3d && kind != c10::aten::linear) return false;
  const auto weight = torch::jit::constant_as<at::Tensor>(producer->input(1));
  return weight && weight->dim() > 0 && weight->size(0) % 16 == 0;
}

// MKLDNN's adaptive_avg_pool2d fails at run time ("input size is not
// divisible by the output size") unless each output size divides the input
// size, which the graph cannot tell before it runs. Global pooling (output
// 1x1) always divides; other output sizes (small_cnn's 3x3 pooling of 5x5
// maps) must stay dense, else the whole optimised model had to be given up.
bool pools_to_other_than_1x1(const torch::jit::Node* node) {
  if (node->kind() != c10::aten::adaptive_avg_pool2d) return false;
  const auto size = torch::jit::constant_as<std::vector<int64_t>>(node->input(1));
  return !size || std::any_of(size->begin(), size->end(), [](int64_t v) { return v != 1; });
}

// Whether optimize_for_inference would move `node` into MKLDNN where MKLDNN
// gets it wrong or cannot run it. In-place padding-sensitive ops are never
// moved; after contiguous(), which is not an MKLDNN op, the tensor is dense
// and so is the op.
bool unsafe_in_mkldnn(const torch::jit::Node* node) {
  const bool pool = pools_to_other_than_1x1(node);
  if (!pool && padding_sensitive_ops().count(node->kind()) == 0) return false;
  if (node->input(0)->node()->kind() == c10::aten::contiguous) return false;
  if (pool) return true;
  const std::string kind = node->kind().toUnqualString();
  return kind.back() != '_' && !safe_in_mkldnn(node->input(0));
}

void collect_unsafe_in_mkldnn(torch::jit::Block* block, std::vector<torch::jit::Node*>& found) {
  for (torch::jit::Node* node : block->nodes()) {
    for (torch::jit::Block* sub : node->blocks()) collect_unsafe_in_mkldnn(sub, found);
    if (unsafe_in_mkldnn(node)) found.push_back(node);
  }
}

// Puts a contiguous() in front of every op of a frozen graph that MKLDNN
// could get wrong or cannot run, so that optimize_for_inference leaves it
// to ATen's own kernel. The in-place padding-sensitive forms are made
// functional first where that is safe, as the MKLDNN pass would do; those
// left in place are never moved into MKLDNN.
void keep_mkldnn_unsafe_ops_dense(const std::shared_ptr<torch::jit::Graph>& graph) {
  torch::jit::RemoveTensorMutation(graph, [](torch::jit::Node* node) {
    return padding_sensitive_ops().count(node->kind()) != 0;
  });
  std::vector<torch::jit::Node*> nodes;
  collect_unsafe_in_mkldnn(graph->block(), nodes);
  for (torch::jit::Node* node : nodes) {
    torch::jit::WithInsertPoint guard(node);
    node->replaceInput(0, graph->insert(c10::aten::contiguous, {node->input(0)}));
  }
}

}  // namespace

Model::Model(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Model::~Model() = default;

bool Model::per_image() const { return m_impl->per_image; }

const std::string& Model::description() const { return m_impl->description; }
const std::string& Model::weights_format() const { return m_impl->weights_format; }
int64_t Model::parameter_count() const { return m_impl->parameters; }

int hardware_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

void set_threads(int n) {
  at::set_num_threads(n > 0 ? n : hardware_threads());
}

std::string compute_description() {
  std::string blas = "BLAS: the system's libblas.so.3 (not OpenBLAS)";
  using Config = char* (*)();
  using Parallel = int (*)();
  if (const auto config = reinterpret_cast<Config>(::dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
    const auto parallel = reinterpret_cast<Parallel>(::dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
    const int mode = parallel ? parallel() : -1;
    blas = fmt::format("BLAS: {} ({})", util::trim(config()),
                       mode == 2   ? "on the OpenMP threads Torch uses"
                       : mode == 1 ? "on threads of its own, which take the cores from Torch's: install "
                                     "libopenblas0-openmp and build zoo again"
                                   : "one thread");
  }
  return fmt::format("{} Torch threads; {}", at::get_num_threads(), blas);
}

std::vector<std::string> entrypoint_names() {
  std::vector<std::string> names = {"torchscript", "tfjs"};
  for (const auto& name : builtin_names()) names.push_back(name);
  return names;
}

std::unique_ptr<Model> Model::load(const config::ModelConfig& config, const LoadOptions& options) {
  return load(config, options, OutputLayer{});
}

namespace {

// The config's module with its weights, before evaluation mode, layer
// capture and optimisation.
struct LoadedModule {
  torch::jit::Module module;
  std::string description;
  std::string weights_format;  // "" = no weights file
  bool layer_taken = false;    // the module already returns the layer asked for
  bool per_image = false;      // forward() runs the images of a batch one by one
};

LoadedModule load_module(const config::ModelConfig& config, const OutputLayer& output) {
  const std::string where = config.entrypoint_where.empty() ? config.source : config.entrypoint_where;
  const std::string entrypoint = canonical_entrypoint(config.entrypoint);
  if (entrypoint.empty()) {
    throw Error(ErrorKind::config, "{}: unknown entrypoint \"{}\"{} (known: {})", where, config.entrypoint,
                util::did_you_mean(config.entrypoint, entrypoint_names()), util::join(entrypoint_names(), ", "));
  }
  LoadedModule loaded;
  if (entrypoint == "torchscript") {
    if (config.weights.empty()) {
      throw Error(ErrorKind::config, "{}: entrypoint torchscript needs \"weights\": the TorchScript file", where);
    }
    if (!config.entrypoint_args.empty()) {
      throw Error(ErrorKind::config, "{}: entrypoint torchscript takes no entrypoint_args", where);
    }
    try {
      open_pytorch_zip(config.weights);  // validates the zip directory before LibTorch allocates for it
      loaded.module = torch::jit::load(config.weights);
    } catch (const c10::Error& e) {
      throw Error(ErrorKind::model, "{}: cannot load TorchScript file: {}", config.weights, e.msg());
    }
    loaded.description = fmt::format("torchscript {}", config.weights);
    loaded.weights_format = "torchscript";
  } else if (entrypoint == "tfjs") {
    if (config.weights.empty()) {
      throw Error(ErrorKind::config, "{}: entrypoint tfjs needs \"weights\": the model.json (its shards beside it)",
                  where);
    }
    if (!output.layer.empty() && output.layer[0] == '<') {
      throw Error(ErrorKind::config, "{}: \"{}\": a TensorFlow.js graph's layers are its nodes, named as they are "
                  "(the input of a node is the output of another)", output.source, output.layer);
    }
    TfjsModel tfjs = load_tfjs(config.weights, config.entrypoint_args, output.layer, output.source);
    loaded.module = tfjs.module;
    loaded.layer_taken = !output.layer.empty();
    loaded.per_image = tfjs.per_image;
    loaded.description = fmt::format("tfjs graph {}", config.weights);
    loaded.weights_format = "tfjs";
  } else {
    loaded.module = build_builtin(entrypoint, config.entrypoint_args, where);
    if (config.weights.empty()) {
      util::warn(fmt::format("{}: no weights given: {} runs with randomly initialised weights", config.source,
                             entrypoint));
      loaded.description = fmt::format("{} (built-in, random weights)", entrypoint);
    } else {
      StateDict dict = read_state_dict(config.weights, config.weights_key);
      load_state_dict(loaded.module, dict, config.strict, config.weights);
      loaded.description = fmt::format("{} (built-in) with {} {}", entrypoint, dict.format, config.weights);
      loaded.weights_format = dict.format;
    }
  }
  return loaded;
}

}  // namespace

std::unique_ptr<Model> Model::load(const config::ModelConfig& config, const LoadOptions& options,
                                   const OutputLayer& output) {
  LoadedModule loaded = load_module(config, output);
  auto impl = std::make_unique<Impl>();
  impl->module = std::move(loaded.module);
  impl->description = std::move(loaded.description);
  impl->weights_format = std::move(loaded.weights_format);
  impl->per_image = loaded.per_image;
  impl->module.eval();
  for (const auto& parameter : impl->module.parameters()) impl->parameters += parameter.numel();
  if (!output.layer.empty() && loaded.layer_taken) {
    impl->description += fmt::format(", node {}", output.layer);
  } else if (!output.layer.empty()) {
    try {
      impl->module = capture_layer(impl->module, output.layer, output.source);
    } catch (const c10::Error& e) {
      throw Error(ErrorKind::model, "{}: cannot capture layer \"{}\": {}", output.source, output.layer,
                  last_line(e.msg()));
    }
    impl->description += output.layer[0] == '<' ? fmt::format(", input of layer {}", output.layer.substr(1))
                                                : fmt::format(", output of layer {}", output.layer);
  }
  impl->precision = options.precision;
  if (options.precision == Precision::bf16) {
    // Measured on resnet18 (2 cores, AVX512-BF16): frozen bf16 with
    // channels_last input runs 96 img/s; optimize_for_inference on top of
    // bf16 is slower (70-88 img/s), so it is not applied here.
    try {
      impl->module.to(torch::kBFloat16);
      if (options.optimize) {
        impl->module = torch::jit::freeze(impl->module);
        run_weights_per_sample(impl->module.get_method("forward").graph());
        impl->frozen = true;
      }
      impl->description += ", bf16";
    } catch (const c10::Error& e) {
      throw Error(ErrorKind::model, "{}: cannot convert the model to bf16: {}", config.source, e.msg());
    }
  } else if (options.optimize) {
    try {
      impl->unoptimized = impl->module.clone();
      torch::jit::Module frozen = torch::jit::freeze(impl->module);
      // Convolutions, their activations, residual adds and pools go to
      // oneDNN directly (fused_conv.hpp); optimize_for_inference finds
      // none of them left and works on the rest.
      const FusedConvolutions fused = fuse_convolutions(frozen.get_method("forward").graph());
      keep_mkldnn_unsafe_ops_dense(frozen.get_method("forward").graph());
      // A frozen module has no "training" attribute left, so this does not
      // freeze it again: it fuses, moves ops into MKLDNN and so on.
      impl->module = torch::jit::optimize_for_inference(frozen);
      run_weights_per_sample(impl->module.get_method("forward").graph());
      impl->frozen = true;
      impl->description += ", optimized for inference";
      if (fused.convolutions > 0) {
        // "(20 convolutions on oneDNN, up to 13 by Winograd's algorithm,
        // activations fused)"; "(81 convolutions: 50 on oneDNN, 16
        // depthwise on zoo's own kernel (16 computing the convolution
        // before them, 16 the average pool after them), activations
        // fused)".
        const int on_onednn = fused.convolutions - fused.depthwise - fused.expansions;
        impl->description += fused.depthwise > 0
                                 ? fmt::format(" ({} convolutions: {} on oneDNN", fused.convolutions, on_onednn)
                                 : fmt::format(" ({} convolutions on oneDNN", fused.convolutions);
        if (fused.winograd > 0) {
          impl->description += fmt::format(", up to {} by Winograd's algorithm", fused.winograd);
        }
        if (fused.depthwise > 0) {
          impl->description += fmt::format(", {} depthwise on zoo's own kernel", fused.depthwise);
        }
        std::vector<std::string> also;
        if (fused.expansions > 0) {
          also.push_back(fmt::format("{} computing the convolution before them", fused.expansions));
        }
        if (fused.input_silu > 0) also.push_back(fmt::format("{} computing the SiLU before them", fused.input_silu));
        if (fused.pooled > 0) also.push_back(fmt::format("{} the average pool after them", fused.pooled));
        if (!also.empty()) impl->description += " (" + util::join(also, ", ") + ")";
        impl->description += ", activations fused)";
      }
    } catch (const c10::Error& e) {
      // Some scripted models cannot be frozen (e.g. they mutate attributes
      // in forward); they still run, only slower.
      util::warn(fmt::format("{}: cannot optimise for inference, running it as is: {}",
                             config.weights.empty() ? config.source : config.weights, e.msg()));
    }
  }
  return std::unique_ptr<Model>(new Model(std::move(impl)));
}

Output Model::forward(const float* input, int64_t n, int64_t c, int64_t h, int64_t w) {
  c10::InferenceMode guard;
  auto batch = torch::from_blob(const_cast<float*>(input), {n, c, h, w}, torch::kFloat32);
  if (m_impl->precision == Precision::bf16) {
    batch = batch.to(torch::kBFloat16).contiguous(at::MemoryFormat::ChannelsLast);
  }
  c10::IValue result;
  try {
    try {
      result = m_impl->module.forward({batch});
    } catch (const std::exception& e) {
      // The interpreter rethrows op errors as std::runtime_error.
      if (!m_impl->unoptimized) throw;
      util::warn(fmt::format("the inference-optimised model failed ({}); running it unoptimised",
                             last_line(e.what())));
      m_impl->module = *m_impl->unoptimized;
      m_impl->unoptimized.reset();
      m_impl->frozen = false;
      m_impl->description += " (optimisation undone)";
      result = m_impl->module.forward({batch});
    }
    m_impl->unoptimized.reset();
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::model, "model failed on a batch of shape [{}, {}, {}, {}]: {}", n, c, h, w,
                last_line(e.msg()));
  } catch (const std::exception& e) {
    throw Error(ErrorKind::model, "model failed on a batch of shape [{}, {}, {}, {}]: {}", n, c, h, w,
                last_line(e.what()));
  }
  at::Tensor tensor;
  if (result.isTensor()) {
    tensor = result.toTensor();
  } else if (result.isTuple() && !result.toTupleRef().elements().empty() &&
             result.toTupleRef().elements()[0].isTensor()) {
    tensor = result.toTupleRef().elements()[0].toTensor();
  } else if (result.isList() && !result.toListRef().empty() && result.toListRef()[0].isTensor()) {
    tensor = result.toListRef()[0].toTensor();
  } else if (result.isGenericDict() && result.toGenericDict().contains("out") &&
             result.toGenericDict().at("out").isTensor()) {
    // torchvision's segmentation models: {"out": logits[, "aux": ...]}.
    tensor = result.toGenericDict().at("out").toTensor();
  } else {
    throw Error(ErrorKind::model, "model output is a {}, expected a tensor", result.tagKind());
  }
  if (tensor.is_mkldnn()) tensor = tensor.to_dense();
  tensor = tensor.to(torch::kFloat32).contiguous();
  Output out;
  out.shape.assign(tensor.sizes().begin(), tensor.sizes().end());
  out.values.assign(tensor.data_ptr<float>(), tensor.data_ptr<float>() + tensor.numel());
  return out;
}

namespace {

std::vector<int64_t> shape_of(const c10::IValue& value) {
  if (!value.isTensor()) return {};
  const auto sizes = value.toTensor().sizes();
  return {sizes.begin(), sizes.end()};
}

// A short description of a non-tensor value: "tuple of [1, 3], [1, 5]".
std::string describe_value(const c10::IValue& value) {
  if (value.isNone()) return "";
  std::vector<c10::IValue> items;
  std::string kind;
  if (value.isTuple()) {
    kind = "tuple";
    for (const auto& item : value.toTupleRef().elements()) items.push_back(item);
  } else if (value.isList()) {
    kind = "list";
    for (const auto& item : value.toListRef()) items.push_back(item);
  } else {
    return value.tagKind();
  }
  std::vector<std::string> parts;
  for (const auto& item : items) {
    parts.push_back(item.isTensor() ? fmt::format("[{}]", fmt::join(shape_of(item), ", ")) : item.tagKind());
  }
  return fmt::format("{} of {}", kind, util::join(parts, ", "));
}

}  // namespace

std::string Model::input_name() const {
  const auto& arguments = m_impl->module.get_method("forward").function().getSchema().arguments();
  if (arguments.size() < 2) return "input";
  std::string name = arguments[1].name();
  // Graph value names carry ".N" suffixes ("x.1").
  const size_t dot = name.rfind('.');
  if (dot != std::string::npos && dot + 1 < name.size() &&
      name.find_first_not_of("0123456789", dot + 1) == std::string::npos) {
    name = name.substr(0, dot);
  }
  return name.empty() ? "input" : name;
}

std::vector<LayerInfo> Model::layers(int64_t c, int64_t h, int64_t w) {
  if (m_impl->frozen) {
    throw Error(ErrorKind::usage, "the layers of a model optimised for inference are gone; load it with optimize off");
  }
  std::map<std::string, CallShapes> calls;
  try {
    auto input = torch::zeros({1, c, h, w});
    if (m_impl->precision == Precision::bf16) input = input.to(torch::kBFloat16);
    calls = trace_calls(m_impl->module, input);
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::model, "the model failed on a dry input of shape [1, {}, {}, {}]: {}", c, h, w,
                last_line(e.msg()));
  } catch (const std::exception& e) {
    throw Error(ErrorKind::model, "the model failed on a dry input of shape [1, {}, {}, {}]: {}", c, h, w,
                last_line(e.what()));
  }
  std::vector<LayerInfo> layers;
  for (const auto& sub : m_impl->module.named_modules()) {
    if (sub.name.empty()) continue;
    LayerInfo info;
    info.name = sub.name;
    info.kind = module_kind(sub.value);
    for (const auto& parameter : sub.value.parameters()) info.parameters += parameter.numel();
    const auto found = calls.find(sub.name);
    if (found == calls.end()) {
      info.note = "not called by forward()";
    } else {
      info.input_shape = shape_of(found->second.input);
      info.output_shape = shape_of(found->second.output);
      info.note = found->second.note;
      if (info.note.empty() && !found->second.output.isTensor()) info.note = describe_value(found->second.output);
    }
    layers.push_back(std::move(info));
  }
  return layers;
}

}  // namespace zoo::models
