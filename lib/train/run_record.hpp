// What a training run records to be resumed: its options (OUTDIR/train.json)
// and, with each checkpoint, the state between epochs (state.json).
#pragma once

#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/trainer.hpp"

namespace zoo::train {

// The options that decide the run's weights, as train.json holds them.
nlohmann::json options_to_json(const TrainOptions& options);

// The options of a run being resumed: train.json's, with the runtime
// settings (workers, progress, output) and a larger --epochs from `cli`.
// Throws nlohmann::json::exception for a train.json missing a key.
TrainOptions options_from_json(const nlohmann::json& j, const TrainOptions& cli);

// `options` with the config's train: section (`recipe`, keyed as
// options_to_json) filled in where the command line gave nothing
// (options.given); options.from_config lists the keys it set.
TrainOptions with_recipe(const TrainOptions& options, const nlohmann::json& recipe);

// What survives between epochs besides weights and optimizer state.
struct RunState {
  int epochs_done = 0;
  int best_epoch = 0;  // 1-based, 0 = none yet
  double best_val_loss = std::numeric_limits<double>::infinity();
  int since_best = 0;
  nlohmann::json history = nlohmann::json::array();  // one entry per epoch: the event's data
  nlohmann::json best_metrics;             // per-class metrics and confusion matrix of the best epoch
  nlohmann::json last_metrics;
  std::vector<std::string> bad_files;

  nlohmann::json to_json() const;
  // Throws nlohmann::json::exception for a state another version wrote.
  static RunState from_json(const nlohmann::json& j);
};

}  // namespace zoo::train
