#include "io/labelled_list.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/csv.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/strings.hpp"
#include "util/json_text.hpp"

namespace fs = std::filesystem;

namespace zoo::io {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.pop_back();
  size_t start = 0;
  while (start < s.size() && (s[start] == ' ' || s[start] == '\t')) ++start;
  return s.substr(start);
}

// Whether the first record of a CSV list names its columns: a usual column
// name on either side, and no such file.
bool is_header(const std::string& path, const std::string& label, const fs::path& base) {
  static const std::set<std::string> paths = {"filepath", "path", "file", "filename", "image", "image_path"};
  static const std::set<std::string> labels = {"label", "class", "category", "target"};
  if (!paths.count(util::to_lower(path)) && !labels.count(util::to_lower(label))) return false;
  std::error_code ec;
  return !fs::exists(fs::path(path).is_relative() ? base / path : fs::path(path), ec);
}

std::vector<LabelledEntry> read_csv_list(const std::string& file, std::string text) {
  if (!text.empty() && text.back() != '\n') text += '\n';  // the last record needs no line end here
  std::vector<size_t> lines;
  size_t complete = 0;
  const auto records = parse_csv(text, file, &complete, &lines);
  if (complete < text.size()) {
    throw Error(ErrorKind::data, "{}:{}: a quote opened in this record is not closed before the end of the file", file,
                1 + std::count(text.begin(), text.begin() + std::ptrdiff_t(complete), '\n'));
  }
  std::vector<LabelledEntry> entries;
  for (size_t r = 0; r < records.size(); ++r) {
    const auto& fields = records[r];
    bool blank = true;
    for (const auto& field : fields) blank = blank && trim(field).empty();
    if (blank) continue;
    if (fields.size() < 2) throw Error(ErrorKind::data, "{}:{}: expected `filepath,label`", file, lines[r]);
    // An unquoted path with commas: every field but the last.
    std::vector<std::string> path_fields(fields.begin(), fields.end() - 1);
    LabelledEntry entry{trim(util::join(path_fields, ",")), trim(fields.back()), lines[r]};
    if (r == 0 && is_header(entry.path, entry.label, fs::path(file).parent_path())) continue;
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::vector<LabelledEntry> read_jsonl_list(const std::string& file, const std::string& text) {
  std::vector<LabelledEntry> entries;
  std::istringstream in(text);
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json record;
    try {
      record = util::parse_json<nlohmann::json>(line);
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorKind::data, "{}:{}: not a JSON object: {}", file, number, e.what());
    }
    if (!record.is_object() || !record.contains("filepath") || !record["filepath"].is_string() ||
        !record.contains("label")) {
      throw Error(ErrorKind::data, "{}:{}: expected {{\"filepath\": ..., \"label\": ...}}", file, number);
    }
    LabelledEntry entry{record["filepath"].get<std::string>(), "", number};
    const auto& value = record["label"];
    if (value.is_string()) {
      entry.label = value.get<std::string>();
    } else if (value.is_object() && value.contains("label") && value["label"].is_string()) {
      entry.label = value["label"].get<std::string>();
    } else if (value.is_number_integer()) {
      entry.label = std::to_string(value.get<int64_t>());
    } else {
      throw Error(ErrorKind::data, "{}:{}: \"label\" must be a string", file, number);
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace

std::vector<LabelledEntry> read_labelled_list(const std::string& file) {
  std::string text;
  try {
    text = util::read_file(file);
  } catch (const Error&) {
    throw Error(ErrorKind::data, "{}: cannot read dataset list", file);
  }
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);  // a UTF-8 byte order mark
  const std::string lower = util::to_lower(file);
  const bool jsonl = util::ends_with(lower, ".jsonl") || util::ends_with(lower, ".json");
  std::vector<LabelledEntry> entries;
  try {
    entries = jsonl ? read_jsonl_list(file, text) : read_csv_list(file, std::move(text));
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::io) throw;
    throw Error(ErrorKind::data, "{}", e.what());  // a malformed quote: the data is at fault
  }
  const fs::path base = fs::path(file).parent_path();
  for (auto& entry : entries) {
    if (entry.path.empty() || entry.label.empty()) {
      throw Error(ErrorKind::data, "{}:{}: empty filepath or label", file, entry.line);
    }
    if (fs::path(entry.path).is_relative()) entry.path = (base / entry.path).string();
  }
  if (entries.empty()) throw Error(ErrorKind::data, "{}: no samples", file);
  return entries;
}

}  // namespace zoo::io
