#include "outputs/npy_embeddings.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "inference/embedder.hpp"
#include "outputs/parts.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"
#include "util/json_text.hpp"

namespace fs = std::filesystem;

namespace zoo::outputs {
namespace {

// What resume keeps of an index file: its first `keep` complete lines.
struct IndexState {
  std::unordered_multiset<std::string> done;  // the kept paths, once per row
  uint64_t kept = 0;                     // lines kept
  uint64_t lines = 0;                    // complete lines the file held
};

// Reads up to `keep` complete lines of `path` and truncates the file after
// them (dropping further lines and a torn last line). A missing file is
// empty.
IndexState trim_index(const std::string& path, uint64_t keep) {
  IndexState state;
  std::error_code ec;
  if (!fs::exists(path, ec)) return state;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, "{}: cannot read index file to resume: {}", path, std::strerror(errno));
  std::string line;
  uint64_t kept_bytes = 0;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline: torn
    if (state.kept < keep) {
      state.done.insert(line);
      kept_bytes += line.size() + 1;
      ++state.kept;
    }
    ++state.lines;
  }
  in.close();
  util::drop_tail(path, kept_bytes, fmt::format("the lines after the first {}", state.kept));
  return state;
}

// Joins the .npy parts of an embedding job and their index files and error
// logs; checks that each index has one line per row.
Merged merge(const MergeRequest& request) {
  const int count = int(request.parts.size());
  const NpyEmbeddingsFiles merged_files = npy_embeddings_files(request.output, request.index);
  std::vector<NpyEmbeddingsFiles> parts;
  for (int k = 0; k < count; ++k) {
    const std::string& npy = request.parts[size_t(k)];
    parts.push_back({npy, request.index.empty() ? sibling_path(npy, ".paths.txt") : part_path(request.index, Shard{k, count}),
                     sibling_path(npy, ".errors.jsonl")});
  }
  std::vector<io::NpyHeader> headers;
  uint64_t rows = 0;
  uint64_t cols = 0;
  std::optional<io::NpyDtype> dtype;
  for (const auto& part : parts) {
    headers.push_back(io::read_npy_header(part.npy));
    const auto& h = headers.back();
    if (dtype && h.dtype != *dtype) {
      throw Error(ErrorKind::data, "{} holds {} values, an earlier part {}", part.npy, io::npy_dtype_name(h.dtype),
                  io::npy_dtype_name(*dtype));
    }
    dtype = h.dtype;
    if (h.rows() > 0) {
      if (cols > 0 && h.cols() != cols) {
        throw Error(ErrorKind::data, "{} has rows of {} values, an earlier part {}", part.npy, h.cols(), cols);
      }
      cols = h.cols();
    }
    if (const uint64_t lines = count_lines(part.index); lines != h.rows()) {
      throw Error(ErrorKind::data, "{} has {} lines for the {} rows of {}", part.index, lines, h.rows(), part.npy);
    }
    rows += h.rows();
  }
  util::AtomicFile out(request.output);
  out.write(io::encode_npy_header(*dtype, rows, cols));
  std::vector<std::string> indexes;
  std::vector<std::string> error_logs;
  Merged merged;
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& h = headers[i];
    append_bytes(out, parts[i].npy, h.header_bytes, h.rows() * h.cols() * io::npy_item_size(h.dtype));
    indexes.push_back(parts[i].index);
    error_logs.push_back(parts[i].errors);
    merged.part_files.push_back(parts[i].index);
    merged.part_files.push_back(parts[i].errors);
  }
  concatenate_lines(indexes, merged_files.index);
  concatenate_lines(error_logs, merged_files.errors);
  out.commit();  // last: the .npy appears once its index and error log are there
  merged.records = rows;
  merged.written = {merged_files.npy, merged_files.index, merged_files.errors};
  return merged;
}

}  // namespace

std::string sibling_path(const std::string& npy, const std::string& suffix) {
  if (npy.size() > 4 && util::to_lower(npy.substr(npy.size() - 4)) == ".npy") {
    return npy.substr(0, npy.size() - 4) + suffix;
  }
  return npy + suffix;
}

NpyEmbeddingsFiles npy_embeddings_files(const std::string& npy, const std::string& index) {
  NpyEmbeddingsFiles files{npy, index.empty() ? sibling_path(npy, ".paths.txt") : index,
                           sibling_path(npy, ".errors.jsonl")};
  if (files.index == files.npy || files.errors == files.npy || files.index == files.errors) {
    throw Error(ErrorKind::usage, "-o {} and --index {}: the embeddings, index and error log need different files",
                files.npy, files.index);
  }
  return files;
}

NpyEmbeddings::NpyEmbeddings(NpyEmbeddingsFiles files, io::NpyDtype dtype, bool normalize)
    : m_files(std::move(files)), m_dtype(dtype), m_normalize(normalize) {}

Resumed NpyEmbeddings::open(bool resume) {
  Resumed resumed;
  if (!resume) {
    m_npy.emplace(m_files.npy, m_dtype, 0);
  } else {
    io::NpyRecovery recovery;
    std::error_code ec;
    if (fs::file_size(m_files.npy, ec) > 0 && !ec) {  // empty: created by the output lock
      m_npy.emplace(io::NpyWriter::resume(m_files.npy, m_dtype, &recovery));
      if (recovery.torn_bytes > 0) {
        util::warn(fmt::format("{}: dropped a partial last row ({} bytes) left by an interrupted run", m_files.npy,
                               recovery.torn_bytes));
      }
    } else {
      m_npy.emplace(m_files.npy, m_dtype, 0);
    }
    IndexState index = trim_index(m_files.index, m_npy->rows());
    if (index.kept < m_npy->rows() || index.lines > index.kept) {
      util::warn(fmt::format("resume: {} held {} rows and {} {} lines; kept the first {}", m_files.npy,
                             m_npy->rows(), m_files.index, index.lines, index.kept));
    }
    m_npy->truncate(index.kept);
    io::ResumeState failed = io::scan_for_resume(m_files.errors);
    warn_torn(m_files.errors, failed.torn_bytes);
    resumed.done = std::move(index.done);
    resumed.done.merge(failed.done);
    resumed.failed = failed.errors;
    resumed.held = fmt::format("{} rows in {}, {} failed", m_npy->rows(), m_files.npy, failed.errors);
  }
  m_rows_before = m_npy->rows();
  m_index.emplace(m_files.index, resume);
  m_errors.emplace(m_files.errors, resume);
  return resumed;
}

void NpyEmbeddings::write(const std::vector<media::PipelineItem>& batch, const std::vector<std::vector<float>>& rows,
                          std::vector<std::string>& errors) {
  m_block.clear();
  m_lines.clear();
  // A file without rows takes the width of this run's first row.
  uint64_t dims = m_npy->rows() > 0 ? m_npy->cols() : 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!errors[i].empty()) continue;
    if (batch[i].path.find('\n') != std::string::npos) {
      errors[i] = "the path holds a newline, so it cannot be a line of the index file";
      continue;
    }
    const auto& row = rows[i];
    if (dims == 0) dims = row.size();
    if (row.size() != dims) {
      if (m_npy->rows() > 0 && m_npy->rows() == m_rows_before && m_block.empty()) {
        throw Error(ErrorKind::usage,
                    "{} holds rows of {} values but this run gives {} per image; resume with the same model, "
                    "--layer and --pool, or start a new file",
                    m_files.npy, dims, row.size());
      }
      errors[i] = fmt::format("the embedding has {} values, the rows before it {} (use a fixed input size or "
                              "--pool avg)",
                              row.size(), dims);
      continue;
    }
    const size_t at = m_block.size();
    m_block.insert(m_block.end(), row.begin(), row.end());
    if (m_normalize) inference::l2_normalize(m_block.data() + at, row.size());
    m_lines.push_back(io::record_key(batch[i].path, batch[i].frame_number, batch[i].detection));
  }
  // Rows first, then their index lines, then the errors: a crash in
  // between leaves rows without lines, which resume drops.
  if (!m_lines.empty()) {
    const uint64_t rows_before = m_npy->rows();
    m_npy->append(m_block.data(), m_lines.size(), dims);
    m_npy->flush();
    try {
      for (const auto& line : m_lines) m_index->write(line);
      m_index->flush();
    } catch (const Error&) {
      m_npy->truncate(rows_before);  // no rows without their index lines (disk full)
      throw;
    }
  }
  bool any_error = false;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (errors[i].empty()) continue;
    nlohmann::ordered_json record;
    record["filepath"] = batch[i].path;
    if (batch[i].frame_number > 0) record["frame_number"] = batch[i].frame_number;
    if (batch[i].detection >= 0) record["detection"] = batch[i].detection;
    record["error"] = errors[i];
    m_errors->write(util::dump_json(record));
    any_error = true;
  }
  if (any_error) m_errors->flush();
}

const OutputFormat& npy_embeddings_format() {
  static const OutputFormat format = {"npy", "rows", true, nullptr, nullptr, merge};
  return format;
}

}  // namespace zoo::outputs
