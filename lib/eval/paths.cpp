#include "eval/paths.hpp"

#include <filesystem>

#include "util/error.hpp"

namespace fs = std::filesystem;

namespace zoo::eval {
namespace {

std::string resolved_key(const std::string& path) {
  std::error_code ec;
  fs::path resolved = fs::weakly_canonical(fs::absolute(fs::path(path), ec), ec);
  return ec ? path_key(path) : resolved.string();
}

}  // namespace

std::string path_key(const std::string& path) {
  std::error_code ec;
  fs::path absolute = fs::absolute(fs::path(path), ec);
  if (ec) absolute = fs::path(path);
  return absolute.lexically_normal().string();
}

PathIndex::PathIndex(const std::vector<std::string>& paths, const std::string& source) : m_paths(paths) {
  for (size_t i = 0; i < paths.size(); ++i) {
    if (!m_index.emplace(path_key(paths[i]), i).second) {
      throw Error(ErrorKind::data, "{}: {} is listed twice", source, paths[i]);
    }
  }
}

std::optional<size_t> PathIndex::find(const std::string& path) {
  if (auto it = m_index.find(path_key(path)); it != m_index.end()) return it->second;
  if (m_resolved.empty()) {
    for (size_t i = 0; i < m_paths.size(); ++i) m_resolved.emplace(resolved_key(m_paths[i]), i);
  }
  if (auto it = m_resolved.find(resolved_key(path)); it != m_resolved.end()) return it->second;
  return std::nullopt;
}

void RecordLines::add(const std::string& path, int64_t frame, size_t line) {
  const std::string key = frame > 0 ? path_key(path) + "#" + std::to_string(frame) : path_key(path);
  auto [it, inserted] = m_line_of.emplace(key, line);
  if (!inserted) throw Error(ErrorKind::data, "{}:{}: {} already has a record on line {}", m_file, line, path, it->second);
}

}  // namespace zoo::eval
