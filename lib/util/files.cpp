// Whole-file reads and crash-safe writes (temp + fsync + rename).
#include "util/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "util/error.hpp"

namespace fs = std::filesystem;

namespace zoo::util {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, "{}: cannot read: {}", path, std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) throw Error(ErrorKind::io, "{}: read error", path);
  return std::move(out).str();
}

std::string temp_path_beside(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  // Hidden (a leading dot), so that the file a crash leaves behind is not
  // taken for an output by whoever lists the folder.
  const std::filesystem::path p(path);
  return (p.parent_path() / fmt::format(".{}.tmp.{}.{}", p.filename().string(), ::getpid(), counter++)).string();
}

void fsync_path(const std::string& path) {
  if (int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

AtomicFile::AtomicFile(std::string path) : m_path(std::move(path)), m_temp(temp_path_beside(m_path)) {
  m_fd = ::open(m_temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (m_fd < 0) throw Error(ErrorKind::io, "{}: cannot write: {}", m_path, std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (m_fd >= 0) ::close(m_fd);
  if (!m_committed) ::unlink(m_temp.c_str());
}

void AtomicFile::write(const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(m_fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(ErrorKind::io, "{}: cannot write: {}", m_path, std::strerror(errno));
    data += n;
    size -= static_cast<size_t>(n);
  }
}

void AtomicFile::commit() {
  const bool synced = ::fsync(m_fd) == 0;
  const int fsync_error = errno;
  const bool closed = ::close(m_fd) == 0;
  m_fd = -1;
  if (!synced || !closed) {
    throw Error(ErrorKind::io, "{}: cannot write: {}", m_path, std::strerror(synced ? errno : fsync_error));
  }
  if (::rename(m_temp.c_str(), m_path.c_str()) != 0) {
    throw Error(ErrorKind::io, "{}: cannot write: {}", m_path, std::strerror(errno));
  }
  m_committed = true;
  const fs::path parent = fs::path(m_path).parent_path();
  fsync_path(parent.empty() ? "." : parent.string());
}

void write_file_atomic(const std::string& path, const std::string& data) {
  AtomicFile file(path);
  file.write(data);
  file.commit();
}

TempFolder::TempFolder(const std::string& prefix, const std::string& parent) {
  std::error_code ec;
  const std::filesystem::path base = parent.empty() ? std::filesystem::temp_directory_path(ec) : std::filesystem::path(parent);
  std::string pattern = ((ec ? std::filesystem::path("/tmp") : base) / (prefix + "-XXXXXX")).string();
  if (!::mkdtemp(pattern.data())) {
    throw Error(ErrorKind::io, "{}: cannot make a temporary folder: {}", pattern, std::strerror(errno));
  }
  m_path = pattern;
}

TempFolder::~TempFolder() {
  std::error_code ec;
  if (!m_path.empty()) std::filesystem::remove_all(m_path, ec);
}

uint64_t drop_tail(const std::string& path, uint64_t keep, const std::string& what) {
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec || size <= keep) return 0;
  std::filesystem::resize_file(path, keep, ec);
  if (ec) throw Error(ErrorKind::io, "{}: cannot drop {}: {}", path, what, ec.message());
  return size - keep;
}

namespace {

// The kind of a file that is not a regular one, for messages.
std::string not_regular(mode_t mode, const std::string& what) {
  const char* kind = S_ISDIR(mode)    ? "a directory"
                     : S_ISFIFO(mode) ? "a FIFO (named pipe)"
                     : S_ISSOCK(mode) ? "a socket"
                     : S_ISCHR(mode) || S_ISBLK(mode) ? "a device"
                                                      : "not a regular file";
  return fmt::format("is {}, not {}", kind, what);
}

}  // namespace

std::string regular_file_problem(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return errno == ENOENT || errno == ENOTDIR ? "no such file" : fmt::format("cannot read: {}", std::strerror(errno));
  }
  return S_ISREG(st.st_mode) ? "" : not_regular(st.st_mode, what);
}

int open_regular_file(const std::string& path, const std::string& what, std::string& error) {
  error = regular_file_problem(path, what);
  if (!error.empty()) return -1;
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    error = fmt::format("cannot open file: {}", std::strerror(errno));
    return -1;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    error = fmt::format("cannot read: {}", std::strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    error = not_regular(st.st_mode, what);  // swapped for something else since the check
  }
  if (!error.empty()) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace zoo::util
