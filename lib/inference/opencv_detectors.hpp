// OpenCV's pretrained detectors as black-box models in the zoo apply
// pipeline, so a fresh machine detects people and faces with no download
// and no Torch:
// - opencv_hog_people: the HOG + linear SVM people detector built into
//   OpenCV (cv::HOGDescriptor::getDefaultPeopleDetector, 64x128 window);
// - opencv_haar_cascade: a Viola-Jones cascade file, e.g. Debian
//   opencv-data's haarcascade_frontalface_default.xml.
// They take 8-bit images (resized and cropped as the config says, not
// normalised) and give raw detections (detector.hpp), run image by image
// on `threads` threads. Confidence is the logistic of the detector's own
// score (HOG: the SVM margin; Haar: the last stage's sum), so 0.5 is its
// decision boundary.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/model_config.hpp"
#include "inference/predictor.hpp"

namespace zoo::inference {

class OpenCvDetector : public Predictor {
 public:
  bool takes_pixels() const override { return true; }
  // One line for logs: the entrypoint and its parameters.
  virtual const std::string& description() const = 0;
  // The label names by class index: the config's classes, else the
  // detector's own ("person"; the cascade's name, e.g. "frontalface_default").
  virtual const std::vector<std::string>& classes() const = 0;
};

// True when `entrypoint` names an OpenCV detector.
bool is_opencv_entrypoint(const std::string& entrypoint);

// One line per OpenCV entrypoint: its name and its entrypoint_args with
// defaults, as models::entrypoint_descriptions() lists the Torch ones.
std::vector<std::string> opencv_entrypoint_descriptions();

// Builds the detector `config` names, running on `threads` threads (<= 0:
// all cores). entrypoint_args:
//   opencv_hog_people: hit_threshold (0), win_stride ([8, 8]), padding
//     ([0, 0]), scale (1.05), group_threshold (2), use_meanshift_grouping
//     (false);
//   opencv_haar_cascade: cascade (required: a path relative to the config
//     file, or a bare file name found in OpenCV's haarcascades folder),
//     scale_factor (1.1), min_neighbors (3), min_size (0 = none),
//     max_size (0 = none), equalize_hist (false).
// Sizes are [width, height] in pixels, as OpenCV takes them, or one number
// for a square. Throws zoo::Error(config) naming the config file and key
// for unknown or bad arguments and for a cascade file that does not load.
std::unique_ptr<OpenCvDetector> load_opencv_detector(const config::ModelConfig& config, int threads);

}  // namespace zoo::inference
