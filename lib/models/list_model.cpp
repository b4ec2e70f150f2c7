// ListModel: TorchScript models that take a list of variable-size images
// (torchvision's detection models), and the loading of torchvision's C++
// operators they call.
#include "models/list_model.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "models/pickle_reader.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace zoo::models {
namespace {

// Where Debian's python3-torchvision (and a pip install) put the extension.
// It links libc10 and libtorch_cpu only, no Python, so a C++ program can
// load it: its static initialisers register the operators.
std::vector<std::string> torchvision_ops_candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("ZOO_TORCHVISION_OPS"); env && *env) {
    out.emplace_back(env);
    return out;
  }
  for (const char* dir : {"/usr/lib/python3/dist-packages/torchvision", "/usr/local/lib/python3/dist-packages/torchvision"}) {
    std::error_code ec;
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("_C", 0) == 0 && name.size() > 3 && name.substr(name.size() - 3) == ".so") {
        found.push_back(entry.path().string());
      }
    }
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

bool has_torchvision_nms() {
  return c10::Dispatcher::singleton().findSchema({"torchvision::nms", ""}).has_value();
}

// The informative last line of a TorchScript error.
std::string last_line(const std::string& message) {
  const size_t end = message.find_last_not_of(" \n");
  if (end == std::string::npos) return message;
  const size_t start = message.rfind('\n', end);
  const size_t from = start == std::string::npos ? 0 : start + 1;
  return message.substr(from, end + 1 - from);
}

Output to_output(const at::Tensor& value) {
  at::Tensor tensor = value.to(torch::kFloat32).contiguous();
  Output out;
  out.shape.assign(tensor.sizes().begin(), tensor.sizes().end());
  out.values.assign(tensor.data_ptr<float>(), tensor.data_ptr<float>() + tensor.numel());
  return out;
}

NamedOutputs to_named_outputs(const c10::IValue& value) {
  if (!value.isGenericDict()) {
    throw Error(ErrorKind::model, "model output: expected a dict of tensors per image, got a {}", value.tagKind());
  }
  NamedOutputs out;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString()) continue;
    if (!entry.value().isTensor()) {
      throw Error(ErrorKind::model, "model output \"{}\" is a {}, expected a tensor", entry.key().toStringRef(),
                  entry.value().tagKind());
    }
    out[entry.key().toStringRef()] = to_output(entry.value().toTensor());
  }
  return out;
}

// Passes the model's warnings to zoo's log, once each, except the one every
// scripted torchvision detector gives on every call ("RCNN always returns a
// (Losses, Detections) tuple in scripting"), which says nothing to a user.
// LibTorch's own handler writes them through glog, with a banner.
class ModelWarnings : public c10::WarningHandler {
 public:
  void process(const c10::SourceLocation&, const std::string& msg, const bool) override {
    if (msg.find("tuple in scripting") != std::string::npos) return;
    if (m_seen.insert(msg).second) util::warn(fmt::format("model: {}", msg));
  }

 private:
  std::set<std::string> m_seen;
};

}  // namespace

const std::string& load_torchvision_ops() {
  static std::once_flag once;
  static std::string loaded;
  static std::string failure;
  std::call_once(once, [] {
    if (has_torchvision_nms()) {
      loaded = "(already registered)";
      return;
    }
    std::vector<std::string> tried;
    for (const auto& path : torchvision_ops_candidates()) {
      // RTLD_GLOBAL: the operators' kernels stay resolvable for the whole process.
      if (void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
        (void)handle;  // kept loaded for the life of the process
        if (has_torchvision_nms()) {
          loaded = path;
          return;
        }
        tried.push_back(fmt::format("{} (loaded, but it registered no torchvision::nms)", path));
      } else {
        const char* why = dlerror();
        tried.push_back(fmt::format("{} ({})", path, why ? why : "cannot load"));
      }
    }
    failure = tried.empty()
                  ? "no torchvision extension found in /usr/lib/python3/dist-packages/torchvision or "
                    "/usr/local/lib/python3/dist-packages/torchvision"
                  : fmt::format("tried {}", util::join(tried, "; "));
  });
  if (loaded.empty()) {
    throw Error(ErrorKind::model,
                "input: list models call torchvision's C++ operators (torchvision::nms, roi_align), which come with "
                "torchvision: install Debian's python3-torchvision (matching libtorch), or set ZOO_TORCHVISION_OPS "
                "to its _C*.so: {}",
                failure);
  }
  return loaded;
}

struct ListModel::Impl {
  torch::jit::Module module;
  ModelWarnings warnings;
  std::string description;
  int64_t parameters = 0;
};

ListModel::ListModel(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
ListModel::~ListModel() = default;

const std::string& ListModel::description() const { return m_impl->description; }
int64_t ListModel::parameter_count() const { return m_impl->parameters; }

std::unique_ptr<ListModel> ListModel::load(const config::ModelConfig& config) {
  const std::string where = config.entrypoint_where.empty() ? config.source : config.entrypoint_where;
  if (config.entrypoint != "torchscript") {
    throw Error(ErrorKind::config,
                "{}: input: list needs entrypoint torchscript (a model scripted with torch.jit.script), not \"{}\"",
                where, config.entrypoint);
  }
  if (config.weights.empty()) {
    throw Error(ErrorKind::config, "{}: entrypoint torchscript needs \"weights\": the TorchScript file", where);
  }
  const std::string& ops = load_torchvision_ops();
  auto impl = std::make_unique<Impl>();
  try {
    open_pytorch_zip(config.weights);  // validates the zip directory before LibTorch allocates for it
    impl->module = torch::jit::load(config.weights);
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::model, "{}: cannot load TorchScript file: {}", config.weights, last_line(e.msg()));
  }
  impl->module.eval();
  for (const auto& parameter : impl->module.parameters()) impl->parameters += parameter.numel();
  impl->description = fmt::format("torchscript {} (input: list, one image per call; torchvision ops from {})",
                                  config.weights, ops);
  return std::unique_ptr<ListModel>(new ListModel(std::move(impl)));
}

std::vector<NamedOutputs> ListModel::forward(const std::vector<ImageView>& images) {
  c10::InferenceMode guard;
  c10::Warning::WarningHandlerGuard warnings(&m_impl->warnings);
  c10::List<at::Tensor> list;
  std::string shapes;
  for (const auto& image : images) {
    list.push_back(torch::from_blob(const_cast<float*>(image.data), {image.channels, image.height, image.width},
                                    torch::kFloat32));
    shapes += fmt::format("{}[{}, {}, {}]", shapes.empty() ? "" : ", ", image.channels, image.height, image.width);
  }
  c10::IValue result;
  try {
    result = m_impl->module.forward({list});
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::model, "model failed on images of shape {}: {}", shapes, last_line(e.msg()));
  } catch (const std::exception& e) {
    throw Error(ErrorKind::model, "model failed on images of shape {}: {}", shapes, last_line(e.what()));
  }
  // Scripted torchvision detectors return (losses, detections).
  if (result.isTuple()) {
    const auto& elements = result.toTupleRef().elements();
    if (elements.size() == 2 && elements[1].isList()) {
      result = elements[1];
    } else {
      throw Error(ErrorKind::model, "model output is a tuple of {}, expected (losses, detections)", elements.size());
    }
  }
  if (!result.isList()) {
    throw Error(ErrorKind::model, "model output is a {}, expected a list of dicts (one per image)", result.tagKind());
  }
  std::vector<NamedOutputs> out;
  for (const auto& item : result.toListRef()) out.push_back(to_named_outputs(item));
  if (out.size() != images.size()) {
    throw Error(ErrorKind::model, "the model returned {} results for {} images", out.size(), images.size());
  }
  return out;
}

}  // namespace zoo::models
