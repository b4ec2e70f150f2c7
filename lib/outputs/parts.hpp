// The files of a sharded job (DESIGN.md, Scale): shard K of N writes its
// own part of the output (labels.jsonl -> labels.part-3-of-8.jsonl), a
// started marker while it runs and a done marker once every input of its
// slice is done. The markers pin the part to the job's input list and to
// the model and settings that made it; the done marker also pins the part's
// files (size and SHA-256), which zoo merge verifies. Also the
// pieces the formats' merges share to join parts into one file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "outputs/run_record.hpp"
#include "util/files.hpp"

namespace zoo::outputs {

// The most shards a job can have.
constexpr int k_max_shards = 100000;

// Shard `index` of `count` (0 <= index < count); count 0 = not sharded.
struct Shard {
  int index = 0;
  int count = 0;
  explicit operator bool() const { return count > 0; }
};

// The file shard writes instead of `path`: ".part-K-of-N" before the
// extension, K zero-padded to the digits of N: labels.jsonl ->
// labels.part-03-of-16.jsonl, emb.npy -> emb.part-03-of-16.npy, out ->
// out.part-03-of-16. Throws zoo::Error(usage) when `path` names a folder.
std::string part_path(const std::string& path, const Shard& shard);

// N when `file` (a name, no folder) is a part of `path` of a job of N
// shards (part_path(path, Shard{K, N}) for some K), else 0.
int part_count(const std::string& path, const std::string& file);

// `path` itself when `shard` is not set, else its part_path.
std::string sharded_path(const std::string& path, const Shard& shard);

// The folder and the name split at the extension: "out/labels.jsonl" ->
// {"out", "labels", ".jsonl"}. Throws zoo::Error(usage) for a folder.
struct NameParts {
  std::string folder;
  std::string stem;
  std::string extension;
};
NameParts split_name(const std::string& path);

// The done marker of a part file: PART.done; the started marker:
// PART.started.
std::string done_marker_path(const std::string& part);
std::string started_marker_path(const std::string& part);

// What a marker says (JSON, one object).
struct ShardDone {
  Shard shard;
  std::string format;         // what the part holds: an OutputFormat's name
  uint64_t inputs = 0;        // inputs of this shard
  uint64_t all_inputs = 0;    // inputs of the whole job
  std::string inputs_sha256;  // the SHA-256 of the whole job's input list
  uint64_t ok = 0;
  uint64_t failed = 0;
  Producer producer;               // what made the part (null in markers of an older zoo)
  std::vector<PinnedFile> files;   // done markers: the part's files as the shard left them
};

// Writes a marker at `path` (crash-safe: written whole or not at all).
void write_marker(const std::string& path, const ShardDone& done);

// Reads the marker at `path`. Returns false if there is none; throws
// zoo::Error(io) naming the marker if it cannot be read or parsed.
bool read_marker(const std::string& path, ShardDone& out);

// The done marker of `part`: write_marker / read_marker at
// done_marker_path(part).
void write_done_marker(const std::string& part, const ShardDone& done);
bool read_done_marker(const std::string& part, ShardDone& out);

// Appends the file at `path` from `offset` to its end to `out`; returns the
// lines appended (newlines; with `csv`, a line break inside quotes does not
// count). Throws zoo::Error(data) when its last line is cut off (the part
// was not finished), (io) when it cannot be read.
uint64_t append_lines(util::AtomicFile& out, const std::string& path, uint64_t offset = 0, bool csv = false);

// Appends `bytes` bytes of the file at `path` from `offset` to `out`.
void append_bytes(util::AtomicFile& out, const std::string& path, uint64_t offset, uint64_t bytes);

// Lines (newlines) in a file. Throws zoo::Error(io) when it cannot be read.
uint64_t count_lines(const std::string& path);

// Concatenates text files of whole lines into `output` (replaced whole);
// returns the lines.
uint64_t concatenate_lines(const std::vector<std::string>& parts, const std::string& output);

}  // namespace zoo::outputs
