// zoo draw: each image (or video) of a labels file written again with its
// labels on it, as Ultralytics saves its predictions: boxes with class and
// confidence, instance masks as translucent fills, keypoints with the COCO
// skeleton, semantic masks as a colour overlay with a legend, and
// classifications and regressions as captions. Colours are fixed per class
// name (the same class is the same colour in every image and run); text
// scales with the image. Images are decoded with their EXIF orientation
// applied, as zoo apply's coordinates are. Reads any FiftyOne-style JSON
// Lines of zoo apply's schema.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/progress.hpp"

namespace cv {
class Mat;
}

namespace zoo::draw {

// A class's colour, as B, G, R: a hue from the name's FNV-1a hash, full
// saturation, bright; the same name always gives the same colour.
std::array<uint8_t, 3> class_color(const std::string& label);

// Draws every label of `record` (each field holding an object with "_cls":
// predictions, predictions_detections, ...; a patch record's prediction
// beside its patch) on `image` (BGR, the oriented image the record's
// coordinates are relative to). Masks given as mask_path are read relative
// to `labels_dir`. Throws zoo::Error(data) naming `where` for a label it
// cannot read.
void draw_record(cv::Mat& image, const nlohmann::json& record, const std::string& labels_dir, const std::string& where);

struct DrawOptions {
  std::string labels;               // the JSON Lines file
  std::vector<std::string> inputs;  // only these files or folders ("" = every record's file)
  std::string out_dir;
  std::string image_format = "keep";  // keep (the input's: .jpg, .png, ...; else .png), png or jpg
  util::ProgressMode progress = util::ProgressMode::automatic;
};

struct DrawSummary {
  size_t images = 0;        // images written
  size_t videos = 0;        // videos written
  size_t frames = 0;        // video frames written (labelled or copied)
  size_t error_records = 0; // records that are errors (nothing to draw)
  std::vector<std::string> failed;  // "PATH: reason" for inputs that could not be drawn
};

// Draws every image and video of the labels into out_dir, each at its path
// relative to the inputs' common folder (images keep their format unless
// image_format says; videos become Motion-JPEG .avi files, every frame
// copied through and the labelled ones drawn). Each file is written whole
// or not at all.
DrawSummary draw_labels(const DrawOptions& options);

}  // namespace zoo::draw
