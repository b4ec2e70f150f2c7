// run_apply: the `zoo apply` job. Discovers inputs, decodes them on worker
// threads, runs the model batch by batch on the calling thread, and writes
// one JSONL record per input in input order, flushed after every batch.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/progress.hpp"

namespace zoo::inference {

struct ApplyOptions {
  std::string model;                  // config file or folder holding model.yaml
  std::vector<std::string> inputs;    // files and folders
  std::string files_from;             // list file, "-" = stdin, "" = none
  std::string output = "-";           // JSONL path, "-" = stdout
  bool resume = false;                // skip inputs already in `output`, append the rest
  int batch_size = 16;
  int workers = 0;                    // decode threads, 0 = all cores
  int threads = 0;                    // Torch threads, 0 = all cores
  int top_k = 0;                      // 0 = one Classification per image
  std::optional<double> confidence_thresh;  // overrides the config's
  bool store_logits = false;          // or the config's output_processor_args.store_logits
  int64_t max_failures = -1;          // stop once more inputs failed than this; -1 = never
  bool optimize = true;               // freeze + optimize_for_inference
  std::string precision = "fp32";     // fp32 | bf16
  std::string label_field = "predictions";
  util::ProgressMode progress = util::ProgressMode::automatic;
  int64_t max_pixels = 178956970;     // larger images are refused unread
};

struct ApplySummary {
  size_t total = 0;             // inputs of this run (after resume skipped some)
  size_t ok = 0;
  size_t failed = 0;
  size_t skipped = 0;           // already in the output (resume)
  size_t failed_before = 0;     // error records among the skipped
  double seconds = 0;           // wall time of the processing loop
  double decode_seconds = 0;    // summed over workers
  double model_seconds = 0;
  double write_seconds = 0;
  int workers = 0;
  bool interrupted = false;         // stopped by `interrupt`
  bool too_many_failures = false;   // stopped by max_failures
};

// Runs the job. `interrupt`, when set by a signal handler, stops the run
// after the current batch with a valid output. Throws zoo::Error for
// failures of the whole run (bad config, unloadable model, unwritable
// output); bad inputs are records in the output and counted in the summary.
ApplySummary run_apply(const ApplyOptions& options, const std::atomic<bool>* interrupt);

// One line: counts, images/s and the time split.
std::string format_summary(const ApplySummary& summary);

}  // namespace zoo::inference
