#include "outputs/parts.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/error.hpp"
#include "util/strings.hpp"
#include "util/json_text.hpp"

namespace fs = std::filesystem;

namespace zoo::outputs {
namespace {

// What copy_range copied.
struct Copied {
  uint64_t bytes = 0;
  uint64_t lines = 0;  // newlines among them
  char last = '\0';    // the last byte ('\0' if none)
};

// Appends `bytes` bytes of the file at `path` from `offset` to `out` (all
// that follow if bytes is -1). With `csv`, a line break inside quotes does
// not count as a line.
Copied copy_range(util::AtomicFile& out, const std::string& path, uint64_t offset, int64_t bytes, bool csv) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, "{}: cannot read: {}", path, std::strerror(errno));
  in.seekg(std::streamoff(offset));
  std::vector<char> buffer(1 << 20);
  Copied copied;
  bool in_quotes = false;
  while (bytes < 0 || copied.bytes < uint64_t(bytes)) {
    size_t want = buffer.size();
    if (bytes >= 0) want = size_t(std::min<uint64_t>(want, uint64_t(bytes) - copied.bytes));
    in.read(buffer.data(), std::streamsize(want));
    const size_t got = size_t(in.gcount());
    if (got == 0) break;
    out.write(buffer.data(), got);
    if (csv) {
      for (size_t i = 0; i < got; ++i) {
        if (buffer[i] == '"') in_quotes = !in_quotes;  // a doubled quote toggles twice
        if (buffer[i] == '\n' && !in_quotes) ++copied.lines;
      }
    } else {
      copied.lines += uint64_t(std::count(buffer.data(), buffer.data() + got, '\n'));
    }
    copied.last = buffer[got - 1];
    copied.bytes += got;
  }
  if (in.bad()) throw Error(ErrorKind::io, "{}: read error", path);
  return copied;
}

}  // namespace

NameParts split_name(const std::string& path) {
  const fs::path p(path);
  const std::string name = p.filename().string();
  if (name.empty() || name == "." || name == "..") {
    throw Error(ErrorKind::usage, "{}: expected a file name, not a folder", path);
  }
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return {p.parent_path().string(), name, ""};
  return {p.parent_path().string(), name.substr(0, dot), name.substr(dot)};
}

std::string part_path(const std::string& path, const Shard& shard) {
  const NameParts name = split_name(path);
  const int width = int(std::to_string(shard.count).size());
  const std::string file = fmt::format("{}.part-{:0{}}-of-{}{}", name.stem, shard.index, width, shard.count,
                                       name.extension);
  return (fs::path(name.folder) / file).string();
}

int part_count(const std::string& path, const std::string& file) {
  const NameParts name = split_name(path);
  const std::string prefix = name.stem + ".part-";
  if (file.size() <= prefix.size() + name.extension.size() || file.rfind(prefix, 0) != 0 ||
      file.compare(file.size() - name.extension.size(), name.extension.size(), name.extension) != 0) {
    return 0;
  }
  const std::string middle = file.substr(prefix.size(), file.size() - prefix.size() - name.extension.size());
  const size_t of = middle.find("-of-");
  if (of == std::string::npos || util::parse_count(middle.substr(0, of)) < 0) return 0;
  const long long count = util::parse_count(middle.substr(of + 4));
  return count > 0 && count <= k_max_shards ? int(count) : 0;
}

std::string sharded_path(const std::string& path, const Shard& shard) {
  return shard ? part_path(path, shard) : path;
}

std::string done_marker_path(const std::string& part) { return part + ".done"; }

std::string started_marker_path(const std::string& part) { return part + ".started"; }

void write_marker(const std::string& path, const ShardDone& done) {
  nlohmann::ordered_json marker = {
      {"shard", done.shard.index}, {"shards", done.shard.count},      {"format", done.format},
      {"inputs", done.inputs},     {"all_inputs", done.all_inputs},   {"inputs_sha256", done.inputs_sha256},
      {"ok", done.ok},             {"failed", done.failed},           {"producer", done.producer}};
  if (!done.files.empty()) {
    nlohmann::ordered_json files = nlohmann::ordered_json::array();
    for (const auto& pin : done.files) files.push_back({{"path", pin.path}, {"bytes", pin.bytes}, {"sha256", pin.sha256}});
    marker["files"] = std::move(files);
  }
  util::write_file_atomic(path, util::dump_json(marker) + "\n");
}

bool read_marker(const std::string& path, ShardDone& out) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return false;
  try {
    const auto marker = util::parse_json<nlohmann::ordered_json>(util::read_file(path));
    out.shard = Shard{marker.at("shard").get<int>(), marker.at("shards").get<int>()};
    out.format = marker.at("format").get<std::string>();
    out.inputs = marker.at("inputs").get<uint64_t>();
    out.all_inputs = marker.at("all_inputs").get<uint64_t>();
    out.inputs_sha256 = marker.at("inputs_sha256").get<std::string>();
    out.ok = marker.at("ok").get<uint64_t>();
    out.failed = marker.at("failed").get<uint64_t>();
    out.producer = marker.contains("producer") ? marker["producer"] : Producer();
    out.files.clear();
    if (marker.contains("files")) {
      for (const auto& pin : marker["files"]) {
        out.files.push_back({pin.at("path").get<std::string>(), pin.at("bytes").get<uint64_t>(),
                             pin.at("sha256").get<std::string>()});
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::io, "{}: not a zoo shard marker: {}", path, e.what());
  }
  return true;
}

void write_done_marker(const std::string& part, const ShardDone& done) { write_marker(done_marker_path(part), done); }

bool read_done_marker(const std::string& part, ShardDone& out) { return read_marker(done_marker_path(part), out); }

uint64_t append_lines(util::AtomicFile& out, const std::string& path, uint64_t offset, bool csv) {
  const Copied copied = copy_range(out, path, offset, -1, csv);
  if (copied.bytes > 0 && copied.last != '\n') {
    throw Error(ErrorKind::data, "{}: the last line is cut off: this part was not finished", path);
  }
  return copied.lines;
}

void append_bytes(util::AtomicFile& out, const std::string& path, uint64_t offset, uint64_t bytes) {
  copy_range(out, path, offset, int64_t(bytes), false);
}

uint64_t count_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, "{}: cannot read: {}", path, std::strerror(errno));
  return uint64_t(std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n'));
}

uint64_t concatenate_lines(const std::vector<std::string>& parts, const std::string& output) {
  util::AtomicFile out(output);
  uint64_t lines = 0;
  for (const auto& part : parts) lines += append_lines(out, part);
  out.commit();
  return lines;
}

}  // namespace zoo::outputs
