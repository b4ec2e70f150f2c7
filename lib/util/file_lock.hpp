// Exclusive advisory locks (flock) on a lock file, for a store's writers and
// for a training run's output folder. The kernel drops the lock when the
// process dies, so a crash or kill -9 never leaves a stale lock behind.
#pragma once

#include <string>

namespace zoo::util {

class FileLock {
 public:
  // Creates `path` if missing and waits until this process holds the lock.
  // Throws zoo::Error(io) naming the file if it cannot be opened or locked.
  explicit FileLock(const std::string& path);

  // Takes the lock only if no other process holds it: returns false (and
  // holds nothing) when one does. Throws zoo::Error(io) as above.
  static bool try_lock(const std::string& path, FileLock& out);

  FileLock() = default;
  ~FileLock();
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int m_fd = -1;
};

}  // namespace zoo::util
