// The batch loop every batch job (zoo apply, zoo embed) runs: the ordered
// decode pipeline, batching, the model call with failing inputs isolated,
// progress, interruption, --max-failures, and the run's summary. What a
// job writes is its sink; the job skeleton around the loop (inputs, shard,
// resume, writer) is jobs/batch_job.hpp.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "config/model_config.hpp"
#include "inference/predictor.hpp"
#include "media/input_pipeline.hpp"
#include "media/image.hpp"
#include "media/pipeline.hpp"
#include "media/video.hpp"
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
  std::string unit = "images";      // what the counts count: "patches" on --patches
};

// One line: counts, images/s and the time split.
std::string format_summary(const RunSummary& summary);

struct BatchLoopOptions {
  int batch_size = 16;           // images per model call
  int workers = 0;               // decode threads, 0 = all cores
  int64_t max_failures = -1;     // stop once more inputs failed than this; -1 = never
  int64_t max_pixels = media::k_default_max_pixels;  // larger images are refused unread
  util::ProgressMode progress = util::ProgressMode::automatic;
  media::FrameSelection frames;  // which frames of video inputs are taken
  // Frames of videos done by an earlier run (resume); thread-safe; may be
  // empty. See media::InputPipelineOptions::skip_frame.
  std::function<bool(const std::string& path, int64_t frame_number)> skip_frame;
  // Set: the model runs on patches of the inputs instead of whole images
  // (another model's detections); see media::InputPipelineOptions::patches.
  std::function<media::PatchList(const std::string& path, int64_t frame_number)> patches;
  media::PatchShape patch_shape;
};

// Writes one batch: rows[i] for the items with an empty errors[i]. May
// fail an item by setting errors[i] (counted and reported as a failed
// input). Throws zoo::Error to end the run.
using BatchSink = std::function<void(const std::vector<media::PipelineItem>& batch,
                                     const std::vector<std::vector<float>>& rows, std::vector<std::string>& errors)>;

// Runs `predictor` over `paths` (images, and videos frame by frame) in
// order, batch by batch, handing every batch to `sink`. Failed inputs are
// counted and reported on stderr ("zoo: warning: PATH: reason", or
// "PATH#FRAME: reason"). Stops after the current batch when `interrupt` is
// set or more than max_failures inputs failed (flags in `summary`). Fills
// the counts and times of `summary` (total included; skipped grows by the
// video frames left out by skip_frame).
void run_batches(const std::vector<std::string>& paths, const config::Preprocess& preprocess, Predictor& predictor,
                 const BatchLoopOptions& options, const std::atomic<bool>* interrupt, const BatchSink& sink,
                 RunSummary& summary);

}  // namespace zoo::inference
