#include "inference/shard.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "inference/embed.hpp"
#include "io/npy.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/sha256.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace zoo::inference {
namespace {

// A whole non-negative decimal number, or -1.
long long parse_count(std::string_view text) {
  long long value = -1;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < 0) return -1;
  return value;
}

// An environment variable as a whole number, or -1 if it is not set;
// throws if it is set to something else.
long long env_count(const EnvLookup& getenv, const char* name) {
  const char* value = getenv(name);
  if (!value) return -1;
  const long long n = parse_count(value);
  if (n < 0) throw Error(ErrorKind::usage, "--shard auto: {}={} is not a whole number", name, value);
  return n;
}

Shard checked(long long index, long long count, const std::string& text) {
  if (count < 1 || count > 100000) {
    throw Error(ErrorKind::usage, "--shard {}: the shard count must be 1 to 100000, got {}", text, count);
  }
  if (index < 0 || index >= count) {
    throw Error(ErrorKind::usage, "--shard {}: shard {} does not exist: shards count from 0 to {}", text, index,
                count - 1);
  }
  return Shard{int(index), int(count)};
}

// K = SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN, or -1 outside a Slurm array.
long long slurm_index(const EnvLookup& getenv) {
  const long long id = env_count(getenv, "SLURM_ARRAY_TASK_ID");
  if (id < 0) return -1;
  const long long min = std::max(0LL, env_count(getenv, "SLURM_ARRAY_TASK_MIN"));
  return id - min;
}

// The folder and the name split at the extension: "out/labels.jsonl" ->
// {"out", "labels", ".jsonl"}.
struct NameParts {
  fs::path folder;
  std::string stem;
  std::string extension;
};

NameParts split_name(const std::string& path) {
  const fs::path p(path);
  const std::string name = p.filename().string();
  if (name.empty() || name == "." || name == "..") {
    throw Error(ErrorKind::usage, "{}: expected a file name, not a folder", path);
  }
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return {p.parent_path(), name, ""};
  return {p.parent_path(), name.substr(0, dot), name.substr(dot)};
}

// What append_file copied.
struct Copied {
  uint64_t bytes = 0;
  uint64_t lines = 0;  // newlines among them
  char last = '\0';    // the last byte ('\0' if none)
};

// Appends `bytes` bytes of the file at `path` from `offset` to `out` (all
// that follow if bytes is -1). With `csv`, a line break inside quotes does
// not count as a line.
Copied append_file(util::AtomicFile& out, const std::string& path, uint64_t offset, int64_t bytes, bool csv = false) {
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

// Lines (newlines) in a file.
uint64_t count_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, "{}: cannot read: {}", path, std::strerror(errno));
  return uint64_t(std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n'));
}

// Concatenates text files of whole lines into `output`; returns the lines.
// With `header` (CSV), each part starts with the same header line, which
// `output` gets once and the count leaves out.
uint64_t concatenate_lines(const std::vector<std::string>& parts, const std::string& output, bool header = false) {
  util::AtomicFile out(output);
  uint64_t lines = 0;
  std::string first_header;
  for (const auto& part : parts) {
    uint64_t offset = 0;
    if (header) {
      std::ifstream in(part, std::ios::binary);
      std::string line;
      if (!in || !std::getline(in, line) || in.eof()) {
        throw Error(ErrorKind::data, "{}: no header line: this part was not started", part);
      }
      if (first_header.empty()) {
        first_header = line;
        out.write(line.data(), line.size());
        out.write("\n", 1);
      } else if (line != first_header) {
        throw Error(ErrorKind::data, "{}: the header `{}` differs from the first part's `{}`", part, line, first_header);
      }
      offset = line.size() + 1;
    }
    const Copied copied = append_file(out, part, offset, -1, header);
    if (copied.bytes > 0 && copied.last != '\n') {
      throw Error(ErrorKind::data, "{}: the last line is cut off: this part was not finished", part);
    }
    lines += copied.lines;
  }
  out.commit();
  return lines;
}

// Joins COCO results documents: images and annotations renumbered in part
// order, categories the union (one name per id).
uint64_t merge_coco(const std::vector<std::string>& parts, const std::string& output) {
  nlohmann::ordered_json images = nlohmann::ordered_json::array();
  nlohmann::ordered_json annotations = nlohmann::ordered_json::array();
  std::map<int64_t, std::string> categories;
  for (const auto& part : parts) {
    nlohmann::ordered_json doc;
    try {
      doc = nlohmann::ordered_json::parse(util::read_file(part));
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorKind::data, "{}: not a COCO results document: {}", part, e.what());
    }
    if (!doc.is_object() || !doc.contains("images") || !doc.contains("annotations") || !doc.contains("categories")) {
      throw Error(ErrorKind::data, "{}: not a COCO results document (images, categories, annotations)", part);
    }
    std::map<int64_t, int64_t> image_ids;
    for (auto image : doc["images"]) {
      const int64_t id = int64_t(images.size()) + 1;
      image_ids[image.at("id").get<int64_t>()] = id;
      image["id"] = id;
      images.push_back(std::move(image));
    }
    for (auto annotation : doc["annotations"]) {
      const int64_t image = annotation.at("image_id").get<int64_t>();
      if (!image_ids.count(image)) throw Error(ErrorKind::data, "{}: an annotation names image {}, which is not there", part, image);
      annotation["image_id"] = image_ids[image];
      annotation["id"] = int64_t(annotations.size()) + 1;
      annotations.push_back(std::move(annotation));
    }
    for (const auto& category : doc["categories"]) {
      const int64_t id = category.at("id").get<int64_t>();
      const std::string name = category.at("name").get<std::string>();
      auto [it, inserted] = categories.emplace(id, name);
      if (!inserted && it->second != name) {
        throw Error(ErrorKind::data, "{}: category {} is \"{}\" here and \"{}\" in an earlier part", part, id, name,
                    it->second);
      }
    }
  }
  nlohmann::ordered_json category_list = nlohmann::ordered_json::array();
  for (const auto& [id, name] : categories) category_list.push_back({{"id", id}, {"name", name}});
  util::AtomicFile out(output);
  out.write(nlohmann::ordered_json{{"images", images}, {"categories", category_list}, {"annotations", annotations}}
                .dump() + "\n");
  out.commit();
  return images.size();
}

// Joins the .npy parts of an embedding job and their index files and error
// logs; checks that each index has one line per row.
uint64_t merge_npy(const std::vector<std::string>& parts, const std::vector<std::string>& indexes,
                   const MergeOptions& options, const std::string& index, const std::string& errors) {
  std::vector<io::NpyHeader> headers;
  uint64_t rows = 0;
  uint64_t cols = 0;
  std::optional<io::NpyDtype> dtype;
  for (size_t i = 0; i < parts.size(); ++i) {
    headers.push_back(io::read_npy_header(parts[i]));
    const auto& h = headers.back();
    if (dtype && h.dtype != *dtype) {
      throw Error(ErrorKind::data, "{} holds {} values, an earlier part {}", parts[i], io::npy_dtype_name(h.dtype),
                  io::npy_dtype_name(*dtype));
    }
    dtype = h.dtype;
    if (h.rows() > 0) {
      if (cols > 0 && h.cols() != cols) {
        throw Error(ErrorKind::data, "{} has rows of {} values, an earlier part {}", parts[i], h.cols(), cols);
      }
      cols = h.cols();
    }
    if (const uint64_t lines = count_lines(indexes[i]); lines != h.rows()) {
      throw Error(ErrorKind::data, "{} has {} lines for the {} rows of {}", indexes[i], lines, h.rows(), parts[i]);
    }
    rows += h.rows();
  }
  util::AtomicFile out(options.output);
  out.write(io::encode_npy_header(*dtype, rows, cols));
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& h = headers[i];
    append_file(out, parts[i], h.header_bytes, int64_t(h.rows() * h.cols() * io::npy_item_size(h.dtype)));
  }
  concatenate_lines(indexes, index);
  std::vector<std::string> error_logs;
  for (const auto& part : parts) error_logs.push_back(sibling_path(part, ".errors.jsonl"));
  concatenate_lines(error_logs, errors);
  out.commit();  // last: the .npy appears once its index and error log are there
  return rows;
}

}  // namespace

Shard parse_shard(const std::string& text, const EnvLookup& getenv) {
  const size_t slash = text.find('/');
  const std::string first = text.substr(0, slash);
  const std::string second = slash == std::string::npos ? "" : text.substr(slash + 1);
  if (first == "auto" && slash == std::string::npos) {
    const long long index = slurm_index(getenv);
    const long long count = env_count(getenv, "SLURM_ARRAY_TASK_COUNT");
    if (index < 0 || count < 0) {
      throw Error(ErrorKind::usage,
                  "--shard auto: not in a Slurm job array (SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT are not "
                  "set); in a Kubernetes Indexed Job use --shard auto/N, else --shard K/N");
    }
    return checked(index, count, text);
  }
  const long long count = parse_count(second);
  if (slash == std::string::npos || count < 0) {
    throw Error(ErrorKind::usage, "--shard {}: expected K/N (shard K of N, K from 0), auto or auto/N", text);
  }
  if (first == "auto") {
    long long index = env_count(getenv, "JOB_COMPLETION_INDEX");
    if (index < 0) index = slurm_index(getenv);
    if (index < 0) {
      throw Error(ErrorKind::usage,
                  "--shard {}: neither JOB_COMPLETION_INDEX (Kubernetes Indexed Job) nor SLURM_ARRAY_TASK_ID is set",
                  text);
    }
    return checked(index, count, text);
  }
  const long long index = parse_count(first);
  if (index < 0) throw Error(ErrorKind::usage, "--shard {}: expected K/N (shard K of N, K from 0), auto or auto/N", text);
  return checked(index, count, text);
}

std::string part_path(const std::string& path, const Shard& shard) {
  const NameParts name = split_name(path);
  const int width = int(std::to_string(shard.count).size());
  const std::string file = fmt::format("{}.part-{:0{}}-of-{}{}", name.stem, shard.index, width, shard.count,
                                       name.extension);
  return (name.folder / file).string();
}

std::string done_marker_path(const std::string& part) { return part + ".done"; }

std::vector<std::string> shard_slice(const std::vector<std::string>& paths, const Shard& shard) {
  const uint64_t total = paths.size();
  const uint64_t begin = total * uint64_t(shard.index) / uint64_t(shard.count);
  const uint64_t end = total * uint64_t(shard.index + 1) / uint64_t(shard.count);
  return {paths.begin() + int64_t(begin), paths.begin() + int64_t(end)};
}

std::string inputs_digest(const std::vector<std::string>& paths) {
  util::Sha256 hash;
  for (const auto& path : paths) {
    hash.update(path);
    hash.update("\n");
  }
  return hash.hex_digest();
}

namespace {

void write_marker(const std::string& path, const ShardDone& done) {
  const nlohmann::ordered_json marker = {
      {"shard", done.shard.index}, {"shards", done.shard.count},      {"format", done.format},
      {"inputs", done.inputs},     {"all_inputs", done.all_inputs},   {"inputs_sha256", done.inputs_sha256},
      {"ok", done.ok},             {"failed", done.failed}};
  util::write_file_atomic(path, marker.dump() + "\n");
}

bool read_marker(const std::string& path, ShardDone& out) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return false;
  try {
    const auto marker = nlohmann::json::parse(util::read_file(path));
    out.shard = Shard{marker.at("shard").get<int>(), marker.at("shards").get<int>()};
    out.format = marker.at("format").get<std::string>();
    out.inputs = marker.at("inputs").get<uint64_t>();
    out.all_inputs = marker.at("all_inputs").get<uint64_t>();
    out.inputs_sha256 = marker.at("inputs_sha256").get<std::string>();
    out.ok = marker.at("ok").get<uint64_t>();
    out.failed = marker.at("failed").get<uint64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::io, "{}: not a zoo shard marker: {}", path, e.what());
  }
  return true;
}

// Written when a shard starts, so that a retry with another input list
// cannot append to a part made from the old one.
std::string started_marker_path(const std::string& part) { return part + ".started"; }

void check_same_inputs(const std::string& marker, const ShardDone& earlier, const ShardDone& now) {
  if (earlier.inputs_sha256 != now.inputs_sha256 || earlier.all_inputs != now.all_inputs) {
    throw Error(ErrorKind::data,
                "{}: this shard was {} for another input list ({} inputs, now {}); merging it with shards of this "
                "list would lose or repeat inputs: remove the parts and markers to start the job over",
                marker, marker.ends_with(".done") ? "done" : "started", earlier.all_inputs, now.all_inputs);
  }
}

}  // namespace

void write_done_marker(const std::string& part, const ShardDone& done) { write_marker(done_marker_path(part), done); }

bool read_done_marker(const std::string& part, ShardDone& out) { return read_marker(done_marker_path(part), out); }

ShardRun begin_shard(const Shard& shard, const std::string& part, const std::string& format,
                     std::vector<std::string>& paths) {
  ShardRun run;
  run.part = part;
  run.done.shard = shard;
  run.done.format = format;
  run.done.all_inputs = paths.size();
  run.done.inputs_sha256 = inputs_digest(paths);
  paths = shard_slice(paths, shard);
  run.done.inputs = paths.size();

  ShardDone earlier;
  if (read_done_marker(part, earlier)) {
    check_same_inputs(done_marker_path(part), earlier, run.done);
    run.done = earlier;
    run.finished = true;
    return run;
  }
  if (read_marker(started_marker_path(part), earlier)) {
    check_same_inputs(started_marker_path(part), earlier, run.done);
  } else {
    write_marker(started_marker_path(part), run.done);
  }
  return run;
}

RunSummary finished_shard_summary(const ShardRun& run) {
  util::info(fmt::format("shard {} of {} is already done ({}): nothing to do", run.done.shard.index,
                         run.done.shard.count, done_marker_path(run.part)));
  RunSummary summary;
  summary.skipped = run.done.inputs;
  summary.failed_before = run.done.failed;
  return summary;
}

void finish_shard(ShardRun& run, const RunSummary& summary) {
  if (run.finished || summary.interrupted || summary.too_many_failures) return;
  run.done.failed = summary.failed_before + summary.failed;
  run.done.ok = summary.skipped + summary.ok - summary.failed_before;
  write_done_marker(run.part, run.done);
  std::error_code ec;
  fs::remove(started_marker_path(run.part), ec);
}

MergeSummary merge_parts(const MergeOptions& options) {
  const NameParts name = split_name(options.output);
  const fs::path folder = name.folder.empty() ? fs::path(".") : name.folder;

  // The shard counts of the parts beside OUTPUT: NAME.part-K-of-N.EXT.
  std::set<int> counts;
  const std::string prefix = name.stem + ".part-";
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string file = it->path().filename().string();
    if (file.size() <= prefix.size() + name.extension.size() || file.rfind(prefix, 0) != 0 ||
        file.compare(file.size() - name.extension.size(), name.extension.size(), name.extension) != 0) {
      continue;
    }
    const std::string middle = file.substr(prefix.size(), file.size() - prefix.size() - name.extension.size());
    const size_t of = middle.find("-of-");
    if (of == std::string::npos || parse_count(middle.substr(0, of)) < 0) continue;
    const long long count = parse_count(middle.substr(of + 4));
    if (count > 0 && count <= 100000) counts.insert(int(count));
  }
  if (ec) throw Error(ErrorKind::io, "{}: cannot list: {}", folder.string(), ec.message());

  MergeSummary summary;
  int count = options.shards;
  if (count == 0) {
    if (counts.empty()) {
      throw Error(ErrorKind::data, "no parts of {} in {} (expected {}): run the shards with -o {} --shard K/N first",
                  options.output, folder.string(), part_path(options.output, Shard{0, 2}), options.output);
    }
    if (counts.size() > 1) {
      std::vector<std::string> listed;
      for (int c : counts) listed.push_back(std::to_string(c));
      throw Error(ErrorKind::usage, "{} has parts of jobs with {} shards: pick one with --shards N", options.output,
                  util::join(listed, ", "));
    }
    count = *counts.begin();
  }

  // Every shard's part and marker, all from the same input list.
  std::vector<std::string> parts;
  std::vector<std::string> missing;
  std::vector<ShardDone> markers;
  for (int k = 0; k < count; ++k) {
    const std::string part = part_path(options.output, Shard{k, count});
    ShardDone done;
    if (!read_done_marker(part, done)) {
      std::error_code exists_ec;
      missing.push_back(fs::exists(part, exists_ec) ? fmt::format("{} (started, not finished)", k) : std::to_string(k));
      continue;
    }
    if (done.shard.index != k || done.shard.count != count) {
      throw Error(ErrorKind::data, "{}: the marker is for shard {} of {}", done_marker_path(part), done.shard.index,
                  done.shard.count);
    }
    if (!markers.empty() &&
        (done.inputs_sha256 != markers[0].inputs_sha256 || done.all_inputs != markers[0].all_inputs ||
         done.format != markers[0].format)) {
      throw Error(ErrorKind::data, "{}: made from another input list or format than {} ({} inputs, {} there)",
                  done_marker_path(part), done_marker_path(parts[0]), done.all_inputs, markers[0].all_inputs);
    }
    parts.push_back(part);
    markers.push_back(done);
  }
  if (!missing.empty()) {
    throw Error(ErrorKind::data, "{} of {} shards of {} are not done: {} (run them, or run them again: a shard resumes)",
                missing.size(), count, options.output, util::join(missing, ", "));
  }

  summary.shard = Shard{0, count};
  summary.format = markers[0].format;
  summary.inputs = markers[0].all_inputs;
  for (const auto& done : markers) {
    summary.ok += done.ok;
    summary.failed += done.failed;
  }
  std::vector<std::string> extra;  // the parts' own index and error logs (npy)
  if (summary.format == "npy") {
    const std::string index = options.index.empty() ? sibling_path(options.output, ".paths.txt") : options.index;
    const std::string errors = sibling_path(options.output, ".errors.jsonl");
    std::vector<std::string> indexes;
    for (int k = 0; k < count; ++k) {
      indexes.push_back(options.index.empty() ? sibling_path(parts[size_t(k)], ".paths.txt")
                                              : part_path(options.index, Shard{k, count}));
      extra.push_back(indexes.back());
      extra.push_back(sibling_path(parts[size_t(k)], ".errors.jsonl"));
    }
    summary.records = merge_npy(parts, indexes, options, index, errors);
    summary.written = {options.output, index, errors};
  } else if (summary.format == "coco") {
    summary.records = merge_coco(parts, options.output);
    summary.written = {options.output};
  } else if (summary.format == "jsonl" || summary.format == "csv") {
    summary.records = concatenate_lines(parts, options.output, summary.format == "csv");
    summary.written = {options.output};
  } else {
    throw Error(ErrorKind::data, "{}: unknown format \"{}\"", done_marker_path(parts[0]), summary.format);
  }

  if (options.remove_parts) {
    for (const auto& part : parts) {
      extra.push_back(part);
      extra.push_back(done_marker_path(part));
    }
    for (const auto& file : extra) {
      std::error_code remove_ec;
      if (fs::remove(file, remove_ec)) summary.removed.push_back(file);
    }
  }
  return summary;
}

}  // namespace zoo::inference
