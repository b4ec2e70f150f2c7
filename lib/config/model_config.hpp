// ModelConfig: what a model YAML file says — which network to build
// (entrypoint), which weights to load, how to preprocess images and how to
// turn outputs into labels. FiftyOne's TorchImageModelConfig keys are
// accepted as written (entrypoint_fcn, output_processor_cls, labels_path,
// image_min_dim, ...), so a FiftyOne config dumped to YAML loads unchanged.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace YAML {
class Node;
}

namespace zoo::config {

// Width and height in pixels.
struct Size {
  int width = 0;
  int height = 0;
  bool operator==(const Size&) const = default;
};

// How images are turned into the model's input tensor, as FiftyOne builds
// its transforms: image_size if set, else image_dim if set, else
// image_min_dim then image_max_dim; then center_crop; then scale to [0,1]
// and normalise with mean/std. In YAML, sizes are written [height, width]
// as torchvision's Resize and CenterCrop take them (an int N means N x N).
struct Preprocess {
  std::optional<Size> image_size;  // resize to exactly this
  int image_dim = 0;               // resize so the smaller side is this (0 = off)
  int image_min_dim = 0;           // upscale, if needed, so the smaller side is at least this
  int image_max_dim = 0;           // downscale, if needed, so the larger side is at most this
  std::optional<Size> center_crop; // crop the centre to this after resizing
  std::array<float, 3> mean{0.f, 0.f, 0.f};  // per channel, RGB order, on [0,1] values
  std::array<float, 3> std{1.f, 1.f, 1.f};
  int channels = 3;                // 3 = RGB, 1 = grayscale
  bool deskew = false;             // straighten slanted strokes first (image moments), as OpenCV's digits sample
  // The resize filter where an image shrinks by less than 2x or grows
  // (area averaging shrinks by 2x or more, as PIL's antialiased filters
  // do): bilinear, or bicubic as torchvision documents for some weights.
  bool bicubic = false;
};

// Random training augmentation (zoo train only; zoo apply ignores it), in
// torchvision's order: random_resized_crop (instead of the resize and
// center crop), hflip, rotate, elastic, color_jitter. All off by default.
struct Augment {
  bool random_resized_crop = false;
  std::array<double, 2> crop_scale{0.08, 1.0};      // fraction of the image area
  std::array<double, 2> crop_ratio{3.0 / 4.0, 4.0 / 3.0};  // aspect ratio range
  bool hflip = false;          // flip left-right with probability 0.5
  double rotate = 0;           // rotate by a uniform angle in [-rotate, rotate] degrees
  double brightness = 0;       // color_jitter: factors in [1-b, 1+b]
  double contrast = 0;
  double saturation = 0;
  double elastic_alpha = 0;    // elastic distortion: displacement scale in pixels (0 = off)
  double elastic_sigma = 3;    //   and the smoothness of the displacement field (Gaussian sigma, pixels)
  // random_affine (torchvision's RandomAffine): one warp about the centre
  // that rotates by [-degrees, degrees], scales by [scale[0], scale[1]],
  // shears along x by [-shear, shear] degrees and shifts by up to
  // translate[0] of the width and translate[1] of the height; the border
  // is filled with 0.
  bool random_affine = false;
  double affine_degrees = 0;
  std::array<double, 2> affine_translate{0.0, 0.0};
  std::array<double, 2> affine_scale{1.0, 1.0};
  double affine_shear = 0;

  bool any() const {
    return random_resized_crop || hflip || rotate > 0 || brightness > 0 || contrast > 0 || saturation > 0 ||
           elastic_alpha > 0 || random_affine;
  }
};

struct ModelConfig {
  std::string source;      // the config file path ("" when built in code)
  std::string name;        // optional display name
  std::string entrypoint;  // as written; models:: resolves aliases ("torchvision.models.resnet18")
  std::string entrypoint_where;  // "file:line:col" of the entrypoint value, for errors
  nlohmann::json entrypoint_args = nlohmann::json::object();
  std::string weights;     // absolute or cwd-relative path, "" = initial weights
  std::string weights_key; // entry of a checkpoint dict holding the state dict ("" = auto)
  bool strict = true;      // every parameter must be in the weights file
  std::string output_processor = "classifier";
  bool store_logits = false;          // output_processor_args.store_logits
  // output_processor_args.probabilities: a classifier's outputs are
  // probabilities already (a graph ending in softmax), used as they are.
  bool probabilities = false;
  std::optional<double> confidence_thresh;
  // instance_segmenter: mask probabilities above this are the object
  // (output_processor_args.mask_thresh or mask_thresh; unset = 0.5).
  std::optional<double> mask_thresh;
  // keypoints: points whose confidence (sigmoid of the keypoint score) is
  // below this are written as NaN (output_processor_args.keypoint_thresh or
  // keypoint_thresh; unset = none are).
  std::optional<double> keypoint_thresh;
  // detectors: class-wise non-maximum suppression, dropping a detection
  // that overlaps a higher-scoring one of its class by more than this IoU
  // (output_processor_args.nms_thresh or nms_thresh; unset = none, for
  // models that suppress inside, as torchvision's do).
  std::optional<double> nms_thresh;
  // detector, keypoints: the model gives raw SSD outputs against anchors
  // made outside it (output_processor_args.anchors), as MediaPipe's
  // BlazeFace: per stride, a grid of ceil(size / stride) cells each way
  // with per_cell anchors at each cell's centre (stride * (g + 0.5) input
  // pixels), row by row. The output is [batch, anchors, 5 + 2K]: a score
  // logit, the box centre's x, y offset from its anchor, its width and
  // height, then K points' x, y offsets, all in input pixels.
  struct Anchors {
    std::vector<int> strides;
    std::vector<int> per_cell;
  };
  std::optional<Anchors> anchors;
  // input: list — forward() takes a list of CHW 0-1 RGB images, each at its
  // own size (torchvision's detection models, which resize and normalise
  // themselves); no resize, crop or normalisation keys allowed. false =
  // input: batch, one NCHW tensor (the default).
  bool input_list = false;
  std::vector<std::string> classes;   // from classes, labels_path or labels_string
  std::string labels_path;            // resolved path, "" if classes were inline
  Preprocess preprocess;
  Augment augment;
  // The train: section: zoo train's options that decide the weights, keyed
  // as its flags are spelt without the dashes and with underscores
  // (batch_size for --batch-size), as train.json records them. Only the
  // keys given; data and val resolved against the config's folder. zoo
  // train's flags override them; nothing else reads them.
  nlohmann::json train = nlohmann::json::object();
  std::string embeddings_layer;
};

// The keys a train: section may hold.
const std::vector<std::string>& train_keys();

// The config as YAML that parse_model_config reads back to an equal config.
// Paths (weights, labels) are written relative to `base_dir` when they are
// inside it; labels are written inline as `classes` when there is no file.
std::string to_yaml(const ModelConfig& config, const std::string& base_dir);

// What makes the model's outputs what they are, as "sha256:HEX": the
// config as to_yaml writes it, without its name and file paths (the
// classes inline), and the content of its weights file. The same model
// gives the same digest on any machine and from any folder. Reads the
// weights whole (~50 ms per 100 MB). Throws zoo::Error(io) if they cannot
// be read.
std::string model_digest(const ModelConfig& config);

// The first class name that repeats an earlier one, as {earlier, repeat}
// indexes; nullopt when every name differs. ImageNet's own list names two
// classes "crane": loading warns, and zoo eval, which scores by name,
// refuses such a model.
std::optional<std::pair<size_t, size_t>> repeated_class(const std::vector<std::string>& classes);

// Reads and validates a config file. Paths inside it are resolved relative to
// the file's folder. A directory argument means `DIR/model.yaml`.
// Throws zoo::Error(config) naming file:line:col and the key on unknown keys
// (with a "did you mean"), wrong types, bad values and missing files.
ModelConfig load_model_config(const std::string& path);

// Same, from YAML text; `source` names it in error messages and `base_dir`
// resolves relative paths.
ModelConfig parse_model_config(const std::string& yaml_text, const std::string& source,
                               const std::string& base_dir);

// How a config inside another file (a zoo manifest entry) is read.
struct ParseOptions {
  // false: `weights` is resolved but need not exist yet (a named model
  // before its download).
  bool require_weights = true;
  // Labels files known by name without being on disk (the built-in
  // manifest's imagenet-labels.txt): name -> text. A labels_path equal to
  // a name gets its classes from the text, and labels_path stays "".
  const std::map<std::string, std::string>* named_labels = nullptr;
};

// Same, from a map node of a YAML document already parsed, so errors name
// `source`'s own lines.
ModelConfig parse_model_config(const YAML::Node& root, const std::string& source, const std::string& base_dir,
                               const ParseOptions& options);

// The labels of a labels file's text (one per line, trailing blank lines
// ignored); `source` names it in errors and warnings.
std::vector<std::string> parse_labels(const std::string& text, const std::string& source);

// Every key a config may contain (zoo's and FiftyOne's spellings).
const std::vector<std::string>& known_config_keys();

// Reads a labels file: one label per line, blank trailing lines ignored.
std::vector<std::string> read_labels_file(const std::string& path);

}  // namespace zoo::config
