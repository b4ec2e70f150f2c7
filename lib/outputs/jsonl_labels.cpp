// --format jsonl: one JSON object per image or video frame, in input order
// (DESIGN.md, Outputs): {"filepath", "frame_number" (frames), "width",
// "height", LABEL_FIELD...} or {"filepath", "error"}; on patches, one per
// patch: {"filepath", "frame_number", "detection", "patch" (the detection
// it was cut from), LABEL_FIELD...}. Resumable: an earlier
// run's records are kept and their inputs skipped. Parts merge by
// concatenation.
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/jsonl_writer.hpp"
#include "outputs/format.hpp"
#include "outputs/labels.hpp"
#include "outputs/parts.hpp"
#include "util/json_text.hpp"

namespace zoo::outputs {
namespace {

class JsonlLabels : public Writer {
 public:
  JsonlLabels(std::string path, const Labeler& labeler) : m_path(std::move(path)), m_labeler(labeler) {}

  std::vector<std::string> files() const override { return {m_path}; }

  Resumed open(bool resume) override {
    Resumed resumed;
    if (resume) {
      io::ResumeState state = io::scan_for_resume(m_path);
      warn_torn(m_path, state.torn_bytes);
      resumed.done = std::move(state.done);
      resumed.failed = state.errors;
      resumed.held = fmt::format("{} records in {}", state.records, m_path);
    }
    m_out.emplace(m_path, resume);
    return resumed;
  }

  void write(const std::vector<media::PipelineItem>& batch, const std::vector<std::vector<float>>& rows,
             std::vector<std::string>& errors) override {
    const std::string& field = m_labeler.options().label_field;
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto& item = batch[i];
      nlohmann::ordered_json record;
      record["filepath"] = item.path;
      if (item.frame_number > 0) record["frame_number"] = item.frame_number;
      if (item.detection >= 0) record["detection"] = item.detection;
      if (!errors[i].empty()) {
        record["error"] = errors[i];
      } else if (item.detection >= 0) {
        // A patch: the detection it was cut from, and the model's label.
        record["patch"] = util::parse_json<nlohmann::ordered_json>(item.detection_label);
        for (auto& [suffix, label] : m_labeler.labels(item, rows[i])) record[field + suffix] = std::move(label);
      } else {
        record["width"] = item.image.width;
        record["height"] = item.image.height;
        for (auto& [suffix, label] : m_labeler.labels(item, rows[i])) record[field + suffix] = std::move(label);
      }
      m_out->write(util::dump_json(record));
    }
    m_out->flush();
  }

 private:
  std::string m_path;
  const Labeler& m_labeler;
  std::optional<io::JsonlWriter> m_out;
};

}  // namespace

const OutputFormat& jsonl_labels_format() {
  static const OutputFormat format = {
      "jsonl",
      "records",
      true,
      [](const Labeler&) {},
      [](const std::string& path, const Labeler& labeler) -> std::unique_ptr<Writer> {
        return std::make_unique<JsonlLabels>(path, labeler);
      },
      [](const MergeRequest& request) {
        Merged merged;
        merged.records = concatenate_lines(request.parts, request.output);
        merged.written = {request.output};
        return merged;
      },
  };
  return format;
}

}  // namespace zoo::outputs
