#include "outputs/format.hpp"

#include <fmt/format.h>

#include "util/log.hpp"

namespace zoo::outputs {

const std::vector<const OutputFormat*>& output_formats() {
  static const std::vector<const OutputFormat*> formats = {&jsonl_labels_format(), &csv_labels_format(),
                                                           &coco_labels_format(), &npy_embeddings_format()};
  return formats;
}

const OutputFormat* find_output_format(std::string_view name) {
  for (const OutputFormat* format : output_formats()) {
    if (format->name == name) return format;
  }
  return nullptr;
}

std::string label_format_names() {
  std::vector<std::string_view> names;
  for (const OutputFormat* format : output_formats()) {
    if (format->open_labels) names.push_back(format->name);
  }
  std::string text;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += i + 1 == names.size() ? " or " : ", ";
    text += names[i];
  }
  return text;
}

void warn_torn(const std::string& path, size_t bytes) {
  if (bytes == 0) return;
  util::warn(fmt::format("{}: dropped a torn last line ({} bytes) left by an interrupted run", path, bytes));
}

}  // namespace zoo::outputs
