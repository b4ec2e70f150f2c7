// zoo eval MODEL: labels the truth's files with a classifier (zoo apply's
// job) so they can be scored. Checks what would make the run useless
// before it starts: a model that is not a classifier, videos in the truth.
#pragma once

#include <atomic>
#include <string>

#include "eval/classification.hpp"
#include "inference/apply.hpp"

namespace zoo::eval {

struct ModelRun {
  std::string model;                    // config file or folder holding model.yaml (a resolved path)
  std::string label_field = "predictions";
  int batch_size = 16;
  int threads = 0;                      // Torch threads, 0 = all cores
  int workers = 0;                      // decode threads, 0 = all cores
  int top_k = 0;                        // 0 = the best class only
  util::ProgressMode progress = util::ProgressMode::automatic;
};

// Throws zoo::Error(usage) if `run.model` is not a classifier, and
// zoo::Error(data) naming the first truth file that is a video.
void check_model_run(const ModelRun& run, const Truth& truth);

// Runs the model over every truth file into `labels` (JSON Lines, replaced).
// Returns the run's summary; interrupted when `interrupt` was set.
inference::ApplySummary label_truth(const ModelRun& run, const Truth& truth, const std::string& labels,
                                    const std::atomic<bool>* interrupt);

}  // namespace zoo::eval
