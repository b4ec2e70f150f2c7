// torchvision's ResNet family (resnet18 ... resnet152, resnext50_32x4d,
// wide_resnet50_2) with its module structure and parameter names.
#include <array>

#include <fmt/format.h>

#include "models/layers.hpp"
#include "util/strings.hpp"

namespace zoo::models {
namespace {

Module relu() { return activation("ReLU", 0); }

// torchvision.models.resnet.BasicBlock / Bottleneck, which call their one
// ReLU module two or three times.
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
    m.register_module("relu", relu());
    body = R"(
    out = self.relu.forward(self.bn1.forward(self.conv1.forward(x)))
    out = self.relu.forward(self.bn2.forward(self.conv2.forward(out)))
    out = self.bn3.forward(self.conv3.forward(out))
)";
  } else {
    m.register_module("conv1", conv2d(in, planes, 3, stride, 1));
    m.register_module("bn1", batch_norm(planes));
    m.register_module("relu", relu());
    m.register_module("conv2", conv2d(planes, planes, 3, 1, 1));
    m.register_module("bn2", batch_norm(planes));
    body = R"(
    out = self.relu.forward(self.bn1.forward(self.conv1.forward(x)))
    out = self.bn2.forward(self.conv2.forward(out))
)";
  }
  std::string identity = "x";
  if (stride != 1 || in != out) {
    Module downsample = sequential({conv2d(in, out, 1, stride, 0), batch_norm(out)});
    m.register_module("downsample", downsample);
    identity = "self.downsample.forward(x)";
  }
  m.define("\ndef forward(self, x):" + body + "    return self.relu.forward(out + " + identity + ")\n");
  return m;
}

struct ResnetSpec {
  bool bottleneck;
  std::array<int, 4> layers;
  int64_t groups = 1;
  int64_t width_per_group = 64;
};

Module build_resnet(const ResnetSpec& spec, const nlohmann::json& args) {
  const int64_t num_classes = args.at("num_classes").get<int64_t>();
  Module m = new_module("ResNet");
  m.register_module("conv1", conv2d(3, 64, 7, 2, 3));
  m.register_module("bn1", batch_norm(64));
  m.register_module("relu", relu());
  m.register_module("maxpool", stateless("MaxPool2d", "torch.max_pool2d(x, [3, 3], [2, 2], [1, 1], [1, 1], False)"));
  int64_t in = 64;
  const int64_t expansion = spec.bottleneck ? 4 : 1;
  for (int layer = 0; layer < 4; ++layer) {
    const int64_t planes = int64_t(64) << layer;
    std::vector<Module> blocks;
    for (int b = 0; b < spec.layers[layer]; ++b) {
      const int64_t stride = (b == 0 && layer > 0) ? 2 : 1;
      blocks.push_back(resnet_block(spec.bottleneck, in, planes, stride, spec.groups, spec.width_per_group));
      in = planes * expansion;
    }
    Module seq = sequential(std::move(blocks));
    m.register_module(fmt::format("layer{}", layer + 1), seq);
  }
  m.register_module("avgpool", global_avg_pool());
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
    x = self.relu.forward(self.bn1.forward(self.conv1.forward(x)))
    x = self.maxpool.forward(x)
    x = self.layer1.forward(x)
    x = self.layer2.forward(x)
    x = self.layer3.forward(x)
    x = self.layer4.forward(x)
    x = self.avgpool.forward(x)
    x = torch.flatten(x, 1)
    return self.fc.forward(x)
)");
  return m;
}

}  // namespace

void add_resnets(Registry& t) {
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
}

}  // namespace zoo::models
