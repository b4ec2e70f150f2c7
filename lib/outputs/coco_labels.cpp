// --format coco-dataset: a detector's results as one COCO dataset document
// (images, categories, annotations with absolute bbox and score, zoo's own
// ids; see inference::CocoResults), which pycocotools' COCO() loads as a
// dataset. Not the results list loadRes takes: that is coco-results.
// Written whole when the run ends, so a reader never sees half of it. Not
// resumable; parts merge with images and annotations renumbered.
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "inference/detector.hpp"
#include "outputs/format.hpp"
#include "outputs/labels.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/json_text.hpp"

namespace zoo::outputs {
namespace {

class CocoLabels : public Writer {
 public:
  CocoLabels(std::string path, const Labeler& labeler) : m_path(std::move(path)), m_labeler(labeler) {}

  std::vector<std::string> files() const override { return {m_path}; }

  Resumed open(bool) override { return {}; }

  void write(const std::vector<media::PipelineItem>& batch, const std::vector<std::vector<float>>& rows,
             std::vector<std::string>& errors) override {
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!errors[i].empty()) continue;
      results().add(batch[i].path, batch[i].frame_number, m_labeler.geometry(batch[i]),
                     m_labeler.detections(rows[i]), m_labeler.detector_options());
    }
  }

  void finish() override { write_document(m_path, util::dump_json(results().to_json())); }

 private:
  // Made at first use, when the model is loaded and the classes are final
  // (an OpenCV detector names its own).
  inference::CocoResults& results() {
    if (!m_results) m_results.emplace(m_labeler.detector_options().classes);
    return *m_results;
  }

  std::string m_path;
  const Labeler& m_labeler;
  std::optional<inference::CocoResults> m_results;
};

void check(const Labeler& labeler) {
  if (!labeler.boxes()) {
    throw Error(ErrorKind::usage, "--format coco-dataset writes detections; {} is a {} (use --format jsonl)",
                labeler.config().source, labeler.config().output_processor);
  }
}

// Joins the documents: images and annotations renumbered in part order,
// categories the union (one name per id).
Merged merge(const MergeRequest& request) {
  using Json = nlohmann::ordered_json;
  Json images = Json::array();
  Json annotations = Json::array();
  std::map<int64_t, std::string> categories;
  for (const auto& part : request.parts) {
    Json doc = read_document(part, "a COCO results document");
    if (!doc.is_object() || !doc.contains("images") || !doc.contains("annotations") || !doc.contains("categories")) {
      throw Error(ErrorKind::data, "{}: not a COCO results document (images, categories, annotations)", part);
    }
    std::map<int64_t, int64_t> image_ids;
    for (auto image : doc["images"]) {
      const int64_t id = int64_t(images.size()) + 1;
      image_ids[image.at("id").get<int64_t>()] = id;
      image["id"] = id;
      images.push_back(std::move(image));
    }
    for (auto annotation : doc["annotations"]) {
      const int64_t image = annotation.at("image_id").get<int64_t>();
      if (!image_ids.count(image)) throw Error(ErrorKind::data, "{}: an annotation names image {}, which is not there", part, image);
      annotation["image_id"] = image_ids[image];
      annotation["id"] = int64_t(annotations.size()) + 1;
      annotations.push_back(std::move(annotation));
    }
    for (const auto& category : doc["categories"]) {
      const int64_t id = category.at("id").get<int64_t>();
      const std::string name = category.at("name").get<std::string>();
      auto [it, inserted] = categories.emplace(id, name);
      if (!inserted && it->second != name) {
        throw Error(ErrorKind::data, "{}: category {} is \"{}\" here and \"{}\" in an earlier part", part, id, name,
                    it->second);
      }
    }
  }
  Json category_list = Json::array();
  for (const auto& [id, name] : categories) category_list.push_back({{"id", id}, {"name", name}});
  return write_merged_document(
      request, util::dump_json(Json{{"images", images}, {"categories", category_list}, {"annotations", annotations}}),
      images.size());
}

}  // namespace

const OutputFormat& coco_labels_format() {
  static const OutputFormat format = {
      "coco-dataset",
      "images",
      false,
      check,
      [](const std::string& path, const Labeler& labeler) -> std::unique_ptr<Writer> {
        return std::make_unique<CocoLabels>(path, labeler);
      },
      merge,
  };
  return format;
}

}  // namespace zoo::outputs
