// torchvision's DenseNet-121 with its module structure and parameter names
// (features.denseblock1.denselayer1.norm1, ..., features.norm5).
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "models/layers.hpp"

namespace zoo::models {
namespace {

// torchvision.models.densenet._DenseLayer, called on the concatenation of
// the block's input and the earlier layers' outputs.
Module dense_layer(int64_t in, int64_t growth_rate, int64_t bn_size, double drop_rate) {
  Module m = new_module("DenseLayer");
  const int64_t bottleneck = bn_size * growth_rate;
  m.register_module("norm1", batch_norm(in));
  m.register_module("relu1", activation("ReLU", in));
  m.register_module("conv1", conv2d(in, bottleneck, 1, 1, 0));
  m.register_module("norm2", batch_norm(bottleneck));
  m.register_module("relu2", activation("ReLU", bottleneck));
  m.register_module("conv2", conv2d(bottleneck, growth_rate, 3, 1, 1));
  std::string forward = R"(
def forward(self, x):
    out = self.conv1.forward(self.relu1.forward(self.norm1.forward(x)))
    out = self.conv2.forward(self.relu2.forward(self.norm2.forward(out)))
)";
  if (drop_rate > 0) forward += fmt::format("    out = torch.dropout(out, {}, self.training)\n", float_literal(drop_rate));
  m.define(forward + "    return out\n");
  return m;
}

// torchvision.models.densenet._DenseBlock: each layer sees every earlier
// output; the block returns them all concatenated.
Module dense_block(int64_t layers, int64_t in, int64_t growth_rate, int64_t bn_size, double drop_rate) {
  Module m = new_module("DenseBlock");
  std::string forward = "\ndef forward(self, x):\n    features = [x]\n";
  for (int64_t i = 0; i < layers; ++i) {
    const std::string name = fmt::format("denselayer{}", i + 1);
    m.register_module(name, dense_layer(in + i * growth_rate, growth_rate, bn_size, drop_rate));
    forward += fmt::format("    features.append(self.{}.forward(torch.cat(features, 1)))\n", name);
  }
  m.define(forward + "    return torch.cat(features, 1)\n");
  return m;
}

// torchvision.models.densenet._Transition: BN, ReLU, 1x1 conv, 2x2 average pool.
Module transition(int64_t in, int64_t out) {
  return sequential({{"norm", batch_norm(in)},
                     {"relu", activation("ReLU", in)},
                     {"conv", conv2d(in, out, 1, 1, 0)},
                     {"pool", stateless("AvgPool2d", "torch.avg_pool2d(x, [2, 2], [2, 2], [0, 0], False, True, None)")}});
}

struct DenseNetSpec {
  int64_t growth_rate;
  std::vector<int64_t> block_config;
  int64_t init_features;
};

Module build_densenet(const DenseNetSpec& spec, const nlohmann::json& args) {
  const int64_t num_classes = args.at("num_classes").get<int64_t>();
  const int64_t bn_size = args.at("bn_size").get<int64_t>();
  const double drop_rate = args.at("drop_rate").get<double>();

  std::vector<std::pair<std::string, Module>> features = {
      {"conv0", conv2d(3, spec.init_features, 7, 2, 3)},
      {"norm0", batch_norm(spec.init_features)},
      {"relu0", activation("ReLU", spec.init_features)},
      {"pool0", stateless("MaxPool2d", "torch.max_pool2d(x, [3, 3], [2, 2], [1, 1], [1, 1], False)")},
  };
  int64_t channels = spec.init_features;
  for (size_t i = 0; i < spec.block_config.size(); ++i) {
    const int64_t layers = spec.block_config[i];
    features.emplace_back(fmt::format("denseblock{}", i + 1),
                          dense_block(layers, channels, spec.growth_rate, bn_size, drop_rate));
    channels += layers * spec.growth_rate;
    if (i + 1 != spec.block_config.size()) {
      features.emplace_back(fmt::format("transition{}", i + 1), transition(channels, channels / 2));
      channels /= 2;
    }
  }
  features.emplace_back("norm5", batch_norm(channels));

  Module m = new_module("DenseNet");
  m.register_module("features", sequential(std::move(features)));
  m.register_module("classifier", linear(channels, num_classes));
  // torchvision's DenseNet init: convs kaiming_normal_ (fan_in, gain
  // sqrt(2)), BN 1/0, Linear default weight with zero bias.
  {
    torch::NoGradGuard no_grad;
    for_each_module(m, "Conv2d", [](Module& conv) {
      auto weight = conv.attr("weight").toTensor();
      const double fan_in = double(weight[0].numel());
      weight.normal_(0.0, std::sqrt(2.0 / fan_in));
    });
    m.attr("classifier").toModule().attr("bias").toTensor().zero_();
  }
  m.define(R"(
def forward(self, x):
    x = torch.relu(self.features.forward(x))
    x = torch.adaptive_avg_pool2d(x, [1, 1])
    x = torch.flatten(x, 1)
    return self.classifier.forward(x)
)");
  return m;
}

}  // namespace

void add_densenets(Registry& t) {
  t["densenet121"] = Builtin{{{"num_classes", 1000}, {"bn_size", 4}, {"drop_rate", 0.0}},
                             [](const nlohmann::json& args) { return build_densenet({32, {6, 12, 24, 16}, 64}, args); }};
}

}  // namespace zoo::models
