// The pieces the batch jobs (zoo apply, zoo embed) share: gathering the
// input paths, the batch loop (ordered decode pipeline, batching, the model
// call with failing inputs isolated, progress, interruption,
// --max-failures) and the run summary. A job adds what it writes.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "config/model_config.hpp"
#include "media/pipeline.hpp"
#include "models/model.hpp"
#include "util/progress.hpp"

namespace zoo::inference {

struct RunSummary {
  size_t total = 0;             // inputs of this run (after resume skipped some)
  size_t ok = 0;
  size_t failed = 0;
  size_t skipped = 0;           // already in the output (resume)
  size_t failed_before = 0;     // failures among the skipped
  double seconds = 0;           // wall time of the processing loop
  double decode_seconds = 0;    // summed over workers
  double model_seconds = 0;
  double write_seconds = 0;
  int workers = 0;
  bool interrupted = false;         // stopped by `interrupt`
  bool too_many_failures = false;   // stopped by max_failures
};

// One line: counts, images/s and the time split.
std::string format_summary(const RunSummary& summary);

// The inputs in order: `inputs` (files, folders walked recursively and
// sorted) then the paths listed in `files_from` ("-" = stdin, "" = none).
// Throws zoo::Error(usage) when there are none.
std::vector<std::string> gather_inputs(const std::vector<std::string>& inputs, const std::string& files_from);

struct BatchLoopOptions {
  int batch_size = 16;           // images per model call
  int workers = 0;               // decode threads, 0 = all cores
  int64_t max_failures = -1;     // stop once more inputs failed than this; -1 = never
  int64_t max_pixels = 178956970;  // larger images are refused unread
  util::ProgressMode progress = util::ProgressMode::automatic;
};

// Turns the model's output for a group of `n` images into one vector per
// image in `rows` (rows.size() == n). Throws zoo::Error when the output is
// not what the job expects; the loop then isolates the images (a failure
// on the very first image ends the run).
using RowsFromOutput = std::function<void(const models::Output& output, size_t n, std::vector<std::vector<float>>& rows)>;

// Writes one batch: rows[i] for the items with an empty errors[i]. May
// fail an item by setting errors[i] (counted and reported as a failed
// input). Throws zoo::Error to end the run.
using BatchSink = std::function<void(const std::vector<media::PipelineItem>& batch,
                                     const std::vector<std::vector<float>>& rows, std::vector<std::string>& errors)>;

// Runs the model over `paths` in order, batch by batch, handing every
// batch to `sink`. Failed inputs are counted and reported on stderr
// ("zoo: warning: PATH: reason"). Stops after the current batch when
// `interrupt` is set or more than max_failures inputs failed (flags in
// `summary`). Fills the counts and times of `summary` (total included).
void run_batches(const std::vector<std::string>& paths, const config::Preprocess& preprocess, models::Model& model,
                 const RowsFromOutput& rows_from_output, const BatchLoopOptions& options,
                 const std::atomic<bool>* interrupt, const BatchSink& sink, RunSummary& summary);

}  // namespace zoo::inference
