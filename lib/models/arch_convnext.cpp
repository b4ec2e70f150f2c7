// torchvision's ConvNeXt-Tiny with its module structure and parameter names.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "models/layers.hpp"

namespace zoo::models {
namespace {

constexpr double k_eps = 1e-6;

// torchvision.models.convnext.LayerNorm2d: a layer norm over the channels
// of an NCHW tensor (normalised channels-last, returned as NCHW).
Module layer_norm_2d(int64_t channels) {
  Module m = new_module("LayerNorm2d");
  m.register_parameter("weight", torch::ones({channels}), false);
  m.register_parameter("bias", torch::zeros({channels}), false);
  m.define(fmt::format(R"(
def forward(self, x):
    x = x.permute([0, 2, 3, 1])
    x = torch.layer_norm(x, [{}], self.weight, self.bias, {})
    return x.permute([0, 3, 1, 2])
)",
                       channels, float_literal(k_eps)));
  return m;
}

// CNBlock.block: nn.Sequential(dwconv 7x7, Permute, LayerNorm, Linear,
// GELU, Linear, Permute).
Module cn_block_layers(int64_t dim) {
  return sequential({conv2d(dim, dim, 7, 1, 3, dim, true), stateless("Permute", "x.permute([0, 2, 3, 1])"),
                     layer_norm(dim, k_eps), linear(dim, 4 * dim), activation("GELU", 4 * dim),
                     linear(4 * dim, dim), stateless("Permute", "x.permute([0, 3, 1, 2])")});
}

// torchvision.models.convnext.CNBlock.
Module cn_block(int64_t dim, double layer_scale, double sd_prob) {
  Module m = new_module("CNBlock");
  m.register_module("block", cn_block_layers(dim));
  m.register_parameter("layer_scale", torch::full({dim, 1, 1}, layer_scale), false);
  m.register_module("stochastic_depth", stochastic_depth(sd_prob));
  m.define(R"(
def forward(self, x):
    result = self.layer_scale * self.block.forward(x)
    return self.stochastic_depth.forward(result) + x
)");
  return m;
}

// torchvision.models.convnext.CNBlockConfig; out 0: no downsampling after.
struct StageConfig {
  int64_t in, out, layers;
};

Module build_convnext(const std::vector<StageConfig>& stages, const nlohmann::json& args) {
  const int64_t num_classes = args.at("num_classes").get<int64_t>();
  const double sd_prob = args.at("stochastic_depth_prob").get<double>();
  const double layer_scale = args.at("layer_scale").get<double>();

  // Stem: Conv2dNormActivation(3, C, 4, stride 4, padding 0, bias, LayerNorm2d, no activation).
  std::vector<Module> features = {sequential({conv2d(3, stages.front().in, 4, 4, 0, 1, true),
                                              layer_norm_2d(stages.front().in)})};
  int64_t total_blocks = 0;
  for (const auto& s : stages) total_blocks += s.layers;
  int64_t block_id = 0;
  for (const auto& s : stages) {
    std::vector<Module> blocks;
    for (int64_t i = 0; i < s.layers; ++i) {
      // Stochastic depth grows linearly from 0 to sd_prob at the last block.
      const double p = sd_prob * double(block_id) / (double(total_blocks) - 1.0);
      blocks.push_back(cn_block(s.in, layer_scale, p));
      ++block_id;
    }
    features.push_back(sequential(std::move(blocks)));
    if (s.out != 0) features.push_back(sequential({layer_norm_2d(s.in), conv2d(s.in, s.out, 2, 2, 0, 1, true)}));
  }
  const int64_t last = stages.back().out != 0 ? stages.back().out : stages.back().in;

  Module m = new_module("ConvNeXt");
  m.register_module("features", sequential(std::move(features)));
  m.register_module("avgpool", global_avg_pool());
  m.register_module("classifier", sequential({layer_norm_2d(last), stateless("Flatten", "torch.flatten(x, 1)"),
                                              linear(last, num_classes)}));
  // torchvision's ConvNeXt init: convs and Linears trunc_normal_(std 0.02)
  // with zero bias; norms 1/0.
  {
    torch::NoGradGuard no_grad;
    for (const char* kind : {"Conv2d", "Linear"}) {
      for_each_module(m, kind, [](Module& layer) {
        trunc_normal_(layer.attr("weight").toTensor(), 0.02);
        layer.attr("bias").toTensor().zero_();
      });
    }
  }
  m.define(R"(
def forward(self, x):
    x = self.features.forward(x)
    x = self.avgpool.forward(x)
    return self.classifier.forward(x)
)");
  return m;
}

}  // namespace

void add_convnexts(Registry& t) {
  t["convnext_tiny"] = Builtin{
      {{"num_classes", 1000}, {"stochastic_depth_prob", 0.1}, {"layer_scale", 1e-6}}, [](const nlohmann::json& args) {
        return build_convnext({{96, 192, 3}, {192, 384, 3}, {384, 768, 9}, {768, 0, 3}}, args);
      }};
}

}  // namespace zoo::models
