// Whole-file reads and crash-safe writes: a file is written to a temporary
// name beside it, synced and renamed, so readers see the old content or the
// new, never a torn file.
#pragma once

#include <string>

namespace zoo::util {

// The file's bytes. Throws zoo::Error(io) naming the file.
std::string read_file(const std::string& path);

// Replaces `path` with `data`: writes PATH.tmp.<pid>.<n>, fsyncs it, renames it
// over `path` and fsyncs the folder. Throws zoo::Error(io) naming the file.
void write_file_atomic(const std::string& path, const std::string& data);

// fsync a file or folder by path (errors ignored: best effort durability).
void fsync_path(const std::string& path);

// A temporary name in the same folder as `path`, unique within this machine
// (pid and a counter), for write-then-rename.
std::string temp_path_beside(const std::string& path);

}  // namespace zoo::util
