// run_apply: the `zoo apply` job. Discovers inputs, decodes them on worker
// threads, runs the model (a Torch classifier, detector or segmenter, or an OpenCV detector) batch
// by batch on the calling thread, and writes one JSONL record per image or
// video frame in input order, flushed after every batch.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "inference/batch_job.hpp"
#include "inference/shard.hpp"
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
  media::FrameSelection frames;       // which frames of video inputs are labelled (default: all)
  std::string masks_dir;               // instance_segmenter, segmenter: write masks as PNG files here
                                      // (mask_path in the record); "" = inline (mask_png, base64)
  std::string format = "jsonl";       // jsonl (one record per image or frame) | csv (classifiers: one row
                                      // per image or frame, io/csv.hpp) | coco (detectors: one COCO
                                      // results document, written at the end)
  Shard shard;                        // set: label shard K of N of the inputs into output's part file
};

// Counts and times of a run (see batch_job.hpp).
using ApplySummary = RunSummary;

// Runs the job. `interrupt`, when set by a signal handler, stops the run
// after the current batch with a valid output. Throws zoo::Error for
// failures of the whole run (bad config, unloadable model, unwritable
// output); bad inputs are records in the output and counted in the summary.
ApplySummary run_apply(const ApplyOptions& options, const std::atomic<bool>* interrupt);

}  // namespace zoo::inference
