#include "outputs/format.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/files.hpp"
#include "util/json_text.hpp"
#include "util/log.hpp"

namespace zoo::outputs {

const std::vector<const OutputFormat*>& output_formats() {
  static const std::vector<const OutputFormat*> formats = {&jsonl_labels_format(), &csv_labels_format(),
                                                           &coco_results_format(), &coco_labels_format(),
                                                           &npy_embeddings_format()};
  return formats;
}

const OutputFormat* find_output_format(std::string_view name) {
  for (const OutputFormat* format : output_formats()) {
    if (format->name == name) return format;
  }
  return nullptr;
}

std::vector<std::string> label_formats(bool resumable) {
  std::vector<std::string> names;
  for (const OutputFormat* format : output_formats()) {
    if (format->open_labels && (format->resumable || !resumable)) names.emplace_back(format->name);
  }
  return names;
}

std::string label_format_names(bool resumable) {
  const std::vector<std::string> names = label_formats(resumable);
  std::string text;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += i + 1 == names.size() ? " or " : ", ";
    text += names[i];
  }
  return text;
}

void write_document(const std::string& path, const std::string& text) {
  if (path == "-") {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fputc('\n', stdout) == EOF ||
        std::fflush(stdout) != 0) {
      throw Error(ErrorKind::io, "stdout: write failed: {}", std::strerror(errno));
    }
    return;
  }
  util::write_file_atomic(path, text + "\n");
}

nlohmann::ordered_json read_document(const std::string& part, std::string_view what) {
  try {
    return util::parse_json<nlohmann::ordered_json>(util::read_file(part));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::data, "{}: not {}: {}", part, what, e.what());
  }
}

Merged write_merged_document(const MergeRequest& request, const std::string& text, uint64_t records) {
  util::AtomicFile out(request.output);
  out.write(text + "\n");
  out.commit();
  Merged merged;
  merged.records = records;
  merged.written = {request.output};
  return merged;
}

void warn_torn(const std::string& path, size_t bytes) {
  if (bytes == 0) return;
  util::warn(fmt::format("{}: dropped a torn last line ({} bytes) left by an interrupted run", path, bytes));
}

}  // namespace zoo::outputs
