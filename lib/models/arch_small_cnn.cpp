// small_cnn: a compact CNN for small images (digits, icons), 1 or 3 input
// channels, meant for training from scratch with zoo train. Its module
// names follow the PyTorch definition below, so the same network written in
// Python loads zoo's weights and the reverse:
//
//   features = Sequential(Conv2d(c, w, 3, padding=1, bias=False), BatchNorm2d(w), ReLU,
//                         Conv2d(w, w, 3, padding=1, bias=False), BatchNorm2d(w), ReLU, MaxPool2d(2),
//                         Conv2d(w, 2w, 3, padding=1, bias=False), BatchNorm2d(2w), ReLU,
//                         Conv2d(2w, 2w, 3, padding=1, bias=False), BatchNorm2d(2w), ReLU, MaxPool2d(2))
//   avgpool = AdaptiveAvgPool2d(3)
//   classifier = Sequential(Dropout(p), Linear(2w * 9, 128), ReLU, Dropout(p), Linear(128, num_classes))
#include "models/layers.hpp"

namespace zoo::models {
namespace {

Module build_small_cnn(const nlohmann::json& args) {
  const int64_t classes = args.at("num_classes").get<int64_t>();
  const int64_t in = args.at("in_channels").get<int64_t>();
  const int64_t w = args.at("width").get<int64_t>();
  const double p = args.at("dropout").get<double>();
  auto relu = [] { return activation("ReLU", 0); };
  auto pool = [] { return stateless("MaxPool2d", "torch.max_pool2d(x, [2, 2], [2, 2], [0, 0], [1, 1], False)"); };

  Module m = new_module("SmallCNN");
  m.register_module("features", sequential({conv2d(in, w, 3, 1, 1), batch_norm(w), relu(),
                                            conv2d(w, w, 3, 1, 1), batch_norm(w), relu(), pool(),
                                            conv2d(w, 2 * w, 3, 1, 1), batch_norm(2 * w), relu(),
                                            conv2d(2 * w, 2 * w, 3, 1, 1), batch_norm(2 * w), relu(), pool()}));
  m.register_module("classifier",
                    sequential({dropout(p), linear(2 * w * 9, 128), relu(), dropout(p), linear(128, classes)}));
  m.define(R"(
def forward(self, x):
    x = self.features.forward(x)
    x = torch.adaptive_avg_pool2d(x, [3, 3])
    x = torch.flatten(x, 1)
    return self.classifier.forward(x)
)");
  return m;
}

}  // namespace

void add_small_cnns(Registry& t) {
  t["small_cnn"] = Builtin{{{"num_classes", 10}, {"in_channels", 1}, {"width", 32}, {"dropout", 0.25}}, build_small_cnn};
}

}  // namespace zoo::models
