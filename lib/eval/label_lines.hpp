// Reading the JSON Lines zoo apply writes, one record per line, for the
// classification and the detection scores: the checks and the error
// messages every record gets, whatever its label holds.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/error.hpp"
#include "util/json_text.hpp"

namespace zoo::eval {

template <class Json>
struct LabelLine {
  const Json& record;
  const std::string& where;          // "FILE:LINE", for error messages
  size_t number;                     // the line, from 1
  std::string filepath;
  int64_t frame;                     // 0 for an image, else the video frame (1, 2, ...)
  std::optional<std::string> error;  // set for an error record: its message
};

// Calls visit(const LabelLine<Json>&) for each non-blank line of `in`, and
// returns the number of the last line read. `in` may start after
// `lines_before` lines of the file, which the numbers count. Throws
// zoo::Error(data) naming `file` and the line for a line that is not a JSON
// object with a string "filepath", or a bad "frame_number".
template <class Json, class Visit>
size_t for_each_label_line(std::istream& in, const std::string& file, Visit&& visit, size_t lines_before = 0) {
  std::string line;
  size_t number = lines_before;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{}:{}", file, number);
    Json record;
    try {
      record = util::parse_json<Json>(line);
    } catch (const nlohmann::json::exception&) {
      throw Error(ErrorKind::data, "{}: not a JSON object (zoo eval reads the JSON Lines zoo apply writes)", where);
    }
    if (!record.is_object() || !record.contains("filepath") || !record["filepath"].is_string()) {
      throw Error(ErrorKind::data, "{}: a record needs a string \"filepath\"", where);
    }
    int64_t frame = 0;
    if (record.contains("frame_number")) {
      frame = record["frame_number"].is_number_integer() ? record["frame_number"].template get<int64_t>() : 0;
      if (frame < 1) throw Error(ErrorKind::data, "{}: \"frame_number\" is not a frame number (1, 2, ...)", where);
    }
    std::optional<std::string> error;
    if (record.contains("error")) {
      const Json& e = record["error"];
      error = e.is_string() && !e.template get<std::string>().empty() ? e.template get<std::string>()
                                                                       : "an error record without a message";
    }
    visit(LabelLine<Json>{record, where, number, record["filepath"].template get<std::string>(), frame,
                          std::move(error)});
  }
  return number;
}

}  // namespace zoo::eval
