// --format csv: a classifier's labels as RFC 4180 CSV (io/csv.hpp), one row
// per image or video frame, in input order, after a header:
//   filepath,frame_number,label,confidence,error
// (label_K,confidence_K for --top-k K). Resumable; parts merge with one
// header.
#include <filesystem>
#include <fstream>
#include <optional>

#include <fmt/format.h>

#include "io/csv.hpp"
#include "outputs/format.hpp"
#include "outputs/labels.hpp"
#include "outputs/parts.hpp"
#include "util/error.hpp"

namespace fs = std::filesystem;

namespace zoo::outputs {
namespace {

// The CSV row of one input: its classification label (a Classification,
// Classifications or null) as label/confidence pairs, or its error.
std::vector<std::string> csv_row(const std::string& path, int64_t frame_number, const std::string& error,
                                 const nlohmann::ordered_json& label, size_t columns) {
  std::vector<std::string> row = {path, frame_number > 0 ? std::to_string(frame_number) : ""};
  auto add = [&row](const nlohmann::ordered_json& one) {
    row.push_back(one["label"].get<std::string>());
    row.push_back(one["confidence"].dump());
  };
  if (label.is_object() && label.contains("classifications")) {
    for (const auto& one : label["classifications"]) add(one);
  } else if (label.is_object()) {
    add(label);
  }
  row.resize(columns - 1);  // empty label cells below the threshold, or for an error
  row.push_back(error);
  return row;
}

class CsvLabels : public Writer {
 public:
  CsvLabels(std::string path, const Labeler& labeler)
      : m_path(std::move(path)), m_labeler(labeler), m_header(io::classifier_csv_header(labeler.options().top_k)) {}

  std::vector<std::string> files() const override { return {m_path}; }

  Resumed open(bool resume) override {
    Resumed resumed;
    if (resume) {
      io::ResumeState state = io::scan_csv_for_resume(m_path, m_header);
      warn_torn(m_path, state.torn_bytes);
      resumed.done = std::move(state.done);
      resumed.failed = state.errors;
      resumed.held = fmt::format("{} rows in {}", state.records, m_path);
    }
    m_out.emplace(m_path, resume);
    // A CSV starts with its header (a resumed one has it unless it was empty).
    std::error_code ec;
    if (!resume || m_path == "-" || fs::file_size(m_path, ec) == 0 || ec) {
      m_out->write(io::csv_line(m_header));
      m_out->flush();
    }
    return resumed;
  }

  void write(const std::vector<media::PipelineItem>& batch, const std::vector<std::vector<float>>& rows,
             std::vector<std::string>& errors) override {
    for (size_t i = 0; i < batch.size(); ++i) {
      const nlohmann::ordered_json label = errors[i].empty() ? m_labeler.classification(rows[i]) : nullptr;
      m_out->write(io::csv_line(csv_row(batch[i].path, batch[i].frame_number, errors[i], label, m_header.size())));
    }
    m_out->flush();
  }

 private:
  std::string m_path;
  const Labeler& m_labeler;
  std::vector<std::string> m_header;
  std::optional<io::JsonlWriter> m_out;
};

void check(const Labeler& labeler) {
  const auto& config = labeler.config();
  const auto& options = labeler.options();
  if (config.output_processor != "classifier") {
    throw Error(ErrorKind::usage, "--format csv writes classifications; {} is a {} (use --format jsonl{})",
                config.source, config.output_processor, labeler.boxes() ? ", coco-results or coco-dataset" : "");
  }
  if (options.store_logits) {
    throw Error(ErrorKind::usage, "--format csv has no column for logits: use --format jsonl with --store-logits");
  }
  if (options.label_field != "predictions") {
    throw Error(ErrorKind::usage, "--label-field names a JSON key; --format csv has fixed columns");
  }
}

// The parts' rows after one header (every part starts with the same).
Merged merge(const MergeRequest& request) {
  util::AtomicFile out(request.output);
  Merged merged;
  std::string first_header;
  for (const auto& part : request.parts) {
    std::ifstream in(part, std::ios::binary);
    std::string line;
    if (!in || !std::getline(in, line) || in.eof()) {
      throw Error(ErrorKind::data, "{}: no header line: this part was not started", part);
    }
    if (first_header.empty()) {
      first_header = line;
      out.write(line + "\n");
    } else if (line != first_header) {
      throw Error(ErrorKind::data, "{}: the header `{}` differs from the first part's `{}`", part, line, first_header);
    }
    merged.records += append_lines(out, part, line.size() + 1, true);
  }
  out.commit();
  merged.written = {request.output};
  return merged;
}

}  // namespace

const OutputFormat& csv_labels_format() {
  static const OutputFormat format = {
      "csv",
      "records",
      true,
      check,
      [](const std::string& path, const Labeler& labeler) -> std::unique_ptr<Writer> {
        return std::make_unique<CsvLabels>(path, labeler);
      },
      merge,
  };
  return format;
}

}  // namespace zoo::outputs
