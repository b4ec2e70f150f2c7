#include "io/csv.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/files.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace zoo::io {

std::string csv_field(std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(value);
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line += ',';
    line += csv_field(fields[i]);
  }
  return line;
}

std::vector<std::string> classifier_csv_header(int top_k) {
  std::vector<std::string> header = {"filepath", "frame_number"};
  if (top_k <= 0) {
    header.insert(header.end(), {"label", "confidence"});
  } else {
    for (int k = 1; k <= top_k; ++k) {
      header.push_back(fmt::format("label_{}", k));
      header.push_back(fmt::format("confidence_{}", k));
    }
  }
  header.push_back("error");
  return header;
}

std::vector<std::vector<std::string>> parse_csv(std::string_view text, const std::string& source,
                                                size_t* complete_bytes, std::vector<size_t>* lines) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;       // inside a quoted field
  bool was_quoted = false;   // the current field was quoted (only a separator may follow)
  size_t line = 1, record_line = 1, complete = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;  // a CRLF line end
    if (c == ',' || c == '\n') {
      record.push_back(std::move(field));
      field.clear();
      was_quoted = false;
      if (c == '\n') {
        records.push_back(std::move(record));
        record.clear();
        if (lines) lines->push_back(record_line);
        complete = i + 1;
        record_line = ++line;
      }
    } else if (c == '"' && field.empty() && !was_quoted) {
      quoted = was_quoted = true;
    } else if (was_quoted) {
      throw Error(ErrorKind::io, "{}:{}: a quoted field is followed by text; is this a CSV file?", source,
                  record_line);
    } else {
      field += c;
    }
  }
  if (complete_bytes) *complete_bytes = complete;
  return records;
}

ResumeState scan_csv_for_resume(const std::string& path, const std::vector<std::string>& header) {
  ResumeState state;
  std::error_code ec;
  if (!fs::exists(path, ec)) return state;
  const std::string text = util::read_file(path);
  size_t complete = 0;
  const auto records = parse_csv(text, path, &complete);
  if (!records.empty()) {
    if (records[0] != header) {
      throw Error(ErrorKind::io, "{}:1: the header is `{}`, this run writes `{}` (another --top-k, or not a zoo "
                  "apply CSV?)", path, util::join(records[0], ","), util::join(header, ","));
    }
    for (size_t r = 1; r < records.size(); ++r) {
      const auto& fields = records[r];
      if (fields.size() != header.size()) {
        throw Error(ErrorKind::io, "{}: row {} has {} fields, the header {}", path, r + 1, fields.size(),
                    header.size());
      }
      int64_t frame_number = 0;
      if (!fields[1].empty()) {
        try {
          size_t used = 0;
          frame_number = std::stoll(fields[1], &used);
          if (used != fields[1].size() || frame_number < 1) throw std::invalid_argument("frame");
        } catch (const std::exception&) {
          throw Error(ErrorKind::io, "{}: row {}: frame_number \"{}\" is not a frame number (1, 2, ...)", path, r + 1,
                      fields[1]);
        }
      }
      ++state.records;
      if (!fields.back().empty()) ++state.errors;
      state.done.insert(record_key(fields[0], frame_number));
    }
  }
  if (text.size() > complete) {
    // A crash tears one row; zoo quotes a line break only inside a path or
    // an error, so a tail with more than one is a quote that was never
    // closed (an edited file), and cutting it off would lose rows.
    if (std::count(text.begin() + std::ptrdiff_t(complete), text.end(), '\n') > 1) {
      throw Error(ErrorKind::io, "{}:{}: a quote opened in this row is not closed before the end of the file",
                  path, 1 + std::count(text.begin(), text.begin() + std::ptrdiff_t(complete), '\n'));
    }
    state.torn_bytes = util::drop_tail(path, complete, "the torn last row");
  }
  return state;
}

}  // namespace zoo::io
