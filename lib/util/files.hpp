// Whole-file reads and crash-safe writes: a file is written to a temporary
// name beside it, synced and renamed, so readers see the old content or the
// new, never a torn file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace zoo::util {

// The file's bytes. Throws zoo::Error(io) naming the file.
std::string read_file(const std::string& path);

// Replaces `path` with `data` (see AtomicFile). Throws zoo::Error(io)
// naming the file.
void write_file_atomic(const std::string& path, const std::string& data);

// A file written piece by piece that replaces `path` whole: the pieces go to
// a hidden .NAME.tmp.<pid>.<n> beside it; commit() fsyncs it, renames it
// over `path` and fsyncs the folder. Destroyed without commit(), it removes
// the temporary file and leaves `path` as it was. Errors throw
// zoo::Error(io) naming `path`.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const char* data, size_t size);
  void write(const std::string& data) { write(data.data(), data.size()); }
  void commit();

 private:
  std::string m_path;
  std::string m_temp;
  int m_fd = -1;
  bool m_committed = false;
};

// Why `path` cannot be read as a regular file, or "" when it can: "no such
// file", or "is a directory" / "a FIFO (named pipe)" / "a socket" / "a
// device", followed by ", not " and `what` ("an image file"). Follows
// symbolic links and never opens the file, so a FIFO cannot block it.
std::string regular_file_problem(const std::string& path, const std::string& what);

// Opens `path` for reading without blocking on a FIFO (O_NONBLOCK) and
// checks, on the open descriptor, that it is a regular file (so a file
// swapped for a FIFO after a check still fails). Returns the descriptor,
// or -1 with `error` set as regular_file_problem words it.
int open_regular_file(const std::string& path, const std::string& what, std::string& error);

// Cuts the file at `path` to its first `keep` bytes, when it is longer: a
// torn last line or row that a crash left. Returns the bytes dropped.
// Throws zoo::Error(io) naming the file and `what` was dropped ("the torn
// last line") when it cannot be cut.
uint64_t drop_tail(const std::string& path, uint64_t keep, const std::string& what);

// fsync a file or folder by path (errors ignored: best effort durability).
void fsync_path(const std::string& path);

// A temporary name in the same folder as `path`, hidden and unique within
// this machine (.NAME.tmp.<pid>.<n>), for write-then-rename.
std::string temp_path_beside(const std::string& path);

// A private folder (mode 0700, a name mkdtemp picks: PREFIX-XXXXXX) in
// `parent` ("" = the system's temporary folder, $TMPDIR honoured), removed
// with its content when destroyed unless released. Throws zoo::Error(io) if
// it cannot be made.
class TempFolder {
 public:
  explicit TempFolder(const std::string& prefix, const std::string& parent = "");
  ~TempFolder();
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;

  const std::string& path() const { return m_path; }

  // Keeps the folder (it was renamed into place, or is handed over).
  void release() { m_path.clear(); }

 private:
  std::string m_path;
};

}  // namespace zoo::util
