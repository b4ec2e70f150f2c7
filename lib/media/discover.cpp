#include "media/discover.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "util/error.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace zoo::media {

bool has_image_extension(const std::string& path) {
  static const std::set<std::string> extensions = {
      ".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".dib", ".webp", ".tif", ".tiff", ".pbm",
      ".pgm", ".ppm", ".pnm", ".pfm", ".sr", ".ras", ".exr", ".hdr", ".pic"};
  return extensions.count(util::to_lower(fs::path(path).extension().string())) > 0;
}

namespace {

void walk(const fs::path& folder, std::vector<std::string>& out) {
  std::vector<std::string> found;
  std::error_code ec;
  fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied, ec);
  if (ec) throw Error(ErrorKind::io, "{}: cannot list folder: {}", folder.string(), ec.message());
  for (fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) throw Error(ErrorKind::io, "{}: cannot list folder: {}", folder.string(), ec.message());
    const auto name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    // A folder is walked whatever its name ("album.jpg/" too); only files
    // are inputs.
    if (has_image_extension(name) && !it->is_directory(ec)) found.push_back(it->path().string());
  }
  std::sort(found.begin(), found.end());
  out.insert(out.end(), found.begin(), found.end());
}

}  // namespace

std::vector<std::string> discover_inputs(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (const auto& arg : args) {
    std::error_code ec;
    fs::path path(arg);
    if (fs::is_directory(path, ec)) {
      walk(path, out);
    } else {
      out.push_back(arg);
    }
  }
  return out;
}

std::vector<std::string> read_list_file(const std::string& path) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path);
    if (!file) throw Error(ErrorKind::io, "{}: cannot read list file", path);
    in = &file;
  }
  std::vector<std::string> out;
  std::string line;
  while (std::getline(*in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos || line[0] == '#') continue;
    out.push_back(line);
  }
  if (in->bad()) throw Error(ErrorKind::io, "{}: read error", path == "-" ? "stdin" : path);
  return out;
}

}  // namespace zoo::media
