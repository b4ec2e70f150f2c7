// Internal to lib/models/: the pieces built-in architectures are assembled
// from. Each layer is a torch::jit::Module with torchvision's attribute
// names and a forward() defined from TorchScript source, so a state_dict
// saved by torchvision loads by name and the model freezes, optimises and
// saves like any scripted one. Submodules are called as
// `self.name.forward(x)` (define() does not resolve `self.name(x)`), and
// numbered children as `getattr(self, "0").forward(x)`.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/script.h>

namespace zoo::models {

using torch::jit::Module;

// A new module with its own class type (forward() bakes in hyper-parameters
// such as strides, which differ between instances) and a `training` flag.
// `kind` names it in printed graphs: "Conv2d", "BatchNorm2d", ...
Module new_module(const std::string& kind);

// A TorchScript float literal for `value` ("1.0" rather than "1", which
// would be an int), for hyper-parameters baked into forward() source.
std::string float_literal(double value);

// torch.nn.Conv2d (square kernel). Weights: kaiming_normal_(fan_out, relu),
// as torchvision's ResNet/MobileNet init; bias zero.
Module conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, int64_t groups = 1,
              bool bias = false);

// torch.nn.BatchNorm2d(channels, eps, momentum): weight 1, bias 0,
// running stats 0/1, num_batches_tracked; batch statistics in training.
Module batch_norm(int64_t channels, double eps = 1e-5, double momentum = 0.1);

// torch.nn.Linear with its default init U(-1/sqrt(in), 1/sqrt(in)).
Module linear(int64_t in, int64_t out);

// torch.nn.LayerNorm(dim, eps) over the last dimension: weight 1, bias 0.
Module layer_norm(int64_t dim, double eps);

// A container whose children are "0", "1", ... called in order.
Module sequential(std::vector<Module> children);

// A container whose children have the given names, called in order (an
// nn.Sequential built from an OrderedDict).
Module sequential(std::vector<std::pair<std::string, Module>> children);

// A parameter-free layer of kind `kind` whose forward(x) returns the
// TorchScript expression `expr` of x: a submodule only so that it has
// torchvision's name (zoo embed --layer avgpool, zoo inspect). Freezing
// inlines it away.
Module stateless(const std::string& kind, const std::string& expr);

// torch.nn.AdaptiveAvgPool2d(1).
Module global_avg_pool();

// The TorchScript expression applying a parameter-free activation to the
// variable `x`, which has `channels` channels (dim 1; 0 if unknown):
// "ReLU", "ReLU6", "Hardswish", "Hardsigmoid", "SiLU", "GELU" (exact erf
// form) or "Sigmoid". Throws std::invalid_argument for any other kind.
// SiLU overwrites `x` (torchvision's inplace=True): give it a tensor that
// nothing else reads.
// PyTorch 1.13's optimize_for_inference computes hardtanh (ReLU6),
// hardswish and hardsigmoid wrongly on MKLDNN tensors whose blocked layout
// pads the channels (it leaves the input unchanged), so on channel counts
// that are not a multiple of 16 (or unknown) the expression keeps them out
// of MKLDNN. TorchScript exports of torchvision's MobileNetV3 hit that bug.
std::string activation_expr(const std::string& kind, const std::string& x, int64_t channels);

// The activation `kind` (see activation_expr) as a module, for places where
// torchvision has one and it counts in a Sequential's numbering.
Module activation(const std::string& kind, int64_t channels);

// Defines m's forward() as torchvision's classifiers have it: features,
// avgpool, flatten, classifier (submodules that m must have).
void define_classifier_forward(Module& m);

// torch.nn.Dropout(p): zeroes with probability p in training, identity in
// eval.
Module dropout(double p);

// torchvision.ops.StochasticDepth(p, "row"): drops whole samples of a
// residual branch with probability p in training, identity in eval.
Module stochastic_depth(double p);

// torchvision.ops.Conv2dNormActivation: a Sequential of a bias-free conv
// (padding (kernel - 1) / 2), BatchNorm2d(eps, momentum) and, unless
// `activation_kind` is empty, the activation.
Module conv_norm_activation(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups,
                            const std::string& activation_kind, double eps = 1e-5, double momentum = 0.1);

// torchvision.ops.SqueezeExcitation(channels, squeeze): avgpool (global),
// fc1 (1x1 conv), activation (`activation_kind`), fc2, scale_activation
// (`scale_kind`), times the input. fc1/fc2 have biases (zero) and
// conv2d's init.
Module squeeze_excitation(int64_t channels, int64_t squeeze, const std::string& activation_kind,
                          const std::string& scale_kind);

// torchvision.models._utils._make_divisible(v, divisor): the nearest
// multiple of `divisor` (at least `divisor`, never below 90% of v).
int64_t make_divisible(double v, int64_t divisor);

// Calls `fn` on `root` and each of its submodules (depth first, in
// registration order, as torch.nn.Module.modules()) made by new_module(kind):
// the shape of torchvision's `for m in self.modules(): if isinstance(...)`
// init loops.
void for_each_module(const Module& root, const std::string& kind, const std::function<void(Module& m)>& fn);

// torch.nn.init.trunc_normal_(tensor, 0, std, -2, 2), in place.
void trunc_normal_(at::Tensor tensor, double std);

// An argument of a built-in entrypoint, with its default (its JSON type is
// the type the argument must have).
struct ArgSpec {
  std::string name;
  nlohmann::json default_value;
};

struct Builtin {
  std::vector<ArgSpec> args;
  std::function<Module(const nlohmann::json& args)> build;  // args: every ArgSpec, validated
};

using Registry = std::map<std::string, Builtin>;

// Each architecture family adds its entrypoints.
void add_resnets(Registry& registry);
void add_mobilenets(Registry& registry);
void add_efficientnets(Registry& registry);
void add_densenets(Registry& registry);
void add_convnexts(Registry& registry);
void add_vision_transformers(Registry& registry);
void add_small_cnns(Registry& registry);

}  // namespace zoo::models
