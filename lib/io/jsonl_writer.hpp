// JSON Lines output for label records: one object per line, flushed batch by
// batch so a file cut off at any moment holds only complete lines (plus at
// most one torn last line, which resume drops). Resume support reads what
// an earlier run wrote.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <unordered_set>

namespace zoo::io {

// The key of one record of a run: the path for an image (and for a
// video's error record), "PATH#FRAME" for a video frame (FRAME 1-based),
// then "@DETECTION" for the patch of detection DETECTION (0-based, in its
// image's record of the --patches file). Also the line of zoo embed's
// index file for that row.
std::string record_key(const std::string& path, int64_t frame_number, int64_t detection = -1);

// What an earlier run left in an output file.
struct ResumeState {
  // record_key(filepath, frame_number) of every complete record, as often
  // as it occurs (a list may name a file twice)
  std::unordered_multiset<std::string> done;
  size_t records = 0;                    // complete records
  size_t errors = 0;                     // records with an "error" key
  size_t torn_bytes = 0;                 // bytes of a torn last line that were dropped
};

// Reads `path` (a JSONL output of zoo apply), truncates a torn last line
// (a crash mid-write) and returns what it holds. A missing file gives an
// empty state. Throws zoo::Error(io) if the file cannot be read or a
// complete line is not a JSON record with a "filepath" (not a zoo output).
ResumeState scan_for_resume(const std::string& path);

class JsonlWriter {
 public:
  // "-" writes to stdout. `append` keeps existing content (resume).
  // Throws zoo::Error(io) if the file cannot be opened.
  JsonlWriter(const std::string& path, bool append);
  ~JsonlWriter();

  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;

  // Buffers one line (a newline is added).
  void write(const std::string& line);

  // Pushes buffered lines to the OS. Throws zoo::Error(io) on failure (disk
  // full), after cutting the file back to what the last successful flush
  // left: whole lines, which --resume continues.
  void flush();

  const std::string& path() const { return m_path; }

 private:
  // Cuts the file back to what the last successful flush left, dropping
  // what is buffered, and throws zoo::Error(io) saying so.
  [[noreturn]] void fail();
  void roll_back();

  std::string m_path;
  std::FILE* m_file = nullptr;
  bool m_owned = false;
  long m_flushed = 0;  // file size after the last successful flush
};

}  // namespace zoo::io
