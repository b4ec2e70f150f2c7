// What the batch subcommands (apply, embed) share: the options of the run
// loop, declared once; Ctrl-C/SIGTERM handling; the exit code of a run.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "inference/batch_job.hpp"
#include "inference/shard.hpp"
#include "store_options.hpp"

namespace zoo::app {

// --shard's value as a Shard, with the job arrays' variables from the
// environment (see inference::parse_shard).
inference::Shard parse_shard_arg(const std::string& text);

// The options every batch job takes, as parsed.
struct BatchArgs {
  std::vector<std::string> inputs;
  std::string files_from;
  bool resume = false;
  int batch_size = 16;
  int workers = 0;
  int threads = 0;
  int64_t max_failures = -1;
  int64_t max_pixels = 178956970;
  std::string precision = "fp32";
  bool no_optimize = false;
  std::string progress = "auto";
  bool quiet = false;
  int64_t frame_stride = 1;
  double fps = 0;
  std::string shard;  // --shard K/N | auto | auto/N ("" = not sharded)
  StoreArgs store;  // where a MODEL reference is resolved

  // Call before the run: applies --quiet, checks that there are inputs and
  // returns the --progress mode. Throws zoo::Error(usage) for no inputs or
  // a bad mode.
  util::ProgressMode begin_run() const;

  // Copies the shared options into a job's options struct (ApplyOptions,
  // EmbedOptions): inputs, lists, resume, batching, threads, limits,
  // precision, optimisation; and resolves a MODEL that is a store
  // reference to the folder it is unpacked in.
  template <typename Options>
  void copy_to(Options& o) const {
    o.model = resolve_model_arg(o.model, store);
    o.inputs = inputs;
    o.files_from = files_from;
    o.resume = resume;
    o.batch_size = batch_size;
    o.workers = workers;
    o.threads = threads;
    o.max_failures = max_failures;
    o.max_pixels = max_pixels;
    o.precision = precision;
    o.optimize = !no_optimize;
    o.frames.stride = frame_stride;
    o.frames.fps = fps;
    if (!shard.empty()) o.shard = parse_shard_arg(shard);
  }
};

// Adds INPUT..., --files-from, --resume (described by `resume_help`), -b,
// --workers, --threads, --max-failures, --max-pixels, --precision,
// --no-optimize, --progress, -q, the store options, --frame-stride, --fps
// and --shard to `app`, bound to `args`.
void add_batch_options(CLI::App& app, BatchArgs& args, const std::string& resume_help);

// While alive, SIGINT and SIGTERM set flag() instead of killing the
// process (a second signal kills at once). One at a time.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  const std::atomic<bool>* flag() const;
};

// Prints the summary line and the interruption or --max-failures message
// ("run again with --resume" when `resumable`), and returns the exit code:
// 130 interrupted, 1 too many failures, 3 some inputs failed (now or in an
// earlier, resumed run), else 0.
int finish_run(const inference::RunSummary& summary, bool resumable, int64_t max_failures);

}  // namespace zoo::app
