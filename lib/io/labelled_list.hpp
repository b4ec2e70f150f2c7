// Labelled lists: (filepath, label) pairs in a CSV (RFC 4180, io/csv.hpp)
// or JSON Lines file, as zoo train takes its data and zoo eval its truth.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace zoo::io {

struct LabelledEntry {
  std::string path;   // relative paths made relative to the list file's folder
  std::string label;
  size_t line = 0;    // the line of the list it starts on (1-based)
};

// Reads a list:
// - .csv: records `filepath,label` (fields quoted as RFC 4180 has it; an
//   unquoted path may hold commas: the label is the last field; spaces
//   around unquoted fields are dropped; a first record of column names
//   such as `filepath,label` or `path,class`, naming no file, is skipped;
//   so is a UTF-8 byte order mark);
// - .jsonl or .json: objects with "filepath" and "label" (a string, an
//   integer, or a FiftyOne Classification {"label": ...}).
// Blank lines are skipped. Throws zoo::Error(data) naming the file and line.
std::vector<LabelledEntry> read_labelled_list(const std::string& file);

}  // namespace zoo::io
