// --format coco-results: a detector's results as pycocotools' loadRes and
// COCOeval take them: one JSON list of {"image_id", "category_id", "bbox"
// [x, y, w, h] in pixels, "score"}, plus "segmentation" (compressed RLE)
// for an instance segmenter and "keypoints" with "num_keypoints" for a
// keypoints model. The ids are those of the COCO truth the user names
// (--coco-truth): images matched by file, categories by name. Written
// whole at the end of the run; shards' lists are concatenated.
#include <filesystem>
#include <map>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "eval/detection.hpp"
#include "eval/paths.hpp"
#include "inference/classifier.hpp"
#include "inference/spatial_labels.hpp"
#include "outputs/format.hpp"
#include "outputs/labels.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/json_text.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace zoo::outputs {
namespace {

using Json = nlohmann::ordered_json;

// A coordinate as the shortest decimal of its float.
Json coordinate(double value) { return inference::json_float(float(value)); }

class CocoResultsWriter : public Writer {
 public:
  CocoResultsWriter(std::string path, const Labeler& labeler)
      : m_path(std::move(path)),
        m_labeler(labeler),
        m_truth(eval::load_detection_truth(labeler.options().coco_truth)),
        m_index(m_truth.paths, m_truth.source) {
    for (size_t i = 0; i < m_truth.paths.size(); ++i) {
      m_by_name[fs::path(m_truth.paths[i]).filename().string()].push_back(i);
    }
  }

  std::vector<std::string> files() const override { return {m_path}; }

  Resumed open(bool) override { return {}; }

  void write(const std::vector<media::PipelineItem>& batch, const std::vector<std::vector<float>>& rows,
             std::vector<std::string>& errors) override {
    if (!m_categories) map_classes();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!errors[i].empty()) continue;
      const std::optional<int64_t> image_id = find_image(batch[i], errors[i]);
      if (!image_id) continue;
      const media::InputGeometry geometry = m_labeler.geometry(batch[i]);
      for (const auto& d :
           inference::coco_detections(rows[i], *m_labeler.spatial(), geometry, m_labeler.spatial_options())) {
        const auto category = m_categories->find(d.label);
        if (category == m_categories->end()) {
          ++m_skipped[d.label];
          continue;
        }
        Json result{{"image_id", *image_id},
                    {"category_id", category->second},
                    {"bbox", {coordinate(d.bbox[0]), coordinate(d.bbox[1]), coordinate(d.bbox[2]), coordinate(d.bbox[3])}},
                    {"score", inference::json_float(d.score)}};
        if (!d.rle.empty()) result["segmentation"] = Json{{"size", {geometry.height, geometry.width}}, {"counts", d.rle}};
        if (!d.keypoints.empty()) {
          Json points = Json::array();
          for (double v : d.keypoints) points.push_back(coordinate(v));
          result["keypoints"] = std::move(points);
          result["num_keypoints"] = d.num_keypoints;
        }
        m_results.push_back(std::move(result));
      }
    }
  }

  void finish() override {
    if (!m_skipped.empty()) {
      std::vector<std::string> items;
      int64_t total = 0;
      for (const auto& [label, count] : m_skipped) {
        items.push_back(fmt::format("{} ({})", class_name(label), count));
        total += count;
      }
      util::warn(fmt::format("{}: {} of classes {} has no category for were left out: {}", m_path,
                             util::count_of(total, "detection"), m_truth.source, util::join(items, ", ")));
    }
    write_document(m_path, util::dump_json(m_results));
  }

 private:
  std::string class_name(int64_t label) const {
    const auto& classes = m_labeler.detector_options().classes;
    return label >= 0 && size_t(label) < classes.size() ? classes[size_t(label)] : std::to_string(label);
  }

  // Class index -> the truth's category id, by name, once the model's
  // classes are final (an OpenCV detector names its own at load).
  void map_classes() {
    m_categories.emplace();
    std::unordered_map<std::string, int64_t> ids;
    for (size_t c = 0; c < m_truth.classes.size(); ++c) ids.emplace(m_truth.classes[c], m_truth.category_ids[c]);
    const auto& classes = m_labeler.detector_options().classes;
    for (size_t c = 0; c < classes.size(); ++c) {
      if (auto it = ids.find(classes[c]); it != ids.end()) (*m_categories)[int64_t(c)] = it->second;
    }
    if (m_categories->empty()) {
      throw Error(ErrorKind::usage, "--coco-truth {}: none of its categories ({}) is a class of {} ({}); categories "
                  "are matched by name", m_truth.source, util::join(m_truth.classes, ", "),
                  m_labeler.config().source, util::join(classes, ", "));
    }
  }

  // The truth's id of the item's image: the same file, else the one truth
  // image with its file name. Sets `error` otherwise.
  std::optional<int64_t> find_image(const media::PipelineItem& item, std::string& error) {
    if (item.frame_number > 0) {
      error = fmt::format("a video frame has no image in the COCO truth {} (coco-results takes images)", m_truth.source);
      return std::nullopt;
    }
    if (const auto i = m_index.find(item.path)) return m_truth.image_ids[*i];
    const auto named = m_by_name.find(fs::path(item.path).filename().string());
    if (named == m_by_name.end()) {
      error = fmt::format("not an image of the COCO truth {} (no file_name names this file)", m_truth.source);
      return std::nullopt;
    }
    if (named->second.size() > 1) {
      error = fmt::format("the COCO truth {} has {} images named {} ({} and {}), none of them this file",
                          m_truth.source, named->second.size(), named->first, m_truth.paths[named->second[0]],
                          m_truth.paths[named->second[1]]);
      return std::nullopt;
    }
    return m_truth.image_ids[named->second.front()];
  }

  std::string m_path;
  const Labeler& m_labeler;
  eval::DetectionTruth m_truth;
  eval::PathIndex m_index;
  std::unordered_map<std::string, std::vector<size_t>> m_by_name;  // file name -> truth images
  std::optional<std::map<int64_t, int64_t>> m_categories;           // class index -> category id
  std::map<int64_t, int64_t> m_skipped;                             // class index -> detections left out
  Json m_results = Json::array();
};

void check(const Labeler& labeler) {
  if (!labeler.boxes()) {
    throw Error(ErrorKind::usage, "--format coco-results writes detections; {} is a {} (use --format jsonl)",
                labeler.config().source, labeler.config().output_processor);
  }
  if (labeler.options().coco_truth.empty()) {
    throw Error(ErrorKind::usage, "--format coco-results needs --coco-truth FILE: the COCO instances JSON whose image "
                "and category ids the results use");
  }
}

// The parts' lists, concatenated in part order (the ids are the truth's).
Merged merge(const MergeRequest& request) {
  Json all = Json::array();
  for (const auto& part : request.parts) {
    Json list = read_document(part, "a COCO results list");
    if (!list.is_array()) throw Error(ErrorKind::data, "{}: not a COCO results list (a JSON array)", part);
    for (auto& result : list) all.push_back(std::move(result));
  }
  return write_merged_document(request, util::dump_json(all), all.size());
}

}  // namespace

const OutputFormat& coco_results_format() {
  static const OutputFormat format = {
      "coco-results",
      "results",
      false,
      check,
      [](const std::string& path, const Labeler& labeler) -> std::unique_ptr<Writer> {
        return std::make_unique<CocoResultsWriter>(path, labeler);
      },
      merge,
  };
  return format;
}

}  // namespace zoo::outputs
