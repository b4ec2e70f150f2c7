// small_cnn: a compact CNN for small images (digits, icons), 1 or 3 input
// channels, meant for training from scratch with zoo train. Its module
// names follow the PyTorch definition below, so the same network written in
// Python loads zoo's weights and the reverse (cbr = Conv2d 3x3 padding 1
// without bias, BatchNorm2d, ReLU; w = width, p = dropout):
//
//   stages: 2 (the default)
//     features = Sequential(cbr(c, w), cbr(w, w), MaxPool2d(2), cbr(w, 2w), cbr(2w, 2w), MaxPool2d(2))
//     avgpool = AdaptiveAvgPool2d(3)
//     classifier = Sequential(Dropout(p), Linear(2w * 9, 128), ReLU, Dropout(p), Linear(128, num_classes))
//   stages: 3
//     features = Sequential(<the two stages above>, cbr(2w, 4w), cbr(4w, 4w))
//     avgpool = AdaptiveAvgPool2d(1)
//     classifier = Sequential(Dropout(p), Linear(4w, num_classes))
//
// The third stage runs at a quarter of the input size (5x5 for 20x20
// digits) and its global average pool makes the head small.
#include <stdexcept>
#include <vector>

#include "models/layers.hpp"

namespace zoo::models {
namespace {

Module build_small_cnn(const nlohmann::json& args) {
  const int64_t classes = args.at("num_classes").get<int64_t>();
  const int64_t in = args.at("in_channels").get<int64_t>();
  const int64_t w = args.at("width").get<int64_t>();
  const int64_t stages = args.at("stages").get<int64_t>();
  const double p = args.at("dropout").get<double>();
  if (stages != 2 && stages != 3) throw std::invalid_argument("small_cnn: stages must be 2 or 3");
  auto relu = [] { return activation("ReLU", 0); };
  auto pool = [] { return stateless("MaxPool2d", "torch.max_pool2d(x, [2, 2], [2, 2], [0, 0], [1, 1], False)"); };

  std::vector<Module> features = {conv2d(in, w, 3, 1, 1),         batch_norm(w),     relu(),
                                  conv2d(w, w, 3, 1, 1),          batch_norm(w),     relu(), pool(),
                                  conv2d(w, 2 * w, 3, 1, 1),      batch_norm(2 * w), relu(),
                                  conv2d(2 * w, 2 * w, 3, 1, 1),  batch_norm(2 * w), relu(), pool()};
  Module m = new_module("SmallCNN");
  if (stages == 2) {
    m.register_module("features", sequential(std::move(features)));
    m.register_module("avgpool", stateless("AdaptiveAvgPool2d", "torch.adaptive_avg_pool2d(x, [3, 3])"));
    m.register_module("classifier",
                      sequential({dropout(p), linear(2 * w * 9, 128), relu(), dropout(p), linear(128, classes)}));
  } else {
    features.insert(features.end(), {conv2d(2 * w, 4 * w, 3, 1, 1), batch_norm(4 * w), relu(),
                                     conv2d(4 * w, 4 * w, 3, 1, 1), batch_norm(4 * w), relu()});
    m.register_module("features", sequential(std::move(features)));
    m.register_module("avgpool", global_avg_pool());
    m.register_module("classifier", sequential({dropout(p), linear(4 * w, classes)}));
  }
  define_classifier_forward(m);
  return m;
}

}  // namespace

void add_small_cnns(Registry& t) {
  t["small_cnn"] = Builtin{{{"num_classes", 10}, {"in_channels", 1}, {"width", 32}, {"stages", 2}, {"dropout", 0.25}}, build_small_cnn};
}

}  // namespace zoo::models
