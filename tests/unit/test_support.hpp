// Helpers shared by the unit tests: a scratch folder that is removed at the
// end of the test, and whole-file reads and writes.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "util/error.hpp"

namespace zoo::test {

// A fresh, empty folder under the system temp folder, named after the test
// tag, the process id and a counter so parallel runs never share one.
// Removed (with its content) when the object goes out of scope.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static std::atomic<int> counter{0};
    m_path = std::filesystem::temp_directory_path() /
             ("zoo-unit-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(m_path);
    std::filesystem::create_directories(m_path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return m_path; }
  std::filesystem::path operator/(const std::string& name) const { return m_path / name; }

 private:
  std::filesystem::path m_path;
};

// Writes `content` to `path` (binary), creating parent folders.
inline void write_file(const std::filesystem::path& path, const std::string& content) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("test setup: cannot write " + path.string());
}

inline void write_bytes(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
  write_file(path, std::string(bytes.begin(), bytes.end()));
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("test setup: cannot read " + path.string());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline std::vector<uint8_t> read_bytes(const std::filesystem::path& path) {
  const std::string text = read_text(path);
  return std::vector<uint8_t>(text.begin(), text.end());
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// What a call threw: whether it threw a zoo::Error, its kind and message;
// `foreign` holds the message of any other exception (which the library
// should have turned into a zoo::Error), so a test can print it.
struct Caught {
  bool thrown = false;
  ErrorKind kind = ErrorKind::usage;
  std::string message;
  std::string foreign;
};

template <typename Function>
Caught catch_error(Function&& function) {
  try {
    function();
  } catch (const Error& e) {
    return {true, e.kind(), e.what(), ""};
  } catch (const std::exception& e) {
    return {false, ErrorKind::usage, "", std::string("not a zoo::Error: ") + e.what()};
  }
  return {};
}

}  // namespace zoo::test
