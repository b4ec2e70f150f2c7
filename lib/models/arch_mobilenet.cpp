// torchvision's MobileNetV2 and MobileNetV3 (small, large) with their
// module structure and parameter names.
#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "models/layers.hpp"

namespace zoo::models {
namespace {

// torchvision's MobileNet init: conv2d() already draws kaiming_normal_
// (fan_out) with zero biases and batch_norm() starts at 1/0; the Linear
// layers are N(0, 0.01) with zero bias.
void init_mobilenet(Module& model) {
  torch::NoGradGuard no_grad;
  for_each_module(model, "Linear", [](Module& m) {
    m.attr("weight").toTensor().normal_(0.0, 0.01);
    m.attr("bias").toTensor().zero_();
  });
}

// MobileNetV2's classifier input: global average pool and flatten
// (functional in torchvision, so no avgpool module).
const char* k_v2_pool_and_classify = R"(
def forward(self, x):
    x = self.features.forward(x)
    x = torch.adaptive_avg_pool2d(x, [1, 1])
    x = torch.flatten(x, 1)
    return self.classifier.forward(x)
)";

// torchvision.models.mobilenetv2.InvertedResidual.
Module inverted_residual_v2(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio) {
  Module m = new_module("InvertedResidual");
  const int64_t hidden = in * expand_ratio;
  std::vector<Module> layers;
  if (expand_ratio != 1) layers.push_back(conv_norm_activation(in, hidden, 1, 1, 1, "ReLU6"));
  layers.push_back(conv_norm_activation(hidden, hidden, 3, stride, hidden, "ReLU6"));
  layers.push_back(conv2d(hidden, out, 1, 1, 0));
  layers.push_back(batch_norm(out));
  m.register_module("conv", sequential(std::move(layers)));
  const bool residual = stride == 1 && in == out;
  m.define(fmt::format("\ndef forward(self, x):\n    return {}\n",
                       residual ? "x + self.conv.forward(x)" : "self.conv.forward(x)"));
  return m;
}

Module build_mobilenet_v2(const nlohmann::json& args) {
  const int64_t num_classes = args.at("num_classes").get<int64_t>();
  const double width_mult = args.at("width_mult").get<double>();
  const double dropout_p = args.at("dropout").get<double>();
  // (expand ratio t, channels c, repeats n, first stride s)
  const int64_t setting[][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                                {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  int64_t in = make_divisible(32 * width_mult, 8);
  const int64_t last_channel = make_divisible(1280 * std::max(1.0, width_mult), 8);
  std::vector<Module> features = {conv_norm_activation(3, in, 3, 2, 1, "ReLU6")};
  for (const auto& [t, c, n, s] : setting) {
    const int64_t out = make_divisible(double(c) * width_mult, 8);
    for (int64_t i = 0; i < n; ++i) {
      features.push_back(inverted_residual_v2(in, out, i == 0 ? s : 1, t));
      in = out;
    }
  }
  features.push_back(conv_norm_activation(in, last_channel, 1, 1, 1, "ReLU6"));

  Module m = new_module("MobileNetV2");
  m.register_module("features", sequential(std::move(features)));
  m.register_module("classifier", sequential({dropout(dropout_p), linear(last_channel, num_classes)}));
  init_mobilenet(m);
  m.define(k_v2_pool_and_classify);
  return m;
}

// A row of Tables 1 and 2 of the MobileNetV3 paper, as
// torchvision.models.mobilenetv3.InvertedResidualConfig (width_mult 1,
// no dilation).
struct BneckConfig {
  int64_t in, kernel, expanded, out;
  bool use_se, use_hs;
  int64_t stride;
};

// MobileNetV3 uses BatchNorm2d(eps=0.001, momentum=0.01).
constexpr double k_v3_eps = 0.001;
constexpr double k_v3_momentum = 0.01;

// torchvision.models.mobilenetv3.InvertedResidual.
Module inverted_residual_v3(const BneckConfig& c) {
  Module m = new_module("InvertedResidual");
  const std::string act = c.use_hs ? "Hardswish" : "ReLU";
  std::vector<Module> layers;
  if (c.expanded != c.in) {
    layers.push_back(conv_norm_activation(c.in, c.expanded, 1, 1, 1, act, k_v3_eps, k_v3_momentum));
  }
  layers.push_back(
      conv_norm_activation(c.expanded, c.expanded, c.kernel, c.stride, c.expanded, act, k_v3_eps, k_v3_momentum));
  if (c.use_se) {
    layers.push_back(squeeze_excitation(c.expanded, make_divisible(double(c.expanded / 4), 8), "ReLU", "Hardsigmoid"));
  }
  layers.push_back(conv_norm_activation(c.expanded, c.out, 1, 1, 1, "", k_v3_eps, k_v3_momentum));
  m.register_module("block", sequential(std::move(layers)));
  const bool residual = c.stride == 1 && c.in == c.out;
  m.define(fmt::format("\ndef forward(self, x):\n    return {}\n",
                       residual ? "self.block.forward(x) + x" : "self.block.forward(x)"));
  return m;
}

Module build_mobilenet_v3(const std::vector<BneckConfig>& setting, int64_t last_channel, const nlohmann::json& args) {
  const int64_t num_classes = args.at("num_classes").get<int64_t>();
  const double dropout_p = args.at("dropout").get<double>();
  std::vector<Module> features = {
      conv_norm_activation(3, setting.front().in, 3, 2, 1, "Hardswish", k_v3_eps, k_v3_momentum)};
  for (const auto& c : setting) features.push_back(inverted_residual_v3(c));
  const int64_t last_in = setting.back().out;
  const int64_t last_out = 6 * last_in;
  features.push_back(conv_norm_activation(last_in, last_out, 1, 1, 1, "Hardswish", k_v3_eps, k_v3_momentum));

  Module m = new_module("MobileNetV3");
  m.register_module("features", sequential(std::move(features)));
  m.register_module("avgpool", global_avg_pool());
  m.register_module("classifier", sequential({linear(last_out, last_channel), activation("Hardswish", last_channel),
                                              dropout(dropout_p), linear(last_channel, num_classes)}));
  init_mobilenet(m);
  define_classifier_forward(m);
  return m;
}

const std::vector<BneckConfig> k_v3_large = {
    {16, 3, 16, 16, false, false, 1},   {16, 3, 64, 24, false, false, 2},   {24, 3, 72, 24, false, false, 1},
    {24, 5, 72, 40, true, false, 2},    {40, 5, 120, 40, true, false, 1},   {40, 5, 120, 40, true, false, 1},
    {40, 3, 240, 80, false, true, 2},   {80, 3, 200, 80, false, true, 1},   {80, 3, 184, 80, false, true, 1},
    {80, 3, 184, 80, false, true, 1},   {80, 3, 480, 112, true, true, 1},   {112, 3, 672, 112, true, true, 1},
    {112, 5, 672, 160, true, true, 2},  {160, 5, 960, 160, true, true, 1},  {160, 5, 960, 160, true, true, 1},
};

const std::vector<BneckConfig> k_v3_small = {
    {16, 3, 16, 16, true, false, 2},  {16, 3, 72, 24, false, false, 2}, {24, 3, 88, 24, false, false, 1},
    {24, 5, 96, 40, true, true, 2},   {40, 5, 240, 40, true, true, 1},  {40, 5, 240, 40, true, true, 1},
    {40, 5, 120, 48, true, true, 1},  {48, 5, 144, 48, true, true, 1},  {48, 5, 288, 96, true, true, 2},
    {96, 5, 576, 96, true, true, 1},  {96, 5, 576, 96, true, true, 1},
};

}  // namespace

void add_mobilenets(Registry& t) {
  t["mobilenet_v2"] = Builtin{{{"num_classes", 1000}, {"width_mult", 1.0}, {"dropout", 0.2}}, build_mobilenet_v2};
  const std::vector<ArgSpec> v3_args = {{"num_classes", 1000}, {"dropout", 0.2}};
  t["mobilenet_v3_large"] = Builtin{v3_args, [](const nlohmann::json& args) {
                                      return build_mobilenet_v3(k_v3_large, 1280, args);
                                    }};
  t["mobilenet_v3_small"] = Builtin{v3_args, [](const nlohmann::json& args) {
                                      return build_mobilenet_v3(k_v3_small, 1024, args);
                                    }};
}

}  // namespace zoo::models
