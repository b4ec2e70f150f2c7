#include "jobs/shard.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/log.hpp"
#include "util/sha256.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace zoo::jobs {
namespace {

using util::parse_count;

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
  if (count < 1 || count > outputs::k_max_shards) {
    throw Error(ErrorKind::usage, "--shard {}: the shard count must be 1 to {}, got {}", text, outputs::k_max_shards,
                count);
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

// The shard's earlier run (its marker) was of this job: the same input
// list, model and settings.
void check_same_job(const std::string& marker, const outputs::ShardDone& earlier, const outputs::ShardDone& now) {
  const char* state = marker.ends_with(".done") ? "done" : "started";
  if (earlier.inputs_sha256 != now.inputs_sha256 || earlier.all_inputs != now.all_inputs) {
    throw Error(ErrorKind::data,
                "{}: this shard was {} for another input list ({} inputs, now {}); merging it with shards of this "
                "list would lose or repeat inputs: remove the parts and markers to start the job over",
                marker, state, earlier.all_inputs, now.all_inputs);
  }
  if (earlier.producer.is_null()) return;  // a marker of an older zoo records no producer
  if (const std::string differences = outputs::producer_differences(earlier.producer, now.producer);
      !differences.empty()) {
    throw Error(ErrorKind::usage,
                "{}: this shard was {} with another model or other settings ({}); run it with the same ones, or "
                "remove the parts and markers to start the job over",
                marker, state, differences);
  }
}

}  // namespace

Shard parse_shard(const std::string& text, const EnvLookup& getenv, int base) {
  const size_t slash = text.find('/');
  const std::string first = text.substr(0, slash);
  const std::string second = slash == std::string::npos ? "" : text.substr(slash + 1);
  if (base != 0 && (first != "auto" || slash == std::string::npos)) {
    throw Error(ErrorKind::usage, "--shard-base goes with --shard auto/N (K = SLURM_ARRAY_TASK_ID - base), not "
                "--shard {}", text);
  }
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
    if (index < 0) {
      const long long task = env_count(getenv, "SLURM_ARRAY_TASK_ID");
      if (task < 0) {
        throw Error(ErrorKind::usage, "--shard {}: neither JOB_COMPLETION_INDEX (Kubernetes Indexed Job) nor "
                    "SLURM_ARRAY_TASK_ID is set", text);
      }
      index = task - base;
      if (index < 0) {
        throw Error(ErrorKind::usage, "--shard {}: SLURM_ARRAY_TASK_ID={} is below --shard-base {}, the array's "
                    "first index", text, task, base);
      }
    }
    return checked(index, count, text);
  }
  const long long index = parse_count(first);
  if (index < 0) throw Error(ErrorKind::usage, "--shard {}: expected K/N (shard K of N, K from 0), auto or auto/N", text);
  return checked(index, count, text);
}

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

ShardRun begin_shard(const Shard& shard, const std::string& part, const std::string& format,
                     const outputs::Producer& producer, std::vector<std::string>& paths) {
  ShardRun run;
  run.part = part;
  run.done.shard = shard;
  run.done.format = format;
  run.done.producer = producer;
  run.done.all_inputs = paths.size();
  run.done.inputs_sha256 = inputs_digest(paths);
  paths = shard_slice(paths, shard);
  run.done.inputs = paths.size();

  outputs::ShardDone earlier;
  if (outputs::read_done_marker(part, earlier)) {
    check_same_job(outputs::done_marker_path(part), earlier, run.done);
    run.done = earlier;
    run.finished = true;
    return run;
  }
  if (outputs::read_marker(outputs::started_marker_path(part), earlier)) {
    check_same_job(outputs::started_marker_path(part), earlier, run.done);
  } else {
    outputs::write_marker(outputs::started_marker_path(part), run.done);
  }
  return run;
}

inference::RunSummary finished_shard_summary(const ShardRun& run) {
  util::info(fmt::format("shard {} of {} is already done ({}): nothing to do", run.done.shard.index,
                         run.done.shard.count, outputs::done_marker_path(run.part)));
  inference::RunSummary summary;
  summary.skipped = run.done.inputs;
  summary.failed_before = run.done.failed;
  return summary;
}

void finish_shard(ShardRun& run, const inference::RunSummary& summary, const std::vector<std::string>& files) {
  if (run.finished || summary.interrupted || summary.too_many_failures) return;
  run.done.failed = summary.failed_before + summary.failed;
  run.done.ok = summary.skipped + summary.ok - summary.failed_before;
  run.done.files = outputs::pin_files(files, outputs::split_name(run.part).folder);
  outputs::write_done_marker(run.part, run.done);
  std::error_code ec;
  fs::remove(outputs::started_marker_path(run.part), ec);
}

}  // namespace zoo::jobs
