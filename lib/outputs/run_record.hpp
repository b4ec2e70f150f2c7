// What made an output, kept beside it so that a later run can tell whether
// it may add to it: the producer (the model's digest and the settings that
// shape the records) and, for a finished shard's part, the size and digest
// of each of its files. An unsharded output OUT has OUT.run.json; a shard's
// part has its started and done markers (parts.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace zoo::outputs {

// {"model": "sha256:HEX", "settings": {KEY: VALUE, ...}} (jobs::Job::producer).
using Producer = nlohmann::ordered_json;

// "" when `now` is what `there` records, else what differs, for messages:
// `model sha256:0a1b2c3d4e5f… there, sha256:9f8e7d6c5b4a… now; top_k 3
// there, 5 now` (`there` and `now` named by the last two arguments).
std::string producer_differences(const Producer& there, const Producer& now, const char* there_name = "there",
                                 const char* now_name = "now");

// The run record of an unsharded output: OUT.run.json.
std::string run_record_path(const std::string& output);

// Replaces the run record of `output` (crash-safe). Throws zoo::Error(io).
void write_run_record(const std::string& output, const Producer& producer);

// The producer the run record of `output` holds; null when there is none.
// Throws zoo::Error(io) naming the record when it cannot be read or parsed.
Producer read_run_record(const std::string& output);

// A file as it was when a shard finished.
struct PinnedFile {
  std::string path;  // relative to the marker's folder
  uint64_t bytes = 0;
  std::string sha256;
};

// `files` (paths as the writer has them) pinned as they are now, their
// paths made relative to `folder`. Throws zoo::Error(io) if one cannot be
// read.
std::vector<PinnedFile> pin_files(const std::vector<std::string>& files, const std::string& folder);

// Throws zoo::Error(data) naming the first pinned file (under `folder`) that
// is missing or differs from its pin, and `marker`, which pinned it.
void verify_pinned(const std::vector<PinnedFile>& pins, const std::string& folder, const std::string& marker);

}  // namespace zoo::outputs
