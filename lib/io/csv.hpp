// CSV (RFC 4180) output of classifier labels, for `zoo apply --format csv`:
// a header, then one row per image or video frame, in input order:
//   filepath,frame_number,label,confidence,error
// or, for the top K classes,
//   filepath,frame_number,label_1,confidence_1,...,label_K,confidence_K,error
// frame_number is empty for images; a failed input has only filepath,
// frame_number and error. Fields holding a comma, a quote or a line break
// are quoted, quotes doubled. Resume reads what an earlier run wrote.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "io/jsonl_writer.hpp"

namespace zoo::io {

// One field, quoted when it must be.
std::string csv_field(std::string_view value);

// The fields joined by commas (each through csv_field), no line end.
std::string csv_line(const std::vector<std::string>& fields);

// The header row's fields for `top_k` classes (0: the best class only).
std::vector<std::string> classifier_csv_header(int top_k);

// Splits `text` into records of fields; a record ends at a line break
// outside quotes. `complete_bytes` gets the length of the text up to the
// end of the last complete record (a record cut off by a crash, with no
// line end, is not returned); `lines` the line each record starts on.
// Throws zoo::Error(io) naming `source` and the record's line for a
// malformed quote.
std::vector<std::vector<std::string>> parse_csv(std::string_view text, const std::string& source,
                                                size_t* complete_bytes = nullptr, std::vector<size_t>* lines = nullptr);

// Reads `path` (a CSV output of zoo apply), truncates a torn last row and
// returns what it holds, as scan_for_resume does for JSON Lines. A missing
// or empty file gives an empty state. Throws zoo::Error(io) if its header
// is not `header` (another --top-k, or not a zoo output).
ResumeState scan_csv_for_resume(const std::string& path, const std::vector<std::string>& header);

}  // namespace zoo::io
