// Output processors for torchvision-style detection and segmentation
// outputs: `detector` (boxes, labels, scores), `instance_segmenter` (+ a
// mask per box), `keypoints` (+ points per box) and `segmenter` (per-pixel
// class scores), turned into FiftyOne labels (Detections with masks,
// Keypoints, Segmentation) in coordinates of the original image, as
// fiftyone.utils.torch's DetectorOutputProcessor,
// InstanceSegmenterOutputProcessor, KeypointDetectorOutputProcessor and
// SemanticSegmenterOutputProcessor write them.
//
// Like the other processors, these cross the batch loop as one row of
// floats per image (layouts below), made on the model thread and turned
// into JSON by the writer.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inference/detector.hpp"
#include "media/image.hpp"
#include "models/list_model.hpp"

namespace zoo::inference {

enum class SpatialKind { detector, instance_segmenter, keypoints, segmenter };

// The kind for a config's output_processor ("detector", ...); nullopt for
// the others ("classifier").
std::optional<SpatialKind> spatial_kind(const std::string& output_processor);

// Row layouts (model-input pixels):
// - detector: detections as k_detection_values floats each (detector.hpp);
// - instance_segmenter: [n, n detections, then per detection: mask height,
//   mask width, its pixels row by row (0 or 1)] — the model's mask
//   probabilities cropped to the box rounded to whole pixels (half to
//   even, as FiftyOne's round()) and thresholded (> mask_thresh);
// - keypoints: [n, k, n detections, then n*k (x, y, confidence)] with
//   confidence the sigmoid of the model's keypoint score;
// - segmenter: [height, width, the class index of each pixel row by row].

// The row of one image's outputs of a list model ("boxes" [N, 4] xyxy,
// "labels" [N], "scores" [N]; "masks" [N, 1, H, W]; "keypoints" [N, K, 3]
// and "keypoints_scores" [N, K]). Throws zoo::Error(model) naming the
// missing or mis-shaped output.
void row_from_named_outputs(const models::NamedOutputs& outputs, SpatialKind kind, double mask_thresh,
                            std::vector<float>& row);

// Segmenter rows from a batch model's output [n, classes, H, W]: the
// argmax over classes (the first on ties). Throws zoo::Error(model) for
// another shape.
void segmentation_rows(const models::Output& output, size_t n, std::vector<std::vector<float>>& rows);

// Detector rows from a batch model's output [n, detections, 6]: x1, y1,
// x2, y2 in model-input pixels, score, class (the tfjs CenterNet's),
// suppressed class-wise (suppress_overlaps) when `nms` is set. Throws
// zoo::Error(model) for another shape.
void detector_rows(const models::Output& output, size_t n, std::optional<double> nms,
                   std::vector<std::vector<float>>& rows);

// Keypoints rows from a batch model's output [n, people, keypoints, 3]: y,
// x, score, the coordinates 0-1 of the width x height input (MoveNet's).
// Each person becomes a detection (a box around its points scored by their
// mean, class 0) with its points in input pixels. Throws zoo::Error(model)
// for another shape or an input size of 0 (the config fixes image_size).
void keypoint_rows(const models::Output& output, size_t n, int width, int height,
                   std::vector<std::vector<float>>& rows);

// SSD anchors made outside the model, as MediaPipe's BlazeFace: per
// stride, ceil(size / stride) cells each way, row by row, with per_cell
// anchors at each cell's centre, stride * (g + 0.5) input pixels.
struct AnchorGrid {
  std::vector<int> strides;
  std::vector<int> per_cell;
  int width = 0;   // the model input's
  int height = 0;
};

// The anchors' centres, x and y in input pixels, in the model's order.
std::vector<std::array<float, 2>> anchor_centres(const AnchorGrid& grid);

// Rows from a raw SSD output [n, anchors, 5 + 2K] against `grid` (score
// logit; box centre x, y offsets from the anchor, width, height; K points'
// x, y offsets; input pixels): the boxes scoring at least `min_score`
// (sigmoid of the logit), suppressed by `nms` when set, in falling score
// order, class 0. `points` makes keypoints rows (each point's confidence
// is its box's score), else detector rows. Throws zoo::Error(model) when
// the output does not match the grid.
void anchor_rows(const models::Output& output, size_t n, const AnchorGrid& grid, double min_score,
                 std::optional<double> nms, bool points, std::vector<std::vector<float>>& rows);

// The detections of a row of any kind but segmenter, as a detector row.
std::vector<float> detection_part(const std::vector<float>& row, SpatialKind kind);

// Where masks go: PNG files under a folder (the record holds `mask_path`,
// absolute), or inline (`mask_png`: the PNG, base64).
class MaskWriter {
 public:
  // `dir` "" = inline; otherwise created if missing. Throws zoo::Error(io)
  // when it cannot be created.
  explicit MaskWriter(std::string dir);

  // Stores a width x height 8-bit mask (16-bit when a value exceeds 255)
  // in `label`. `name` makes the file name unique within a run (see
  // mask_file_stem). Throws zoo::Error(io) when the file cannot be written.
  void attach(nlohmann::ordered_json& label, const std::vector<uint16_t>& pixels, int width, int height,
              const std::string& name) const;

 private:
  std::string m_dir;
};

// A file name stem for the masks of an input: its file stem, 8 hex digits
// of the path's sha256, and the frame number for video frames
// ("messi5-1a2b3c4d", "clip-1a2b3c4d-f12").
std::string mask_file_stem(const std::string& path, int64_t frame_number);

struct SpatialOptions {
  DetectorOptions detector;              // threshold and class names
  double mask_thresh = 0.5;              // instance_segmenter
  std::optional<double> keypoint_thresh; // keypoints: points less confident than this are NaN
};

// The labels of one image's row, as (key suffix, label) pairs: detector and
// instance_segmenter give {"", Detections}; keypoints gives
// {"_detections", Detections} and {"_keypoints", Keypoints} (FiftyOne's
// apply_model names a dict output's fields LABEL_FIELD_KEY); segmenter gives
// {"", Segmentation}. Masks go through `masks`, named from `stem`.
// Detections below the threshold or with no area inside the image are left
// out, with their masks and points. Keypoints: points relative to the
// original image, "confidence" per point, NaN coordinates (null in JSON)
// for points under keypoint_thresh.
std::vector<std::pair<std::string, nlohmann::ordered_json>> spatial_labels(const std::vector<float>& row,
                                                                           SpatialKind kind,
                                                                           const media::InputGeometry& geometry,
                                                                           const SpatialOptions& options,
                                                                           const MaskWriter& masks,
                                                                           const std::string& stem);

// A mask (0 or non-zero bytes, row by row) as COCO's compressed RLE
// counts string, as pycocotools' mask.encode writes it: run lengths of 0s
// then 1s in column-major order, each after the first two as the
// difference from the one two before, in 6-bit LEB128-like characters
// from '0' (maskApi.c's rleToString).
std::string coco_rle_counts(const std::vector<uint8_t>& mask, int width, int height);

// One kept detection as a COCO results entry takes it.
struct CocoDetection {
  int64_t label = 0;              // class index
  std::array<double, 4> bbox{};   // x, y, width, height in pixels of the original image
  float score = 0;
  std::string rle;                // instance_segmenter: the mask over the whole image (coco_rle_counts)
  std::vector<double> keypoints;  // keypoints: x, y, v per point in pixels; v 2, or 0 (and x = y = 0) below keypoint_thresh
  int num_keypoints = 0;          // points with v > 0
};

// The detections of a detector, instance_segmenter or keypoints row that
// spatial_labels keeps (same threshold, same boxes).
std::vector<CocoDetection> coco_detections(const std::vector<float>& row, SpatialKind kind,
                                           const media::InputGeometry& geometry, const SpatialOptions& options);

}  // namespace zoo::inference
