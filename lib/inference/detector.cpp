#include "inference/detector.hpp"

#include <algorithm>
#include <cmath>

#include "inference/classifier.hpp"

namespace zoo::inference {
namespace {

std::string label_of(int64_t index, const std::vector<std::string>& classes) {
  return index >= 0 && size_t(index) < classes.size() ? classes[size_t(index)] : std::to_string(index);
}

// Calls `use(box, score, label)` for each detection of `row` that passes the
// threshold and has an area inside the image.
template <typename Use>
void for_each_detection(const std::vector<float>& row, const media::InputGeometry& geometry,
                        const DetectorOptions& options, Use&& use) {
  const double thresh = options.confidence_thresh.value_or(-1.0);
  for (size_t at = 0; at + k_detection_values <= row.size(); at += k_detection_values) {
    const float score = row[at + 4];
    if (!(score >= thresh)) continue;  // NaN scores are dropped too
    const RelativeBox box = relative_box(row[at], row[at + 1], row[at + 2], row[at + 3], geometry);
    if (box.width <= 0 || box.height <= 0) continue;
    use(box, score, static_cast<int64_t>(std::lround(row[at + 5])));
  }
}

}  // namespace

void suppress_overlaps(std::vector<float>& row, double iou) {
  std::vector<size_t> kept = kept_after_overlaps(row, iou);
  std::sort(kept.begin(), kept.end());
  std::vector<float> out;
  for (size_t i : kept) {
    out.insert(out.end(), row.begin() + long(i * k_detection_values), row.begin() + long((i + 1) * k_detection_values));
  }
  row = std::move(out);
}

std::vector<size_t> kept_after_overlaps(const std::vector<float>& row, double iou) {
  const size_t n = row.size() / k_detection_values;
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  auto at = [&](size_t i, size_t k) { return double(row[i * k_detection_values + k]); };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return at(a, 4) > at(b, 4); });
  auto area = [&](size_t i) {
    return std::max(0.0, at(i, 2) - at(i, 0)) * std::max(0.0, at(i, 3) - at(i, 1));
  };
  std::vector<bool> dropped(n, false);
  for (size_t a = 0; a < n; ++a) {
    const size_t i = order[a];
    if (dropped[i]) continue;
    for (size_t b = a + 1; b < n; ++b) {
      const size_t j = order[b];
      if (dropped[j] || at(i, 5) != at(j, 5)) continue;
      const double w = std::min(at(i, 2), at(j, 2)) - std::max(at(i, 0), at(j, 0));
      const double h = std::min(at(i, 3), at(j, 3)) - std::max(at(i, 1), at(j, 1));
      if (w <= 0 || h <= 0) continue;
      const double inter = w * h;
      const double uni = area(i) + area(j) - inter;
      if (uni > 0 && inter / uni > iou) dropped[j] = true;
    }
  }
  std::vector<size_t> kept;
  for (size_t i : order) {
    if (!dropped[i]) kept.push_back(i);
  }
  return kept;
}

void append_detection(std::vector<float>& row, float x1, float y1, float x2, float y2, float score, int label) {
  row.insert(row.end(), {x1, y1, x2, y2, score, float(label)});
}

RelativeBox relative_box(double x1, double y1, double x2, double y2, const media::InputGeometry& g) {
  RelativeBox box;
  if (g.resized_width <= 0 || g.resized_height <= 0) return box;
  // Input pixels -> resized image (undo the crop) -> relative (the resize
  // keeps relative positions).
  auto rel_x = [&](double x) { return std::clamp((x + g.offset_x) / g.resized_width, 0.0, 1.0); };
  auto rel_y = [&](double y) { return std::clamp((y + g.offset_y) / g.resized_height, 0.0, 1.0); };
  const double left = rel_x(std::min(x1, x2));
  const double right = rel_x(std::max(x1, x2));
  const double top = rel_y(std::min(y1, y2));
  const double bottom = rel_y(std::max(y1, y2));
  box.x = left;
  box.y = top;
  box.width = right - left;
  box.height = bottom - top;
  return box;
}

nlohmann::ordered_json detections_json(const std::vector<float>& row, const media::InputGeometry& geometry,
                                       const DetectorOptions& options) {
  auto detections = nlohmann::ordered_json::array();
  for_each_detection(row, geometry, options, [&](const RelativeBox& box, float score, int64_t label) {
    detections.push_back(nlohmann::ordered_json{
        {"_cls", "Detection"},
        {"label", label_of(label, options.classes)},
        {"bounding_box",
         {json_float(float(box.x)), json_float(float(box.y)), json_float(float(box.width)),
          json_float(float(box.height))}},
        {"confidence", json_float(score)}});
  });
  return nlohmann::ordered_json{{"_cls", "Detections"}, {"detections", std::move(detections)}};
}

CocoResults::CocoResults(std::vector<std::string> classes)
    : m_classes(std::move(classes)),
      m_first_id(!m_classes.empty() && m_classes[0] == "__background__" ? 0 : 1) {}

void CocoResults::add(const std::string& path, int64_t frame_number, const media::InputGeometry& geometry,
                      const std::vector<float>& row, const DetectorOptions& options) {
  const int64_t image_id = int64_t(m_images.size()) + 1;
  nlohmann::ordered_json image{{"id", image_id}, {"file_name", path}, {"width", geometry.width},
                               {"height", geometry.height}};
  if (frame_number > 0) image["frame_number"] = frame_number;
  m_images.push_back(std::move(image));
  for_each_detection(row, geometry, options, [&](const RelativeBox& box, float score, int64_t label) {
    m_max_label = std::max(m_max_label, label);
    const double w = box.width * geometry.width;
    const double h = box.height * geometry.height;
    m_annotations.push_back(nlohmann::ordered_json{
        {"id", int64_t(m_annotations.size()) + 1},
        {"image_id", image_id},
        {"category_id", label + m_first_id},
        {"bbox",
         {json_float(float(box.x * geometry.width)), json_float(float(box.y * geometry.height)), json_float(float(w)),
          json_float(float(h))}},
        {"area", json_float(float(w * h))},
        {"iscrowd", 0},
        {"score", json_float(score)}});
  });
}

nlohmann::ordered_json CocoResults::to_json() const {
  auto categories = nlohmann::ordered_json::array();
  const int64_t count = std::max<int64_t>(int64_t(m_classes.size()), m_max_label + 1);
  for (int64_t i = 1 - m_first_id; i < count; ++i) {
    categories.push_back({{"id", i + m_first_id}, {"name", label_of(i, m_classes)}});
  }
  return nlohmann::ordered_json{{"images", m_images}, {"categories", categories}, {"annotations", m_annotations}};
}

}  // namespace zoo::inference
