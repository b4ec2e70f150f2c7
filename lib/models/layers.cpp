// The layer pieces built-in architectures are assembled from.
#include "models/layers.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace zoo::models {
namespace {

// The `kind` given to new_module: "__torch__.zoo.Conv2d_12" -> "Conv2d".
std::string kind_of(const Module& m) {
  const std::string name = m.type()->name()->qualifiedName();
  const std::string prefix = "__torch__.zoo.";
  if (name.rfind(prefix, 0) != 0) return "";
  const size_t end = name.rfind('_');
  return end == std::string::npos || end < prefix.size() ? "" : name.substr(prefix.size(), end - prefix.size());
}

}  // namespace

std::string float_literal(double value) {
  std::string text = fmt::format("{}", value);
  if (text.find_first_of(".en") == std::string::npos) text += ".0";
  return text;
}

Module new_module(const std::string& kind) {
  static std::atomic<int> counter{0};
  Module module(fmt::format("__torch__.zoo.{}_{}", kind, counter++));
  module.register_attribute("training", c10::BoolType::get(), true);
  return module;
}

Module conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, int64_t groups, bool bias) {
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

Module batch_norm(int64_t channels, double eps, double momentum) {
  Module m = new_module("BatchNorm2d");
  m.register_parameter("weight", torch::ones({channels}), false);
  m.register_parameter("bias", torch::zeros({channels}), false);
  m.register_buffer("running_mean", torch::zeros({channels}));
  m.register_buffer("running_var", torch::ones({channels}));
  m.register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
  // Eval uses the running statistics; training updates them, as
  // torch.nn.BatchNorm2d does.
  m.define(fmt::format(R"(
def forward(self, x):
    if self.training:
        self.num_batches_tracked.add_(1)
    return torch.batch_norm(x, self.weight, self.bias, self.running_mean, self.running_var, self.training, {}, {}, False)
)",
                       float_literal(momentum), float_literal(eps)));
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

Module layer_norm(int64_t dim, double eps) {
  Module m = new_module("LayerNorm");
  m.register_parameter("weight", torch::ones({dim}), false);
  m.register_parameter("bias", torch::zeros({dim}), false);
  m.define(fmt::format(R"(
def forward(self, x):
    return torch.layer_norm(x, [{}], self.weight, self.bias, {})
)",
                       dim, float_literal(eps)));
  return m;
}

Module sequential(std::vector<Module> children) {
  std::vector<std::pair<std::string, Module>> named;
  for (size_t i = 0; i < children.size(); ++i) named.emplace_back(std::to_string(i), std::move(children[i]));
  return sequential(std::move(named));
}

Module sequential(std::vector<std::pair<std::string, Module>> children) {
  Module m = new_module("Sequential");
  std::string forward = "\ndef forward(self, x):\n";
  for (const auto& [name, child] : children) {
    m.register_module(name, child);
    forward += fmt::format("    x = getattr(self, \"{}\").forward(x)\n", name);
  }
  m.define(forward + "    return x\n");
  return m;
}

std::string activation_expr(const std::string& kind, const std::string& x, int64_t channels) {
  if (kind == "ReLU") return fmt::format("torch.relu({})", x);
  // x * sigmoid(x): sigmoid and mul are MKLDNN ops, silu is not, so
  // optimize_for_inference keeps the whole block in MKLDNN instead of
  // converting to dense and back around every SiLU (efficientnet_b0 at
  // batch 16: 74 to_dense and 74 to_mkldnn per batch, 45% of its time).
  if (kind == "SiLU") return fmt::format("torch.mul({0}, torch.sigmoid({0}))", x);
  if (kind == "GELU") return fmt::format("torch.gelu({})", x);
  if (kind == "Sigmoid") return fmt::format("torch.sigmoid({})", x);
  // MKLDNN's blocked layouts pad channels to a multiple of 8 or 16 (AVX2,
  // AVX-512), and 1.13 applies these ops to padded tensors wrongly (see the
  // header). contiguous() is not an MKLDNN op, so the frozen graph turns
  // the tensor dense first (where contiguous() is a no-op) and the op runs
  // as aten's own kernel, with the same values in every mode.
  const bool padded = channels <= 0 || channels % 16 != 0;
  const std::string input = padded ? x + ".contiguous()" : x;
  if (kind == "ReLU6") return fmt::format("torch.hardtanh({}, 0.0, 6.0)", input);
  if (kind == "Hardswish") return fmt::format("torch.hardswish({})", input);
  if (kind == "Hardsigmoid") return fmt::format("torch.hardsigmoid({})", input);
  throw std::invalid_argument("unknown activation " + kind);
}

Module stateless(const std::string& kind, const std::string& expr) {
  Module m = new_module(kind);
  m.define("\ndef forward(self, x):\n    return " + expr + "\n");
  return m;
}

Module global_avg_pool() { return stateless("AdaptiveAvgPool2d", "torch.adaptive_avg_pool2d(x, [1, 1])"); }

Module activation(const std::string& kind, int64_t channels) {
  return stateless(kind, activation_expr(kind, "x", channels));
}

void define_classifier_forward(Module& m) {
  m.define(R"(
def forward(self, x):
    x = self.features.forward(x)
    x = self.avgpool.forward(x)
    x = torch.flatten(x, 1)
    return self.classifier.forward(x)
)");
}

Module dropout(double p) {
  return stateless("Dropout", fmt::format("torch.dropout(x, {}, self.training)", float_literal(p)));
}

Module stochastic_depth(double p) {
  Module m = new_module("StochasticDepth");
  if (p == 0.0) {
    m.define("\ndef forward(self, x):\n    return x\n");
    return m;
  }
  // torchvision.ops.stochastic_depth, mode "row": one Bernoulli(1 - p)
  // draw per sample, scaled by 1 / (1 - p).
  const double survival = 1.0 - p;
  m.define(fmt::format(R"(
def forward(self, x):
    if not self.training:
        return x
    size = [x.size(0)] + [1] * (x.dim() - 1)
    noise = x.new_empty(size).bernoulli_({s})
    {scale}
    return x * noise
)",
                       fmt::arg("s", float_literal(survival)),
                       fmt::arg("scale", survival > 0.0 ? "noise.div_(" + float_literal(survival) + ")" : "pass")));
  return m;
}

Module conv_norm_activation(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups,
                            const std::string& activation_kind, double eps, double momentum) {
  std::vector<Module> layers = {conv2d(in, out, kernel, stride, (kernel - 1) / 2, groups),
                                batch_norm(out, eps, momentum)};
  if (!activation_kind.empty()) layers.push_back(activation(activation_kind, out));
  return sequential(std::move(layers));
}

Module squeeze_excitation(int64_t channels, int64_t squeeze, const std::string& activation_kind,
                          const std::string& scale_kind) {
  Module m = new_module("SqueezeExcitation");
  m.register_module("avgpool", global_avg_pool());
  m.register_module("fc1", conv2d(channels, squeeze, 1, 1, 0, 1, true));
  m.register_module("fc2", conv2d(squeeze, channels, 1, 1, 0, 1, true));
  m.register_module("activation", activation(activation_kind, squeeze));
  m.register_module("scale_activation", activation(scale_kind, channels));
  m.define(R"(
def forward(self, x):
    scale = self.avgpool.forward(x)
    scale = self.fc1.forward(scale)
    scale = self.activation.forward(scale)
    scale = self.fc2.forward(scale)
    scale = self.scale_activation.forward(scale)
    return scale * x
)");
  return m;
}

int64_t make_divisible(double v, int64_t divisor) {
  int64_t rounded = std::max(divisor, int64_t(v + double(divisor) / 2) / divisor * divisor);
  if (double(rounded) < 0.9 * v) rounded += divisor;
  return rounded;
}

void for_each_module(const Module& root, const std::string& kind, const std::function<void(Module& m)>& fn) {
  for (Module m : root.modules()) {
    if (kind_of(m) == kind) fn(m);
  }
}

void trunc_normal_(at::Tensor tensor, double std) {
  // torch.nn.init.trunc_normal_(mean=0, a=-2, b=2): inverse-CDF sampling.
  torch::NoGradGuard no_grad;
  auto cdf = [](double x) { return (1.0 + std::erf(x / std::sqrt(2.0))) / 2.0; };
  const double lo = cdf(-2.0 / std), hi = cdf(2.0 / std);
  tensor.uniform_(2 * lo - 1, 2 * hi - 1);
  tensor.erfinv_();
  tensor.mul_(std * std::sqrt(2.0));
  tensor.clamp_(-2.0, 2.0);
}

}  // namespace zoo::models
