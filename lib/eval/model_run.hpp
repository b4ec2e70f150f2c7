// zoo eval MODEL: labels the truth's files with the model (zoo apply's job)
// so they can be scored. Checks what would make the run useless before it
// starts: a model of the wrong kind, videos in the truth.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "jobs/apply.hpp"

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

// Checks that `run.model` is a classifier (or, with `detection`, a
// detector, instance segmenter or keypoints model) and that no file of
// `paths` (the truth's, from `source`) is a video. Returns the label field
// the run's records hold the label in (a keypoints model's Detections are
// FIELD_detections). Throws zoo::Error(usage) for the model, (data) for a
// video.
std::string check_model_run(const ModelRun& run, const std::vector<std::string>& paths, const std::string& source,
                            bool detection);

// Runs the model over `paths` into `labels` (JSON Lines, replaced).
// Returns the run's summary; interrupted when `interrupt` was set.
jobs::ApplySummary label_files(const ModelRun& run, const std::vector<std::string>& paths,
                                    const std::string& labels, const std::atomic<bool>* interrupt);

}  // namespace zoo::eval
