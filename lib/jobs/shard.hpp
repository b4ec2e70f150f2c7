// Sharding a batch job (zoo apply, zoo embed) over machines, as DESIGN.md
// (Scale) has it: shard K of N takes a fixed, contiguous slice of the
// sorted input list and writes its own part of the output
// (outputs/parts.hpp); a retried shard resumes its part, or does nothing if
// its done marker is there. `zoo merge` (merge.hpp) joins the parts. Slurm
// job arrays and Kubernetes Indexed Jobs do the scheduling; --shard auto
// reads their environment.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "inference/batch_loop.hpp"
#include "outputs/parts.hpp"

namespace zoo::jobs {

using outputs::Shard;

// Looks an environment variable up: std::getenv in the program, a map in
// tests. Returns nullptr when it is not set.
using EnvLookup = std::function<const char*(const char*)>;

// Parses --shard:
//   "K/N"     shard K of N, K from 0;
//   "auto/N"  N shards, K = JOB_COMPLETION_INDEX (a Kubernetes Indexed Job),
//             or else K = SLURM_ARRAY_TASK_ID - `base` (--shard-base: the
//             array's first index, default 0). What stays true when tasks
//             are resubmitted on their own (sbatch --array=2), so retries
//             do the shard they failed;
//   "auto"    a Slurm job array submitted whole: K = SLURM_ARRAY_TASK_ID -
//             SLURM_ARRAY_TASK_MIN, N = SLURM_ARRAY_TASK_COUNT (so
//             --array=1-8 and 0-7 both work; a resubmitted task would take
//             the new array's MIN and COUNT: use auto/N for those).
// `base` goes with auto/N only. Throws zoo::Error(usage) naming the text or
// the variable at fault.
Shard parse_shard(const std::string& text, const EnvLookup& getenv, int base = 0);

// The inputs of `shard`: the slice [T*K/N, T*(K+1)/N) of `paths` (T of
// them). The shards' slices, in order, are `paths`; their sizes differ by
// at most one.
std::vector<std::string> shard_slice(const std::vector<std::string>& paths, const Shard& shard);

// The SHA-256 of the whole input list, one path per line: the done markers
// of one sharded job all carry the same.
std::string inputs_digest(const std::vector<std::string>& paths);

// A job's sharded run, from begin_shard to finish_shard.
struct ShardRun {
  std::string part;             // the part file the job writes
  outputs::ShardDone done;      // the marker to write at the end
  bool finished = false;        // an earlier run wrote the marker: nothing to do
};

// Called by a job with the whole input list, before it reads its output:
// keeps the shard's slice in `paths` and checks an earlier marker of
// `part`. If there is one, `finished` is set and the job has nothing to do;
// a marker written for another input list (inputs added or removed since)
// throws zoo::Error(data), as merging such parts would lose or repeat
// inputs; one written by another `producer` (model or settings) throws
// zoo::Error(usage), as the part would mix records of both.
ShardRun begin_shard(const Shard& shard, const std::string& part, const std::string& format,
                     const outputs::Producer& producer, std::vector<std::string>& paths);

// The summary of a run that found its shard finished (all of the slice
// skipped, the earlier failures counted); says so on stderr.
inference::RunSummary finished_shard_summary(const ShardRun& run);

// Called by a job when its loop has ended: writes the marker if every
// input of the slice was done (not interrupted, not stopped by
// --max-failures), pinning `files` (the part's files, as the writer names
// them). `summary` counts this run; the skipped inputs of a resumed part
// count as done.
void finish_shard(ShardRun& run, const inference::RunSummary& summary, const std::vector<std::string>& files);

}  // namespace zoo::jobs
