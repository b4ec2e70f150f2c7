// ListModel: a TorchScript model whose forward() takes a list of images,
// each a CHW 0-1 RGB tensor at its own size, and returns one dict of
// tensors per image — torchvision's detection models (Faster/Mask/Keypoint
// R-CNN, RetinaNet, SSD, FCOS) scripted with torch.jit.script. Config
// `input: list`. Torch-free header: tensors cross it as float arrays.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/model_config.hpp"
#include "models/model.hpp"

namespace zoo::models {

// One image's outputs by name ("boxes", "labels", "scores", "masks",
// "keypoints", "keypoints_scores"), converted to float (int64 labels too).
using NamedOutputs = std::map<std::string, Output>;

// One input image: channels x height x width floats, CHW.
struct ImageView {
  const float* data = nullptr;
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
};

// Registers torchvision's C++ operators (torchvision::nms, roi_align, ...)
// with LibTorch by loading the torchvision extension library: the file
// named by $ZOO_TORCHVISION_OPS, else Debian python3-torchvision's
// _C*.so. Done once per process; thread-safe. Throws zoo::Error(model),
// naming the package and the paths tried, when it cannot be loaded.
// Returns the library's path.
const std::string& load_torchvision_ops();

class ListModel {
 public:
  // Loads the TorchScript file of an `input: list` config (entrypoint
  // torchscript), after load_torchvision_ops(). The model runs as loaded
  // (eval mode, not frozen). Throws zoo::Error(config) for another
  // entrypoint, zoo::Error(model) when the file does not load.
  static std::unique_ptr<ListModel> load(const config::ModelConfig& config);
  ~ListModel();

  // Runs the model on `images` as one list. forward() may return
  // List[Dict[str, Tensor]] or, as scripted torchvision detectors do,
  // Tuple[Dict[str, Tensor] (losses), List[Dict[str, Tensor]]]. Returns one
  // NamedOutputs per image. Throws zoo::Error(model) when the model fails
  // or returns something else. Not thread-safe.
  std::vector<NamedOutputs> forward(const std::vector<ImageView>& images);

  // One line for logs.
  const std::string& description() const;

  // Parameter values in the model.
  int64_t parameter_count() const;

 private:
  struct Impl;
  explicit ListModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace zoo::models
