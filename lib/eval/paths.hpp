// Matching the filepaths of label records to those of a truth: two
// spellings of one file are one (`a/./b.png`, `a/b.png`, its absolute path,
// and paths through symbolic links), relative paths from the current
// folder.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace zoo::eval {

// The key two spellings of one file share: absolute, with `.` and `..`
// folded, without touching the disk (the images need not exist any more).
std::string path_key(const std::string& path);

// Finds paths among `paths` (held by reference: it must outlive the index).
class PathIndex {
 public:
  // Throws zoo::Error(data) naming `source` if a file is listed twice.
  PathIndex(const std::vector<std::string>& paths, const std::string& source);

  // The position of `path` in the list, compared as written and then, on
  // a miss, with symbolic links resolved (the file system is asked).
  std::optional<size_t> find(const std::string& path);

 private:
  const std::vector<std::string>& m_paths;
  std::unordered_map<std::string, size_t> m_index;
  std::unordered_map<std::string, size_t> m_resolved;  // built on the first miss
};

// The line of each file's (or video frame's) record in a labels file, to
// refuse a second record of one file; two spellings of a path are one.
class RecordLines {
 public:
  explicit RecordLines(std::string file) : m_file(std::move(file)) {}

  // Throws zoo::Error(data) "FILE:LINE: PATH already has a record on line N".
  void add(const std::string& path, int64_t frame, size_t line);

 private:
  std::string m_file;
  std::unordered_map<std::string, size_t> m_line_of;
};

}  // namespace zoo::eval
