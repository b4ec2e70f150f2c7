// Sharding a batch job (zoo apply, zoo embed) over machines, as DESIGN.md
// (Scale) has it: shard K of N takes a fixed, contiguous slice of the
// sorted input list, writes its own part file (labels.jsonl ->
// labels.part-3-of-8.jsonl) and, once every input of the slice is done, a
// done marker beside it (labels.part-3-of-8.jsonl.done). A retried shard
// resumes its part, or does nothing if its marker is there. `zoo merge`
// joins the parts, in shard order, into the file one unsharded run would
// have written. Slurm job arrays and Kubernetes Indexed Jobs do the
// scheduling; --shard auto reads their environment.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "inference/batch_job.hpp"

namespace zoo::inference {

// Shard `index` of `count` (0 <= index < count); count 0 = not sharded.
struct Shard {
  int index = 0;
  int count = 0;
  explicit operator bool() const { return count > 0; }
};

// Looks an environment variable up: std::getenv in the program, a map in
// tests. Returns nullptr when it is not set.
using EnvLookup = std::function<const char*(const char*)>;

// Parses --shard:
//   "K/N"     shard K of N, K from 0;
//   "auto"    a Slurm job array: K = SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN,
//             N = SLURM_ARRAY_TASK_COUNT (so --array=1-8 and 0-7 both work);
//   "auto/N"  N shards, K from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job)
//             or else from the Slurm array.
// Throws zoo::Error(usage) naming the text or the variable at fault.
Shard parse_shard(const std::string& text, const EnvLookup& getenv);

// The file shard writes instead of `path`: ".part-K-of-N" before the
// extension, K zero-padded to the digits of N: labels.jsonl ->
// labels.part-03-of-16.jsonl, emb.npy -> emb.part-03-of-16.npy, out ->
// out.part-03-of-16.
std::string part_path(const std::string& path, const Shard& shard);

// The done marker of a part file: PART.done.
std::string done_marker_path(const std::string& part);

// The inputs of `shard`: the slice [T*K/N, T*(K+1)/N) of `paths` (T of
// them). The shards' slices, in order, are `paths`; their sizes differ by
// at most one.
std::vector<std::string> shard_slice(const std::vector<std::string>& paths, const Shard& shard);

// The SHA-256 of the whole input list, one path per line: the done markers
// of one sharded job all carry the same.
std::string inputs_digest(const std::vector<std::string>& paths);

// What a done marker says (JSON, one object).
struct ShardDone {
  Shard shard;
  std::string format;         // what the part holds: jsonl | csv | coco | npy
  uint64_t inputs = 0;        // inputs of this shard
  uint64_t all_inputs = 0;    // inputs of the whole job
  std::string inputs_sha256;  // inputs_digest of the whole job's list
  uint64_t ok = 0;
  uint64_t failed = 0;
};

// Writes the marker of `part` (crash-safe: written whole or not at all).
void write_done_marker(const std::string& part, const ShardDone& done);

// Reads the marker of `part`. Returns false if there is none; throws
// zoo::Error(io) naming the marker if it cannot be read or parsed.
bool read_done_marker(const std::string& part, ShardDone& out);

// A job's sharded run, from begin_shard to finish_shard.
struct ShardRun {
  std::string part;      // the part file the job writes
  ShardDone done;        // the marker to write at the end
  bool finished = false; // an earlier run wrote the marker: nothing to do
};

// Called by a job with the whole input list, before it reads its output:
// keeps the shard's slice in `paths` and checks an earlier marker of
// `part`. If there is one, `finished` is set and the job has nothing to do;
// a marker written for another input list (inputs added or removed since)
// throws zoo::Error(data), as merging such parts would lose or repeat
// inputs.
ShardRun begin_shard(const Shard& shard, const std::string& part, const std::string& format,
                     std::vector<std::string>& paths);

// The summary of a run that found its shard finished (all of the slice
// skipped, the earlier failures counted); says so on stderr.
RunSummary finished_shard_summary(const ShardRun& run);

// Called by a job when its loop has ended: writes the marker if every
// input of the slice was done (not interrupted, not stopped by
// --max-failures). `summary` counts this run; the skipped inputs of a
// resumed part count as done.
void finish_shard(ShardRun& run, const RunSummary& summary);

// zoo merge OUTPUT: finds OUTPUT's parts beside it, checks that every
// shard of the job is done, and writes OUTPUT (for .npy also its index and
// error log) as the parts in shard order.
struct MergeOptions {
  std::string output;
  std::string index;          // .npy: the --index the shards were given ("" = OUT.paths.txt)
  int shards = 0;             // N to merge when parts of several N are there (0 = the only one)
  bool remove_parts = false;  // delete the parts and markers once OUTPUT is written
};

struct MergeSummary {
  Shard shard;                         // count = the shards merged
  std::string format;                  // jsonl | csv | coco | npy
  uint64_t inputs = 0;                 // of the whole job
  uint64_t ok = 0;
  uint64_t failed = 0;
  uint64_t records = 0;                // jsonl lines, csv rows, COCO images, or .npy rows
  std::vector<std::string> written;    // the files written
  std::vector<std::string> removed;    // with remove_parts
};

// Throws zoo::Error(data) naming the missing shards, a part without its
// marker, or parts made from different input lists; zoo::Error(io) for
// files that cannot be read or written. OUTPUT is replaced whole.
MergeSummary merge_parts(const MergeOptions& options);

}  // namespace zoo::inference
