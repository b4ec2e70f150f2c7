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
#include "media/video.hpp"
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

// Turns the model's output for a group of `n` images into one vector per
// image in `rows` (rows.size() == n). Throws zoo::Error when the output is
// not what the job expects; the loop then isolates the images (a failure
// on the very first image ends the run).
using RowsFromOutput = std::function<void(const models::Output& output, size_t n, std::vector<std::vector<float>>& rows)>;

// What the batch loop runs: a Torch model on batches of tensors
// (TorchPredictor), or a black-box detector on 8-bit images (OpenCV's, see
// opencv_detectors.hpp). Used by one thread at a time.
class Predictor {
 public:
  virtual ~Predictor() = default;

  // True when the items must carry 8-bit pixels (DecodeLimits::keep_pixels)
  // rather than normalised tensors.
  virtual bool takes_pixels() const { return false; }

  // Fills rows[i] for the items [start, end) of `batch`: all decoded without
  // error, and of one tensor shape (unless takes_pixels()). Throws
  // zoo::Error when the model fails; the loop then retries the items one by
  // one to find the bad one.
  virtual void run(const std::vector<media::PipelineItem>& batch, size_t start, size_t end,
                   std::vector<std::vector<float>>& rows) = 0;
};

// A Torch model: runs a group as one NCHW batch; `rows_from_output` makes
// the rows. Holds references: `model` and `rows_from_output` must outlive it.
class TorchPredictor : public Predictor {
 public:
  TorchPredictor(models::Model& model, const RowsFromOutput& rows_from_output)
      : m_model(model), m_rows_from_output(rows_from_output) {}
  void run(const std::vector<media::PipelineItem>& batch, size_t start, size_t end,
           std::vector<std::vector<float>>& rows) override;

 private:
  models::Model& m_model;
  const RowsFromOutput& m_rows_from_output;
  std::vector<float> m_buffer;
  std::vector<std::vector<float>> m_group;
};

struct BatchLoopOptions {
  int batch_size = 16;           // images per model call
  int workers = 0;               // decode threads, 0 = all cores
  int64_t max_failures = -1;     // stop once more inputs failed than this; -1 = never
  int64_t max_pixels = 178956970;  // larger images are refused unread
  util::ProgressMode progress = util::ProgressMode::automatic;
  media::FrameSelection frames;  // which frames of video inputs are taken
  // Frames of videos done by an earlier run (resume); thread-safe; may be
  // empty. See media::InputPipelineOptions::skip_frame.
  std::function<bool(const std::string& path, int64_t frame_number)> skip_frame;
};

// The loop settings a job's options struct (ApplyOptions, EmbedOptions)
// carries; skip_frame is left for the job to set.
template <typename JobOptions>
BatchLoopOptions loop_options(const JobOptions& o) {
  BatchLoopOptions loop;
  loop.batch_size = o.batch_size;
  loop.workers = o.workers;
  loop.max_failures = o.max_failures;
  loop.max_pixels = o.max_pixels;
  loop.progress = o.progress;
  loop.frames = o.frames;
  return loop;
}

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
