// flock-based exclusive locks; see file_lock.hpp.
#include "util/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "util/error.hpp"

namespace zoo::util {
namespace {

int open_lock_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(ErrorKind::io, "{}: cannot open lock file: {}", path, std::strerror(errno));
  return fd;
}

// flock(fd, operation), retried on EINTR; false when a non-blocking attempt
// finds the lock taken.
bool lock_fd(int fd, int operation, const std::string& path) {
  while (::flock(fd, operation) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return false;
    const int error = errno;
    ::close(fd);
    throw Error(ErrorKind::io, "{}: cannot lock: {}", path, std::strerror(error));
  }
  return true;
}

}  // namespace

FileLock::FileLock(const std::string& path) : m_fd(open_lock_file(path)) { lock_fd(m_fd, LOCK_EX, path); }

bool FileLock::try_lock(const std::string& path, FileLock& out) {
  const int fd = open_lock_file(path);
  if (!lock_fd(fd, LOCK_EX | LOCK_NB, path)) {
    ::close(fd);
    return false;
  }
  out = FileLock();
  out.m_fd = fd;
  return true;
}

FileLock::~FileLock() {
  if (m_fd >= 0) ::close(m_fd);
}

FileLock::FileLock(FileLock&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = std::exchange(other.m_fd, -1);
  }
  return *this;
}

}  // namespace zoo::util
