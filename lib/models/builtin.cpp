// Built-in architectures, assembled as TorchScript modules: every layer is a
// torch::jit::Module with torchvision's attribute names and a forward
// defined from TorchScript source. A state_dict saved by torchvision loads
// by name, and the result freezes, optimises and saves like any scripted
// model.
#include "models/builtin.hpp"

#include <atomic>
#include <cmath>
#include <functional>
#include <map>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/strings.hpp"

namespace zoo::models {
namespace {

using torch::jit::Module;

// Every module gets its own class type: forward() bakes in its
// hyper-parameters (stride, padding, ...), which differ between instances.
Module new_module(const std::string& kind) {
  static std::atomic<int> counter{0};
  Module module(fmt::format("__torch__.zoo.{}_{}", kind, counter++));
  module.register_attribute("training", c10::BoolType::get(), true);
  return module;
}

Module conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, int64_t groups = 1,
              bool bias = false) {
  Module m = new_module("Conv2d");
  auto weight = torch::empty({out, in / groups, kernel, kernel});
  // torchvision's ResNet init: kaiming_normal_(mode="fan_out", nonlinearity="relu").
  const double fan_out = double(out) * kernel * kernel;
  weight.normal_(0.0, std::sqrt(2.0 / fan_out));
  m.register_parameter("weight", weight, false);
  if (bias) m.register_parameter("bias", torch::zeros({out}), false);
  m.define(fmt::format(R"(
def forward(self, x):
    return torch.conv2d(x, self.weight, {}, [{s}, {s}], [{p}, {p}], [1, 1], {g})
)",
                       bias ? "self.bias" : "None", fmt::arg("s", stride), fmt::arg("p", padding),
                       fmt::arg("g", groups)));
  return m;
}

Module batch_norm(int64_t channels) {
  Module m = new_module("BatchNorm2d");
  m.register_parameter("weight", torch::ones({channels}), false);
  m.register_parameter("bias", torch::zeros({channels}), false);
  m.register_buffer("running_mean", torch::zeros({channels}));
  m.register_buffer("running_var", torch::ones({channels}));
  m.register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
  // Eval uses the running statistics; training updates them (momentum 0.1),
  // as torch.nn.BatchNorm2d does.
  m.define(R"(
def forward(self, x):
    if self.training:
        self.num_batches_tracked.add_(1)
    return torch.batch_norm(x, self.weight, self.bias, self.running_mean, self.running_var, self.training, 0.1, 1e-05, False)
)");
  return m;
}

Module linear(int64_t in, int64_t out) {
  Module m = new_module("Linear");
  // torch.nn.Linear's default init: U(-1/sqrt(in), 1/sqrt(in)) for both.
  const double bound = 1.0 / std::sqrt(double(in));
  m.register_parameter("weight", torch::empty({out, in}).uniform_(-bound, bound), false);
  m.register_parameter("bias", torch::empty({out}).uniform_(-bound, bound), false);
  m.define(R"(
def forward(self, x):
    return torch.linear(x, self.weight, self.bias)
)");
  return m;
}

// torchvision.models.resnet.BasicBlock / Bottleneck.
Module resnet_block(bool bottleneck, int64_t in, int64_t planes, int64_t stride, int64_t groups, int64_t base_width) {
  Module m = new_module(bottleneck ? "Bottleneck" : "BasicBlock");
  const int64_t expansion = bottleneck ? 4 : 1;
  const int64_t out = planes * expansion;
  std::string body;
  if (bottleneck) {
    const int64_t width = int64_t(planes * (base_width / 64.0)) * groups;
    m.register_module("conv1", conv2d(in, width, 1, 1, 0));
    m.register_module("bn1", batch_norm(width));
    m.register_module("conv2", conv2d(width, width, 3, stride, 1, groups));
    m.register_module("bn2", batch_norm(width));
    m.register_module("conv3", conv2d(width, out, 1, 1, 0));
    m.register_module("bn3", batch_norm(out));
    body = R"(
    out = torch.relu(self.bn1.forward(self.conv1.forward(x)))
    out = torch.relu(self.bn2.forward(self.conv2.forward(out)))
    out = self.bn3.forward(self.conv3.forward(out))
)";
  } else {
    m.register_module("conv1", conv2d(in, planes, 3, stride, 1));
    m.register_module("bn1", batch_norm(planes));
    m.register_module("conv2", conv2d(planes, planes, 3, 1, 1));
    m.register_module("bn2", batch_norm(planes));
    body = R"(
    out = torch.relu(self.bn1.forward(self.conv1.forward(x)))
    out = self.bn2.forward(self.conv2.forward(out))
)";
  }
  std::string identity = "x";
  if (stride != 1 || in != out) {
    Module downsample = new_module("Sequential");
    downsample.register_module("0", conv2d(in, out, 1, stride, 0));
    downsample.register_module("1", batch_norm(out));
    downsample.define(R"(
def forward(self, x):
    return getattr(self, "1").forward(getattr(self, "0").forward(x))
)");
    m.register_module("downsample", downsample);
    identity = "self.downsample.forward(x)";
  }
  m.define("\ndef forward(self, x):" + body + "    return torch.relu(out + " + identity + ")\n");
  return m;
}

struct ResnetSpec {
  bool bottleneck;
  std::array<int, 4> layers;
  int64_t groups = 1;
  int64_t width_per_group = 64;
};

// An argument of a built-in entrypoint, with its default.
struct ArgSpec {
  std::string name;
  nlohmann::json default_value;
};

struct Builtin {
  std::vector<ArgSpec> args;
  std::function<Module(const nlohmann::json& args)> build;
};

Module build_resnet(const ResnetSpec& spec, const nlohmann::json& args) {
  const int64_t num_classes = args.at("num_classes").get<int64_t>();
  Module m = new_module("ResNet");
  m.register_module("conv1", conv2d(3, 64, 7, 2, 3));
  m.register_module("bn1", batch_norm(64));
  int64_t in = 64;
  const int64_t expansion = spec.bottleneck ? 4 : 1;
  for (int layer = 0; layer < 4; ++layer) {
    const int64_t planes = int64_t(64) << layer;
    Module seq = new_module("Sequential");
    std::string forward = "\ndef forward(self, x):\n";
    for (int b = 0; b < spec.layers[layer]; ++b) {
      const int64_t stride = (b == 0 && layer > 0) ? 2 : 1;
      seq.register_module(std::to_string(b),
                          resnet_block(spec.bottleneck, in, planes, stride, spec.groups, spec.width_per_group));
      in = planes * expansion;
      forward += fmt::format("    x = getattr(self, \"{}\").forward(x)\n", b);
    }
    seq.define(forward + "    return x\n");
    m.register_module(fmt::format("layer{}", layer + 1), seq);
  }
  m.register_module("fc", linear(512 * expansion, num_classes));
  if (args.at("zero_init_residual").get<bool>()) {
    // As torchvision: the last BN of each block starts at zero.
    for (const auto& sub : m.named_modules()) {
      if (util::ends_with(sub.name, spec.bottleneck ? ".bn3" : ".bn2")) {
        torch::NoGradGuard no_grad;
        sub.value.attr("weight").toTensor().zero_();
      }
    }
  }
  m.define(R"(
def forward(self, x):
    x = torch.relu(self.bn1.forward(self.conv1.forward(x)))
    x = torch.max_pool2d(x, [3, 3], [2, 2], [1, 1], [1, 1], False)
    x = self.layer1.forward(x)
    x = self.layer2.forward(x)
    x = self.layer3.forward(x)
    x = self.layer4.forward(x)
    x = torch.adaptive_avg_pool2d(x, [1, 1])
    x = torch.flatten(x, 1)
    return self.fc.forward(x)
)");
  return m;
}

const std::map<std::string, Builtin>& registry() {
  static const std::map<std::string, Builtin> table = [] {
    std::map<std::string, Builtin> t;
    const std::vector<ArgSpec> resnet_args = {{"num_classes", 1000}, {"zero_init_residual", false}};
    auto add_resnet = [&](const std::string& name, ResnetSpec spec) {
      t[name] = Builtin{resnet_args, [spec](const nlohmann::json& args) { return build_resnet(spec, args); }};
    };
    add_resnet("resnet18", {false, {2, 2, 2, 2}});
    add_resnet("resnet34", {false, {3, 4, 6, 3}});
    add_resnet("resnet50", {true, {3, 4, 6, 3}});
    add_resnet("resnet101", {true, {3, 4, 23, 3}});
    add_resnet("resnet152", {true, {3, 8, 36, 3}});
    add_resnet("resnext50_32x4d", {true, {3, 4, 6, 3}, 32, 4});
    add_resnet("wide_resnet50_2", {true, {3, 4, 6, 3}, 1, 128});
    return t;
  }();
  return table;
}

}  // namespace

std::vector<std::string> builtin_names() {
  std::vector<std::string> names;
  for (const auto& [name, _] : registry()) names.push_back(name);
  return names;
}

std::string canonical_entrypoint(const std::string& name) {
  if (name == "torchscript") return name;
  std::string base = name;
  // torchvision spellings: torchvision.models.resnet18,
  // torchvision.models.resnet.resnet18.
  const std::string prefix = "torchvision.models.";
  if (base.rfind(prefix, 0) == 0) base = base.substr(base.rfind('.') + 1);
  return registry().count(base) ? base : "";
}

Module build_builtin(const std::string& name, const nlohmann::json& given, const std::string& where) {
  const Builtin& builtin = registry().at(name);
  nlohmann::json args = nlohmann::json::object();
  std::vector<std::string> known;
  for (const auto& spec : builtin.args) {
    args[spec.name] = spec.default_value;
    known.push_back(spec.name);
  }
  for (const auto& [key, value] : given.items()) {
    auto spec = std::find_if(builtin.args.begin(), builtin.args.end(), [&](const ArgSpec& s) { return s.name == key; });
    if (spec == builtin.args.end()) {
      throw Error(ErrorKind::config, "{}: entrypoint_args: {} has no argument \"{}\" (it takes: {}){}", where, name,
                  key, util::join(known, ", "), util::did_you_mean(key, known));
    }
    if (spec->default_value.is_number_integer() && (!value.is_number_integer() || value.get<int64_t>() <= 0)) {
      throw Error(ErrorKind::config, "{}: entrypoint_args.{}: expected a positive integer, got {}", where, key,
                  value.dump());
    }
    if (spec->default_value.is_boolean() && !value.is_boolean()) {
      throw Error(ErrorKind::config, "{}: entrypoint_args.{}: expected true or false, got {}", where, key, value.dump());
    }
    args[key] = value;
  }
  // Fixed seed: the same config always starts from the same weights.
  torch::manual_seed(0);
  return builtin.build(args);
}

}  // namespace zoo::models
