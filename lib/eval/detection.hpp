// zoo eval for detectors: scores boxes against COCO ground truth the way
// pycocotools' COCOeval does (bbox, all areas, at most 100 detections per
// image and class): AP averaged over IoU 0.50:0.05:0.95 (mAP), AP50, AP75,
// per-class AP, and the matches at IoU 0.5 as true and false positives
// and misses. No Torch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/gates.hpp"

namespace zoo::eval {

// A box in pixels of the original image: left, top, width, height.
struct Box {
  double x = 0, y = 0, w = 0, h = 0;
};

struct TruthBox {
  Box box;
  int category = 0;    // index into DetectionTruth::classes
  bool crowd = false;   // COCO iscrowd (as an integer): matches any number of detections, IoU over the detection's area
  bool ignore = false;  // iscrowd set, or an "area" outside [0, 1e10]: not counted, and what it matches is ignored
};

// COCO instances ground truth.
struct DetectionTruth {
  std::string source;
  std::vector<std::string> classes;          // category names, by category id
  std::vector<int64_t> category_ids;         // COCO id of each class
  std::vector<std::string> paths;            // image files: file_name, relative to the JSON's folder
  std::vector<int64_t> image_ids;            // COCO id of each image
  std::vector<std::vector<TruthBox>> boxes;  // per image
};

// True when `path` is a COCO instances document (a JSON object with
// "images", "annotations" and "categories"): zoo eval's detection mode.
bool is_coco_truth(const std::string& path);

// Reads COCO instances JSON. Throws zoo::Error(data) naming the file and
// the image or annotation at fault.
DetectionTruth load_detection_truth(const std::string& path);

struct Detected {
  Box box;
  int category = 0;  // index into DetectionTruth::classes
  double score = 0;
};

// Predicted boxes per record, read from what zoo apply writes for a
// detector: JSON Lines (Detections, relative boxes; video frames are
// ignored), a COCO results document (--format coco-dataset: images,
// annotations), or a pycocotools results list ([{image_id, category_id,
// bbox, score}], ids of the truth). Labels are matched to the truth's
// categories by name; other labels are counted and ignored.
struct DetectionLabels {
  std::string name;
  std::vector<std::string> paths;
  std::vector<std::vector<Detected>> boxes;
  std::vector<std::string> errors;  // non-empty: the input failed
  int64_t unknown_labels = 0;       // detections of a label the truth has no category for
};

// Throws zoo::Error(data) naming FILE:LINE (or the array element) at fault.
DetectionLabels read_detection_labels(const std::string& file, const DetectionTruth& truth,
                                      const std::string& field = "predictions");

struct DetectionClassScore {
  std::string name;
  int64_t objects = 0;         // truth boxes (not ignored)
  int64_t detections = 0;      // detections of this class (at most 100 per image)
  int64_t true_positives = 0;  // at IoU 0.5
  double ap = -1;              // over IoU 0.50:0.95; -1 when the truth has no box of this class
  double ap50 = -1, ap75 = -1;
  double precision = 0, recall = 0;  // at IoU 0.5
  // The precision-recall curve at IoU 0.5: the interpolated precision at
  // recall 0, 0.01, ..., 1 (COCOeval's precision[0, :, class, 0, 2]);
  // empty when the truth has no box of this class.
  std::vector<double> pr50;
};

struct DetectionScore {
  std::string labels_file;
  int64_t images = 0;     // truth images: every figure below is over these
  int64_t records = 0;
  int64_t failed = 0;     // images whose record is an error (their boxes are all missed)
  int64_t missing = 0;    // images with no record (likewise)
  int64_t unmatched = 0;  // records of images the truth does not list (ignored)
  int64_t unknown_labels = 0;
  double map = -1, ap50 = -1, ap75 = -1;  // means over the classes the truth has boxes of (-1: none has)
  int64_t true_positives = 0, false_positives = 0, false_negatives = 0;  // at IoU 0.5
  double precision = 0, recall = 0;                                        // at IoU 0.5
  std::vector<DetectionClassScore> classes;
};

// Scores `labels` against `truth`. Throws zoo::Error(data) when no record
// matches a truth image. The counts at IoU 0.5 take in every class: a
// detection of a class the truth has no boxes of is a false positive
// (COCOeval, which has no such counts, leaves those classes out).
DetectionScore score_detections(const DetectionTruth& truth, const DetectionLabels& labels,
                                const std::string& labels_file);

// map, ap50, ap75, precision, recall; ap:CLASS, ap50:CLASS, precision:CLASS,
// recall:CLASS; the counts tp, fp, fn, failed, missing.
const MetricTable& detection_metrics();

// Throws zoo::Error(data) for an AP gate that has nothing to measure (no
// boxes in the truth, or of the gate's class).
std::vector<GateResult> check_detection_gates(const std::vector<Gate>& gates, const DetectionScore& score);

std::string detection_report_json(const DetectionTruth& truth, const DetectionScore& score,
                                  const std::vector<GateResult>& gates);
std::string detection_report_text(const DetectionTruth& truth, const DetectionScore& score,
                                  const std::vector<GateResult>& gates);

}  // namespace zoo::eval
