#include "eval/detection.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "eval/label_lines.hpp"
#include "eval/paths.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/strings.hpp"
#include "util/json_text.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace zoo::eval {
namespace {

constexpr size_t k_max_detections = 100;  // per image and class, as COCOeval's maxDets[-1]
constexpr int k_thresholds = 10;           // IoU 0.50:0.05:0.95
constexpr int k_recall_points = 101;

// numpy.linspace(start, stop, num) as COCOeval builds its thresholds: the
// same doubles, so a recall or IoU exactly on a threshold falls the same way.
std::vector<double> linspace(double start, double stop, int num) {
  std::vector<double> values(static_cast<size_t>(num));
  const double step = (stop - start) / double(num - 1);
  for (int i = 0; i < num; ++i) values[size_t(i)] = double(i) * step + start;
  values.back() = stop;
  return values;
}

double ratio(int64_t part, int64_t whole) { return whole > 0 ? double(part) / double(whole) : 0.0; }

// COCO's bounding-box IoU (maskApi bbIou): for a crowd box, the overlap
// over the detection's area.
double iou(const Box& d, const Box& g, bool crowd) {
  const double w = std::min(d.x + d.w, g.x + g.w) - std::max(d.x, g.x);
  if (w <= 0) return 0;
  const double h = std::min(d.y + d.h, g.y + g.h) - std::max(d.y, g.y);
  if (h <= 0) return 0;
  const double inter = w * h;
  const double u = crowd ? d.w * d.h : d.w * d.h + g.w * g.h - inter;
  return u > 0 ? inter / u : 0;
}

Box read_box(const json& value, const std::string& where) {
  if (!value.is_array() || value.size() != 4 || !std::all_of(value.begin(), value.end(), [](const json& v) {
        return v.is_number();
      })) {
    throw Error(ErrorKind::data, "{}: a box is [x, y, width, height], 4 numbers", where);
  }
  Box box{value[0].get<double>(), value[1].get<double>(), value[2].get<double>(), value[3].get<double>()};
  if (!std::isfinite(box.x + box.y + box.w + box.h) || box.w < 0 || box.h < 0) {
    throw Error(ErrorKind::data, "{}: the box [{}, {}, {}, {}] has a negative or non-finite size", where, box.x,
                box.y, box.w, box.h);
  }
  return box;
}

json parse_json(const std::string& path) {
  try {
    return util::parse_json<json>(util::read_file(path));
  } catch (const json::exception& e) {
    throw Error(ErrorKind::data, "{}: not JSON: {}", path, e.what());
  }
}

int64_t get_id(const json& item, const char* key, const std::string& where) {
  if (!item.is_object() || !item.contains(key) || !item[key].is_number_integer()) {
    throw Error(ErrorKind::data, "{}: needs an integer \"{}\"", where, key);
  }
  return item[key].get<int64_t>();
}

// The class index of each category id of a COCO document.
std::unordered_map<int64_t, int> category_index(const json& categories, const DetectionTruth& truth,
                                                const std::string& file) {
  std::unordered_map<int64_t, int> index;
  for (size_t i = 0; i < categories.size(); ++i) {
    const std::string where = fmt::format("{}: categories[{}]", file, i);
    const int64_t id = get_id(categories[i], "id", where);
    if (!categories[i].contains("name") || !categories[i]["name"].is_string()) {
      throw Error(ErrorKind::data, "{}: needs a string \"name\"", where);
    }
    auto it = std::find(truth.classes.begin(), truth.classes.end(), categories[i]["name"].get<std::string>());
    index[id] = it == truth.classes.end() ? -1 : int(it - truth.classes.begin());
  }
  return index;
}

}  // namespace

bool is_coco_truth(const std::string& path) {
  if (!util::ends_with(util::to_lower(path), ".json")) return false;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  try {
    const json doc = util::parse_json<json>(util::read_file(path));
    return doc.is_object() && doc.contains("images") && doc.contains("annotations") && doc.contains("categories");
  } catch (const std::exception&) {
    return false;  // a JSON Lines list, for instance
  }
}

DetectionTruth load_detection_truth(const std::string& path) {
  const json doc = parse_json(path);
  if (!doc.is_object() || !doc["images"].is_array() || !doc["annotations"].is_array() ||
      !doc["categories"].is_array()) {
    throw Error(ErrorKind::data, "{}: a COCO document has \"images\", \"annotations\" and \"categories\" lists", path);
  }
  DetectionTruth truth;
  truth.source = path;
  std::map<int64_t, std::string> categories;
  for (size_t i = 0; i < doc["categories"].size(); ++i) {
    const json& c = doc["categories"][i];
    const std::string where = fmt::format("{}: categories[{}]", path, i);
    const int64_t id = get_id(c, "id", where);
    if (!c.contains("name") || !c["name"].is_string()) throw Error(ErrorKind::data, "{}: needs a string \"name\"", where);
    if (!categories.emplace(id, c["name"].get<std::string>()).second) {
      throw Error(ErrorKind::data, "{}: category id {} appears twice", where, id);
    }
  }
  std::unordered_map<int64_t, int> class_of;
  for (const auto& [id, name] : categories) {
    if (std::find(truth.classes.begin(), truth.classes.end(), name) != truth.classes.end()) {
      throw Error(ErrorKind::data, "{}: two categories are named \"{}\"", path, name);
    }
    class_of[id] = int(truth.classes.size());
    truth.classes.push_back(name);
    truth.category_ids.push_back(id);
  }
  const fs::path base = fs::path(path).parent_path();
  std::unordered_map<int64_t, size_t> image_of;
  for (size_t i = 0; i < doc["images"].size(); ++i) {
    const json& image = doc["images"][i];
    const std::string where = fmt::format("{}: images[{}]", path, i);
    const int64_t id = get_id(image, "id", where);
    if (!image.contains("file_name") || !image["file_name"].is_string()) {
      throw Error(ErrorKind::data, "{}: needs a string \"file_name\"", where);
    }
    if (!image_of.emplace(id, truth.paths.size()).second) {
      throw Error(ErrorKind::data, "{}: image id {} appears twice", where, id);
    }
    fs::path file = image["file_name"].get<std::string>();
    if (file.is_relative()) file = base / file;
    truth.paths.push_back(file.string());
    truth.image_ids.push_back(id);
  }
  truth.boxes.resize(truth.paths.size());
  std::set<int64_t> annotation_ids;
  for (size_t i = 0; i < doc["annotations"].size(); ++i) {
    const json& a = doc["annotations"][i];
    const std::string where = fmt::format("{}: annotations[{}]", path, i);
    const int64_t image = get_id(a, "image_id", where), category = get_id(a, "category_id", where);
    if (!image_of.count(image)) throw Error(ErrorKind::data, "{}: image_id {} is not in \"images\"", where, image);
    if (!class_of.count(category)) {
      throw Error(ErrorKind::data, "{}: category_id {} is not in \"categories\"", where, category);
    }
    if (!a.contains("bbox")) throw Error(ErrorKind::data, "{}: needs a \"bbox\"", where);
    if (a.contains("id") && a["id"].is_number_integer() && !annotation_ids.insert(a["id"].get<int64_t>()).second) {
      throw Error(ErrorKind::data, "{}: annotation id {} appears twice", where, a["id"].get<int64_t>());
    }
    // As COCOeval reads them: iscrowd as an integer for the IoU and the
    // matching, as a truth value (with the area range) for ignoring.
    double iscrowd = 0;
    if (a.contains("iscrowd")) {
      const json& v = a["iscrowd"];
      iscrowd = v.is_boolean() ? double(v.get<bool>()) : v.is_number() ? v.get<double>() : 0.0;
    }
    const bool crowd = std::trunc(iscrowd) != 0;
    bool ignore = iscrowd != 0;
    if (a.contains("area") && a["area"].is_number()) {
      const double area = a["area"].get<double>();
      ignore = ignore || area < 0 || area > 1e10;
    }
    truth.boxes[image_of[image]].push_back({read_box(a["bbox"], where), class_of[category], crowd, ignore});
  }
  PathIndex check(truth.paths, path);  // refuses an image listed twice
  return truth;
}

namespace {

// The index of class `name` in the truth, or -1.
int class_index(const DetectionTruth& truth, const std::string& name) {
  auto it = std::find(truth.classes.begin(), truth.classes.end(), name);
  return it == truth.classes.end() ? -1 : int(it - truth.classes.begin());
}

// Adds a detection of class `category` to `boxes`, or counts it as a label
// the truth does not have (category -1).
void add_detection(DetectionLabels& labels, std::vector<Detected>& boxes, const Box& box, int category, double score) {
  if (category < 0) {
    ++labels.unknown_labels;
  } else {
    boxes.push_back({box, category, score});
  }
}

// A pycocotools results list: the truth's image and category ids.
void read_results_list(const std::string& file, const DetectionTruth& truth, DetectionLabels& labels) {
  const json list = parse_json(file);
  std::unordered_map<int64_t, size_t> image_of;
  for (size_t i = 0; i < truth.image_ids.size(); ++i) image_of[truth.image_ids[i]] = i;
  std::unordered_map<int64_t, int> class_of;
  for (size_t c = 0; c < truth.category_ids.size(); ++c) class_of[truth.category_ids[c]] = int(c);
  labels.paths = truth.paths;  // every truth image is there, with or without boxes
  labels.boxes.resize(truth.paths.size());
  labels.errors.resize(truth.paths.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = fmt::format("{}: [{}]", file, i);
    const int64_t image = get_id(list[i], "image_id", where), category = get_id(list[i], "category_id", where);
    if (!image_of.count(image)) throw Error(ErrorKind::data, "{}: image_id {} is not in the truth", where, image);
    if (!list[i].contains("bbox") || !list[i].contains("score") || !list[i]["score"].is_number()) {
      throw Error(ErrorKind::data, "{}: a result needs \"bbox\" and a number \"score\"", where);
    }
    add_detection(labels, labels.boxes[image_of[image]], read_box(list[i]["bbox"], where),
        class_of.count(category) ? class_of[category] : -1, list[i]["score"].get<double>());
  }
}

// zoo apply --format coco-dataset: one document, images by file name.
void read_coco_document(const json& doc, const std::string& file, const DetectionTruth& truth,
                        DetectionLabels& labels) {
  if (!doc["images"].is_array() || !doc["annotations"].is_array() || !doc["categories"].is_array()) {
    throw Error(ErrorKind::data, "{}: a COCO results document has \"images\", \"annotations\" and \"categories\"",
                file);
  }
  const auto class_of = category_index(doc["categories"], truth, file);
  std::unordered_map<int64_t, size_t> record_of;
  for (size_t i = 0; i < doc["images"].size(); ++i) {
    const json& image = doc["images"][i];
    const std::string where = fmt::format("{}: images[{}]", file, i);
    const int64_t id = get_id(image, "id", where);
    if (!image.contains("file_name") || !image["file_name"].is_string()) {
      throw Error(ErrorKind::data, "{}: needs a string \"file_name\"", where);
    }
    record_of[id] = labels.paths.size();
    labels.paths.push_back(image["file_name"].get<std::string>());
    labels.boxes.emplace_back();
    labels.errors.emplace_back();
  }
  for (size_t i = 0; i < doc["annotations"].size(); ++i) {
    const json& a = doc["annotations"][i];
    const std::string where = fmt::format("{}: annotations[{}]", file, i);
    const int64_t image = get_id(a, "image_id", where), category = get_id(a, "category_id", where);
    if (!record_of.count(image)) throw Error(ErrorKind::data, "{}: image_id {} is not in \"images\"", where, image);
    if (!a.contains("bbox") || !a.contains("score") || !a["score"].is_number()) {
      throw Error(ErrorKind::data, "{}: a result needs \"bbox\" and a number \"score\"", where);
    }
    auto it = class_of.find(category);
    add_detection(labels, labels.boxes[record_of[image]], read_box(a["bbox"], where), it == class_of.end() ? -1 : it->second,
        a["score"].get<double>());
  }
}

// JSON Lines: FiftyOne Detections with boxes relative to width x height.
void read_detection_lines(const std::string& text, const std::string& file, const DetectionTruth& truth,
                          const std::string& field, DetectionLabels& labels) {
  PathIndex truth_index(truth.paths, truth.source);
  RecordLines lines(file);
  std::istringstream in(text);
  for_each_label_line<json>(in, file, [&](const LabelLine<json>& r) {
    const std::string& path = r.filepath;
    const std::string& where = r.where;
    const json& record = r.record;
    if (r.frame > 0) {
      if (truth_index.find(path)) {
        throw Error(ErrorKind::data, "{}: a frame of the video {}, which the truth lists; zoo eval scores one label "
                    "per image file", where, path);
      }
      return;
    }
    lines.add(path, 0, r.number);
    labels.paths.push_back(path);
    labels.boxes.emplace_back();
    labels.errors.emplace_back();
    if (r.error) {
      labels.errors.back() = *r.error;
      return;
    }
    if (!record.contains(field)) {
      throw Error(ErrorKind::data, "{}: the record has neither \"{}\" nor \"error\" (--label-field{})", where, field,
                  field == "predictions" ? "; a keypoints model writes predictions_detections" : "");
    }
    const json& label = record[field];
    if (label.is_null()) return;
    if (!label.is_object() || label.value("_cls", std::string()) != "Detections" || !label.contains("detections") ||
        !label["detections"].is_array()) {
      throw Error(ErrorKind::data, "{}: \"{}\" is not a Detections label; detection truth scores detectors", where,
                  field);
    }
    if (!record.contains("width") || !record.contains("height") || !record["width"].is_number() ||
        !record["height"].is_number()) {
      throw Error(ErrorKind::data, "{}: needs the image's \"width\" and \"height\" for its relative boxes", where);
    }
    const double width = record["width"].get<double>(), height = record["height"].get<double>();
    for (const auto& d : label["detections"]) {
      if (!d.is_object() || !d.contains("label") || !d["label"].is_string() || !d.contains("bounding_box")) {
        throw Error(ErrorKind::data, "{}: a Detection needs \"label\" and \"bounding_box\"", where);
      }
      const Box rel = read_box(d["bounding_box"], where);
      const double score = d.contains("confidence") && d["confidence"].is_number() ? d["confidence"].get<double>() : 0;
      add_detection(labels, labels.boxes.back(), {rel.x * width, rel.y * height, rel.w * width, rel.h * height},
          class_index(truth, d["label"].get<std::string>()), score);
    }
  });
}

}  // namespace

DetectionLabels read_detection_labels(const std::string& file, const DetectionTruth& truth, const std::string& field) {
  DetectionLabels labels;
  labels.name = file;
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) throw Error(ErrorKind::io, "{}: cannot read labels file", file);
  const std::string text = util::read_file(file);
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) throw Error(ErrorKind::data, "{}: no label records", file);
  if (text[first] == '[') {
    read_results_list(file, truth, labels);
    return labels;
  }
  std::optional<json> doc;
  try {
    doc = util::parse_json<json>(text);
  } catch (const json::exception&) {
  }
  if (doc && doc->is_object() && doc->contains("annotations")) {
    read_coco_document(*doc, file, truth, labels);
    return labels;
  }
  read_detection_lines(text, file, truth, field, labels);
  if (labels.paths.empty()) throw Error(ErrorKind::data, "{}: no label records", file);
  return labels;
}

namespace {

// The detections of each truth image (nullptr: no record, or an error
// record), counting in `s` the records that match no image, the failed
// and the missing images.
std::vector<const std::vector<Detected>*> detections_by_image(const DetectionTruth& truth,
                                                              const DetectionLabels& labels,
                                                              const std::string& labels_file, DetectionScore& s) {
  PathIndex truth_index(truth.paths, truth.source);
  std::vector<const std::vector<Detected>*> found(truth.paths.size(), nullptr);
  std::vector<bool> has_record(truth.paths.size(), false);
  for (size_t r = 0; r < labels.paths.size(); ++r) {
    const auto image = truth_index.find(labels.paths[r]);
    if (!image) {
      ++s.unmatched;
      continue;
    }
    has_record[*image] = true;
    if (labels.errors[r].empty()) {
      found[*image] = &labels.boxes[r];
    } else {
      ++s.failed;
    }
  }
  if (s.unmatched == s.records && s.images > 0) {
    throw Error(ErrorKind::data,
                "{}: none of its {} match an image of {} (e.g. \"{}\" against \"{}\"; file_name is relative to the "
                "truth's folder, record paths to the current one)",
                labels_file, util::count_of(s.records, "record"), truth.source, labels.paths.front(),
                truth.paths.front());
  }
  for (bool present : has_record) s.missing += present ? 0 : 1;
  return found;
}

// One class's detections over all images, each matched or not (and
// matched to an ignored box or not) at every IoU threshold, as COCOeval's
// evaluateImg does.
struct ClassMatches {
  std::vector<double> scores;                    // [detection]
  std::vector<std::vector<char>> matched, ignored;  // [threshold][detection]
};

// Matches one image's detections (best score first) to its truth boxes
// (not ignored first) at every threshold.
void match_image(const std::vector<Detected>& dts, const std::vector<TruthBox>& gts,
                 const std::vector<double>& thresholds, ClassMatches& m) {
  for (int t = 0; t < k_thresholds; ++t) {
    std::vector<bool> gt_taken(gts.size(), false);
    for (const auto& d : dts) {
      double best = std::min(thresholds[size_t(t)], 1 - 1e-10);
      int match = -1;
      for (size_t g = 0; g < gts.size(); ++g) {
        if (gt_taken[g] && !gts[g].crowd) continue;
        if (match > -1 && !gts[size_t(match)].ignore && gts[g].ignore) break;  // ignored boxes only when nothing else matched
        const double o = iou(d.box, gts[g].box, gts[g].crowd);
        if (o < best) continue;
        best = o;
        match = int(g);
      }
      m.matched[size_t(t)].push_back(match > -1);
      m.ignored[size_t(t)].push_back(match > -1 && gts[size_t(match)].ignore);
      if (match > -1) gt_taken[size_t(match)] = true;
    }
  }
}

ClassMatches match_class(int c, const DetectionTruth& truth, const std::vector<const std::vector<Detected>*>& found,
                         const std::vector<size_t>& image_order, const std::vector<double>& thresholds,
                         DetectionClassScore& cs) {
  ClassMatches m;
  m.matched.resize(k_thresholds);
  m.ignored.resize(k_thresholds);
  for (size_t image : image_order) {
    std::vector<TruthBox> gts;  // not ignored first (stable), as COCOeval sorts them
    for (const auto& g : truth.boxes[image]) {
      if (c == g.category && !g.ignore) gts.push_back(g);
    }
    for (const auto& g : truth.boxes[image]) {
      if (c == g.category && g.ignore) gts.push_back(g);
    }
    for (const auto& g : gts) cs.objects += g.ignore ? 0 : 1;
    std::vector<Detected> dts;
    if (found[image]) {
      for (const auto& d : *found[image]) {
        if (d.category == c) dts.push_back(d);
      }
    }
    std::stable_sort(dts.begin(), dts.end(), [](const Detected& a, const Detected& b) { return a.score > b.score; });
    if (dts.size() > k_max_detections) dts.resize(k_max_detections);
    cs.detections += int64_t(dts.size());
    for (const auto& d : dts) m.scores.push_back(d.score);
    match_image(dts, gts, thresholds, m);
  }
  return m;
}

// The average precision at one threshold from its matches, the detections
// in `order` (best score first), as COCOeval's accumulate computes it: the
// interpolated precision at each recall point, averaged. `curve`, when
// given, receives the precision at each recall point.
double average_precision(const std::vector<size_t>& order, const std::vector<char>& matched,
                         const std::vector<char>& ignored, int64_t objects, const std::vector<double>& recall_points,
                         std::vector<double>* curve = nullptr) {
  const size_t n = order.size();
  std::vector<double> recall(n), precision(n);
  double tp = 0, fp = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t d = order[i];
    const bool is_matched = matched[d], is_ignored = ignored[d];
    if (is_matched && !is_ignored) tp += 1;
    if (!is_matched && !is_ignored) fp += 1;
    recall[i] = tp / double(objects);
    precision[i] = tp / (fp + tp + 2.220446049250313e-16);  // numpy.spacing(1), as COCOeval
  }
  for (size_t i = n; i-- > 1;) precision[i - 1] = std::max(precision[i - 1], precision[i]);
  double sum = 0;
  if (curve) curve->clear();
  for (double r : recall_points) {
    const size_t at = size_t(std::lower_bound(recall.begin(), recall.end(), r) - recall.begin());
    const double p = at < n ? precision[at] : 0.0;
    sum += p;
    if (curve) curve->push_back(p);
  }
  return sum / double(k_recall_points);
}

}  // namespace

DetectionScore score_detections(const DetectionTruth& truth, const DetectionLabels& labels,
                                const std::string& labels_file) {
  DetectionScore s;
  s.labels_file = labels_file;
  s.images = int64_t(truth.paths.size());
  s.records = int64_t(labels.paths.size());
  s.unknown_labels = labels.unknown_labels;
  const std::vector<const std::vector<Detected>*> found = detections_by_image(truth, labels, labels_file, s);

  // COCOeval goes through the images in order of their ids.
  std::vector<size_t> image_order(truth.paths.size());
  std::iota(image_order.begin(), image_order.end(), 0);
  std::stable_sort(image_order.begin(), image_order.end(),
                   [&](size_t a, size_t b) { return truth.image_ids[a] < truth.image_ids[b]; });
  const std::vector<double> thresholds = linspace(0.5, 0.95, k_thresholds);
  const std::vector<double> recall_points = linspace(0.0, 1.0, k_recall_points);

  double map_sum = 0, ap50_sum = 0, ap75_sum = 0;
  int classes_with_boxes = 0;
  for (size_t c = 0; c < truth.classes.size(); ++c) {
    DetectionClassScore cs;
    cs.name = truth.classes[c];
    const ClassMatches m = match_class(int(c), truth, found, image_order, thresholds, cs);
    std::vector<size_t> order(m.scores.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return m.scores[a] > m.scores[b]; });
    // The counts at IoU 0.5, for every class.
    int64_t tp50 = 0, fp50 = 0;
    for (size_t d = 0; d < m.scores.size(); ++d) {
      if (!m.ignored[0][d]) (m.matched[0][d] ? tp50 : fp50) += 1;
    }
    cs.true_positives = tp50;
    cs.precision = ratio(tp50, tp50 + fp50);
    cs.recall = ratio(tp50, cs.objects);
    s.true_positives += tp50;
    s.false_positives += fp50;
    s.false_negatives += cs.objects - tp50;
    if (cs.objects == 0) {  // no AP without boxes (COCOeval's -1)
      s.classes.push_back(cs);
      continue;
    }
    std::vector<double> ap(k_thresholds, 0.0);
    for (int t = 0; t < k_thresholds; ++t) {
      ap[size_t(t)] = average_precision(order, m.matched[size_t(t)], m.ignored[size_t(t)], cs.objects, recall_points,
                                        t == 0 ? &cs.pr50 : nullptr);
    }
    cs.ap = std::accumulate(ap.begin(), ap.end(), 0.0) / k_thresholds;
    cs.ap50 = ap[0];
    cs.ap75 = ap[5];
    map_sum += cs.ap;
    ap50_sum += cs.ap50;
    ap75_sum += cs.ap75;
    ++classes_with_boxes;
    s.classes.push_back(cs);
  }
  if (classes_with_boxes > 0) {
    s.map = map_sum / classes_with_boxes;
    s.ap50 = ap50_sum / classes_with_boxes;
    s.ap75 = ap75_sum / classes_with_boxes;
  }
  s.precision = ratio(s.true_positives, s.true_positives + s.false_positives);
  s.recall = ratio(s.true_positives, s.true_positives + s.false_negatives);
  return s;
}

const MetricTable& detection_metrics() {
  static const MetricTable table = {{"map", "ap50", "ap75", "precision", "recall"},
                                    {"tp", "fp", "fn", "failed", "missing"},
                                    {"ap", "ap50", "precision", "recall"},
                                    "map=0.5"};
  return table;
}

std::vector<GateResult> check_detection_gates(const std::vector<Gate>& gates, const DetectionScore& s) {
  std::vector<GateResult> results;
  for (const auto& gate : gates) {
    double actual = 0;
    if (const std::string name = gate_class(gate); !name.empty()) {
      const std::string family = gate.metric.substr(0, gate.metric.find(':'));
      auto it = std::find_if(s.classes.begin(), s.classes.end(),
                             [&](const DetectionClassScore& c) { return c.name == name; });
      if (it == s.classes.end()) throw Error(ErrorKind::usage, "gate {}: no class \"{}\" in the truth", gate.text, name);
      if ((family == "ap" || family == "ap50" || family == "recall") && it->objects == 0) {
        throw Error(ErrorKind::data, "gate {}: the truth has no boxes of \"{}\": nothing to measure", gate.text, name);
      }
      actual = family == "ap" ? it->ap : family == "ap50" ? it->ap50 : family == "precision" ? it->precision : it->recall;
    } else if ((gate.metric == "map" || gate.metric == "ap50" || gate.metric == "ap75") && s.map < 0) {
      throw Error(ErrorKind::data, "gate {}: the truth has no boxes: no AP to measure", gate.text);
    } else if (gate.metric == "map") {
      actual = s.map;
    } else if (gate.metric == "ap50") {
      actual = s.ap50;
    } else if (gate.metric == "ap75") {
      actual = s.ap75;
    } else if (gate.metric == "precision") {
      actual = s.precision;
    } else if (gate.metric == "recall") {
      actual = s.recall;
    } else if (gate.metric == "tp") {
      actual = double(s.true_positives);
    } else if (gate.metric == "fp") {
      actual = double(s.false_positives);
    } else if (gate.metric == "fn") {
      actual = double(s.false_negatives);
    } else if (gate.metric == "failed") {
      actual = double(s.failed);
    } else {  // missing
      actual = double(s.missing);
    }
    results.push_back(judge(gate, actual));
  }
  return results;
}

std::string detection_report_json(const DetectionTruth& truth, const DetectionScore& s,
                                  const std::vector<GateResult>& gates) {
  nlohmann::ordered_json report = {
      {"labels", s.labels_file}, {"truth", truth.source},       {"images", s.images},
      {"records", s.records},    {"failed", s.failed},          {"missing", s.missing},
      {"unmatched", s.unmatched}, {"unknown_labels", s.unknown_labels},
      {"map", rounded(s.map)}, {"ap50", rounded(s.ap50)},
      {"ap75", rounded(s.ap75)},
      {"tp", s.true_positives},  {"fp", s.false_positives},     {"fn", s.false_negatives},
      {"precision", rounded(s.precision)}, {"recall", rounded(s.recall)}};
  auto per_class = nlohmann::ordered_json::array();
  for (const auto& c : s.classes) {
    per_class.push_back({{"label", c.name},
                         {"objects", c.objects},
                         {"detections", c.detections},
                         {"tp", c.true_positives},
                         {"ap", rounded(c.ap)},
                         {"ap50", rounded(c.ap50)},
                         {"ap75", rounded(c.ap75)},
                         {"precision", rounded(c.precision)},
                         {"recall", rounded(c.recall)}});
    if (!c.pr50.empty()) {
      auto curve = nlohmann::ordered_json::array();
      for (double p : c.pr50) curve.push_back(rounded(p));
      per_class.back()["pr50"] = curve;
    }
  }
  report["per_class"] = per_class;
  if (!gates.empty()) {
    auto items = nlohmann::ordered_json::array();
    bool passed = true;
    for (const auto& g : gates) {
      items.push_back({{"gate", g.gate.text}, {"actual", g.gate.rate ? rounded(g.actual) : g.actual}, {"passed", g.passed}});
      passed = passed && g.passed;
    }
    report["gates"] = items;
    report["passed"] = passed;
  }
  return util::dump_json(report, 2) + "\n";
}

std::string detection_report_text(const DetectionTruth& truth, const DetectionScore& s,
                                  const std::vector<GateResult>& gates) {
  std::string out;
  auto line = [&out](const std::string& text) { out += text + "\n"; };
  int64_t objects = 0;
  for (const auto& c : s.classes) objects += c.objects;
  line(fmt::format("labels: {} ({})", s.labels_file, util::count_of(s.records, "record")));
  line(fmt::format("truth:  {} ({}, {} boxes, {} {})", truth.source, util::count_of(s.images, "image"), objects,
                   truth.classes.size(), truth.classes.size() == 1 ? "class" : "classes"));
  auto ap_text = [](double ap) { return ap < 0 ? std::string("-") : percent(ap); };
  line(fmt::format("mAP      {:>8}  (AP over IoU 0.50:0.95, COCO's 101-point precision{})", ap_text(s.map),
                   s.map < 0 ? "; the truth has no boxes" : ""));
  line(fmt::format("AP50     {:>8}", ap_text(s.ap50)));
  line(fmt::format("AP75     {:>8}", ap_text(s.ap75)));
  std::string notes = fmt::format("{} failed, {} missing images", s.failed, s.missing);
  if (s.unmatched) notes += fmt::format(", {} not in the truth", util::count_of(s.unmatched, "record"));
  if (s.unknown_labels) notes += fmt::format(", {} of labels the truth has no class for", util::count_of(s.unknown_labels, "detection"));
  line(fmt::format("at IoU 0.5: {}, {}, {} missed (precision {}, recall {}); {}",
                   util::count_of(s.true_positives, "true positive"), util::count_of(s.false_positives, "false positive"),
                   s.false_negatives, percent(s.precision), percent(s.recall), notes));
  size_t width = 5;
  for (const auto& c : s.classes) width = std::max(width, std::min<size_t>(c.name.size(), 40));
  line("");
  line(fmt::format("{:<{}}  {:>6}  {:>10}  {:>8}  {:>8}  {:>9}  {:>8}", "class", width, "boxes", "detections", "AP",
                   "AP50", "precision", "recall"));
  for (const auto& c : s.classes) {
    line(fmt::format("{:<{}}  {:>6}  {:>10}  {:>8}  {:>8}  {:>9}  {:>8}", c.name, width, c.objects, c.detections,
                     c.ap < 0 ? "-" : percent(c.ap), c.ap50 < 0 ? "-" : percent(c.ap50), percent(c.precision),
                     c.objects ? percent(c.recall) : "-"));
  }
  if (!gates.empty()) {
    line("");
    for (const auto& g : gates) line(gate_line(g));
  }
  return out;
}

}  // namespace zoo::eval
