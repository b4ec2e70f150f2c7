// Detector output processor: raw detections (boxes in model-input pixels,
// a class index, a score) -> FiftyOne Detections, with `bounding_box`
// [x, y, w, h] relative to the original image (the resize and center crop
// undone), as fiftyone.utils.torch.DetectorOutputProcessor writes them;
// and COCO detection results.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "media/image.hpp"

namespace zoo::inference {

// Raw detections cross the batch loop as one row of floats per image, six
// values per detection: x1, y1, x2, y2 (model-input pixels, x2/y2
// exclusive), score (0-1), class index.
constexpr size_t k_detection_values = 6;

// Class-wise non-maximum suppression on a detector row, as
// torchvision.ops.batched_nms: by falling score (ties in row order), a
// detection whose IoU with a kept one of its class exceeds `iou` is
// dropped. The kept ones stay in row order.
void suppress_overlaps(std::vector<float>& row, double iou);

// The detections of `row` suppress_overlaps keeps, by index, in falling
// score order.
std::vector<size_t> kept_after_overlaps(const std::vector<float>& row, double iou);

// Appends one raw detection to `row`.
void append_detection(std::vector<float>& row, float x1, float y1, float x2, float y2, float score, int label);

struct DetectorOptions {
  std::optional<double> confidence_thresh;  // drop detections scoring below this
  std::vector<std::string> classes;         // label names by index; empty or short: the index as a string
};

// A box relative to the original image: top-left corner and size, each in
// [0, 1] (FiftyOne's bounding_box).
struct RelativeBox {
  double x = 0;
  double y = 0;
  double width = 0;
  double height = 0;
};

// The box x1, y1, x2, y2 in model-input pixels, in coordinates relative to
// the original image of `geometry`, clipped to the image. Zero width or
// height when the box lies outside it.
RelativeBox relative_box(double x1, double y1, double x2, double y2, const media::InputGeometry& geometry);

// The Detections label for one image's raw detections (`row`, see
// k_detection_values), in the order given: {"_cls":"Detections",
// "detections":[{"_cls":"Detection","label":…,"bounding_box":[x,y,w,h],
// "confidence":…}]}. Detections below the threshold, and boxes with no
// area inside the image, are left out.
nlohmann::ordered_json detections_json(const std::vector<float>& row, const media::InputGeometry& geometry,
                                       const DetectorOptions& options);

// Collects COCO detection results: an "images" list (id, file_name,
// width, height, and frame_number for video frames), "categories" (the
// classes, ids from 1) and "annotations" (id, image_id, category_id,
// absolute bbox [x, y, w, h] in pixels of the original image, area,
// iscrowd 0, score). Category ids are the class indices plus 1, except for
// a label set that starts with "__background__" (torchvision's detectors:
// their class indices are COCO's category ids), where they are the indices
// and the background is not a category. Memory grows with the number of
// detections.
class CocoResults {
 public:
  explicit CocoResults(std::vector<std::string> classes);

  // Adds an image and its detections (a row as detections_json takes, same
  // filtering).
  void add(const std::string& path, int64_t frame_number, const media::InputGeometry& geometry,
           const std::vector<float>& row, const DetectorOptions& options);

  // The whole document.
  nlohmann::ordered_json to_json() const;

 private:
  std::vector<std::string> m_classes;
  nlohmann::ordered_json m_images = nlohmann::ordered_json::array();
  nlohmann::ordered_json m_annotations = nlohmann::ordered_json::array();
  int64_t m_max_label = -1;
  int64_t m_first_id = 1;  // the category id of class index 0
};

}  // namespace zoo::inference
