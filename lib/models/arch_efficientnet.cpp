// torchvision's EfficientNet B0-B3 with its module structure and parameter
// names.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "models/layers.hpp"

namespace zoo::models {
namespace {

// A stage of torchvision.models.efficientnet.MBConvConfig before the
// width/depth multipliers.
struct StageConfig {
  int64_t expand_ratio, kernel, stride, in, out, layers;
};

const StageConfig k_b0_stages[] = {{1, 3, 1, 32, 16, 1},  {6, 3, 2, 16, 24, 2},   {6, 5, 2, 24, 40, 2},
                                   {6, 3, 2, 40, 80, 3},  {6, 5, 1, 80, 112, 3},  {6, 5, 2, 112, 192, 4},
                                   {6, 3, 1, 192, 320, 1}};

// torchvision.models.efficientnet.MBConv.
Module mbconv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t expand_ratio, double sd_prob) {
  Module m = new_module("MBConv");
  const int64_t expanded = make_divisible(double(in) * expand_ratio, 8);
  std::vector<Module> layers;
  if (expanded != in) layers.push_back(conv_norm_activation(in, expanded, 1, 1, 1, "SiLU"));
  layers.push_back(conv_norm_activation(expanded, expanded, kernel, stride, expanded, "SiLU"));
  layers.push_back(squeeze_excitation(expanded, std::max<int64_t>(1, in / 4), "SiLU", "Sigmoid"));
  layers.push_back(conv_norm_activation(expanded, out, 1, 1, 1, ""));
  m.register_module("block", sequential(std::move(layers)));
  m.register_module("stochastic_depth", stochastic_depth(sd_prob));
  const bool residual = stride == 1 && in == out;
  m.define(residual ? R"(
def forward(self, x):
    result = self.block.forward(x)
    return self.stochastic_depth.forward(result) + x
)"
                    : R"(
def forward(self, x):
    return self.block.forward(x)
)");
  return m;
}

struct EfficientNetSpec {
  double width_mult;
  double depth_mult;
  double dropout;  // the variant's default
};

Module build_efficientnet(const EfficientNetSpec& spec, const nlohmann::json& args) {
  const int64_t num_classes = args.at("num_classes").get<int64_t>();
  const double dropout_p = args.at("dropout").get<double>();
  const double sd_prob = args.at("stochastic_depth_prob").get<double>();

  std::vector<StageConfig> stages;
  int64_t total_blocks = 0;
  for (StageConfig s : k_b0_stages) {
    s.in = make_divisible(double(s.in) * spec.width_mult, 8);
    s.out = make_divisible(double(s.out) * spec.width_mult, 8);
    s.layers = int64_t(std::ceil(double(s.layers) * spec.depth_mult));
    total_blocks += s.layers;
    stages.push_back(s);
  }

  std::vector<Module> features = {conv_norm_activation(3, stages.front().in, 3, 2, 1, "SiLU")};
  int64_t block_id = 0;
  for (const StageConfig& s : stages) {
    std::vector<Module> blocks;
    for (int64_t i = 0; i < s.layers; ++i) {
      // Stochastic depth grows linearly with the block's depth.
      const double p = sd_prob * double(block_id) / double(total_blocks);
      blocks.push_back(mbconv(i == 0 ? s.in : s.out, s.out, s.kernel, i == 0 ? s.stride : 1, s.expand_ratio, p));
      ++block_id;
    }
    features.push_back(sequential(std::move(blocks)));
  }
  const int64_t last_in = stages.back().out;
  const int64_t last_out = 4 * last_in;
  features.push_back(conv_norm_activation(last_in, last_out, 1, 1, 1, "SiLU"));

  Module m = new_module("EfficientNet");
  m.register_module("features", sequential(std::move(features)));
  m.register_module("avgpool", global_avg_pool());
  m.register_module("classifier", sequential({dropout(dropout_p), linear(last_out, num_classes)}));
  // torchvision's EfficientNet init: convs kaiming_normal_(fan_out) with
  // zero bias (conv2d's own), BN 1/0, Linear U(-1/sqrt(out), 1/sqrt(out))
  // with zero bias.
  {
    torch::NoGradGuard no_grad;
    for_each_module(m, "Linear", [](Module& linear_module) {
      auto weight = linear_module.attr("weight").toTensor();
      const double range = 1.0 / std::sqrt(double(weight.size(0)));
      weight.uniform_(-range, range);
      linear_module.attr("bias").toTensor().zero_();
    });
  }
  define_classifier_forward(m);
  return m;
}

}  // namespace

void add_efficientnets(Registry& t) {
  auto add = [&](const std::string& name, EfficientNetSpec spec) {
    t[name] = Builtin{{{"num_classes", 1000}, {"dropout", spec.dropout}, {"stochastic_depth_prob", 0.2}},
                      [spec](const nlohmann::json& args) { return build_efficientnet(spec, args); }};
  };
  add("efficientnet_b0", {1.0, 1.0, 0.2});
  add("efficientnet_b1", {1.0, 1.1, 0.2});
  add("efficientnet_b2", {1.1, 1.2, 0.3});
  add("efficientnet_b3", {1.2, 1.4, 0.3});
}

}  // namespace zoo::models
