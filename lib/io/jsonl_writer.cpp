#include "io/jsonl_writer.hpp"

#include <stdio_ext.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "util/error.hpp"
#include "util/files.hpp"
#include "util/json_text.hpp"

namespace fs = std::filesystem;

namespace zoo::io {

std::string record_key(const std::string& path, int64_t frame_number, int64_t detection) {
  std::string key = frame_number > 0 ? path + "#" + std::to_string(frame_number) : path;
  if (detection >= 0) key += "@" + std::to_string(detection);
  return key;
}

ResumeState scan_for_resume(const std::string& path) {
  ResumeState state;
  std::error_code ec;
  if (!fs::exists(path, ec)) return state;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, "{}: cannot read output file to resume: {}", path, std::strerror(errno));
  std::string line;
  size_t complete_bytes = 0;
  size_t line_number = 0;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline: a torn last line
    ++line_number;
    complete_bytes += line.size() + 1;
    if (line.empty()) continue;
    nlohmann::json record;
    try {
      record = util::parse_json<nlohmann::json>(line);
    } catch (const nlohmann::json::exception&) {
      throw Error(ErrorKind::io, "{}:{}: not a JSON line; is this a zoo apply output?", path, line_number);
    }
    if (!record.is_object() || !record.contains("filepath") || !record["filepath"].is_string()) {
      throw Error(ErrorKind::io, "{}:{}: record has no \"filepath\"; is this a zoo apply output?", path, line_number);
    }
    int64_t frame_number = 0;
    if (record.contains("frame_number")) {
      const auto& frame = record["frame_number"];
      if (!frame.is_number_integer() || frame.get<int64_t>() < 1) {
        throw Error(ErrorKind::io, "{}:{}: \"frame_number\" is not a frame number (1, 2, ...)", path, line_number);
      }
      frame_number = frame.get<int64_t>();
    }
    int64_t detection = -1;
    if (record.contains("detection")) {
      const auto& d = record["detection"];
      if (!d.is_number_integer() || d.get<int64_t>() < 0) {
        throw Error(ErrorKind::io, "{}:{}: \"detection\" is not a detection index (0, 1, ...)", path, line_number);
      }
      detection = d.get<int64_t>();
    }
    ++state.records;
    if (record.contains("error")) ++state.errors;
    state.done.insert(record_key(record["filepath"].get<std::string>(), frame_number, detection));
  }
  state.torn_bytes = util::drop_tail(path, complete_bytes, "the torn last line");
  return state;
}

JsonlWriter::JsonlWriter(const std::string& path, bool append) : m_path(path) {
  if (path == "-") {
    m_file = stdout;
    return;
  }
  m_file = std::fopen(path.c_str(), append ? "ab" : "wb");
  if (!m_file) throw Error(ErrorKind::io, "{}: cannot open for writing: {}", path, std::strerror(errno));
  m_owned = true;
  std::fseek(m_file, 0, SEEK_END);
  m_flushed = std::ftell(m_file);
}

JsonlWriter::~JsonlWriter() {
  if (m_owned && m_file) std::fclose(m_file);
}

void JsonlWriter::write(const std::string& line) {
  if (std::fwrite(line.data(), 1, line.size(), m_file) != line.size() || std::fputc('\n', m_file) == EOF) fail();
}

void JsonlWriter::flush() {
  if (std::fflush(m_file) != 0) fail();
  if (m_owned) m_flushed = std::ftell(m_file);
}

void JsonlWriter::roll_back() {
  if (!m_owned) return;
  __fpurge(m_file);  // drop what is buffered, unwritten
  std::clearerr(m_file);
  if (::ftruncate(::fileno(m_file), off_t(m_flushed)) == 0) std::fseek(m_file, m_flushed, SEEK_SET);
}

void JsonlWriter::fail() {
  const int error = errno;
  if (!m_owned) throw Error(ErrorKind::io, "stdout: write failed: {}", std::strerror(error));
  roll_back();
  throw Error(ErrorKind::io,
              "{}: write failed: {}; the file holds every record before this batch, as whole lines: free space, then "
              "run the same command with --resume",
              m_path, std::strerror(error));
}

}  // namespace zoo::io
