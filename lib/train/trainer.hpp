// run_train: the `zoo train` job. Trains a built-in architecture on a
// labelled image set with worker-thread decoding and augmentation, streams
// Marcelle-style status events, checkpoints every epoch (model, optimizer,
// schedule state) and resumes from the last checkpoint. Same seed, data,
// options and threads give bit-identical weights.
#pragma once

#include <atomic>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "util/progress.hpp"

namespace zoo::train {

struct TrainOptions {
  std::string model;             // config file or folder with model.yaml (a built-in entrypoint)
  std::string data;              // class-per-folder tree, or CSV/JSONL of filepath,label
  std::string val;               // validation set (same forms); "" = split off val_split of data
  double val_split = 0.1;        // fraction of each class held out when `val` is empty; 0 = no validation
  uint64_t seed = 0;
  int epochs = 0;                // 0 = 10, or on resume the run's own; on resume more extends it
  int batch_size = 64;
  double lr = 0;                 // 0 = the optimizer's default (adam/adamw 1e-3, sgd 0.01)
  std::string optimizer = "adam";  // sgd | adam | adamw
  double momentum = 0.9;         // sgd only
  double weight_decay = 0;
  std::string schedule = "cosine";  // constant | step | cosine (per epoch)
  int step_size = 0;             // step schedule: epochs per decay (0 = epochs / 3)
  double gamma = 0.1;            // step schedule: decay factor
  int warmup_epochs = 0;         // linear warm-up before the schedule
  double label_smoothing = 0;
  int patience = 0;              // stop after this many epochs without a lower val_loss; 0 = never
  int threads = 0;               // Torch threads, 0 = all cores
  int workers = 0;               // decode threads, 0 = all cores
  bool freeze = false;           // train only the head (the last layer with weights)
  std::string freeze_until;      // freeze every parameter up to and including this module
  std::string output;            // OUTDIR
  bool resume = false;           // continue the run in `output` from its last checkpoint
  util::ProgressMode progress = util::ProgressMode::automatic;  // json: events to stderr too
  // The options given on the command line, as train.json's keys
  // (batch_size): the config's train: section sets only the others.
  std::set<std::string> given;
  std::vector<std::string> from_config;  // filled in: the keys the config's train: section set
};

struct TrainResult {
  int epochs_done = 0;
  int best_epoch = 0;            // 1-based; the epoch whose weights are in OUTDIR
  double best_val_loss = 0;
  double best_val_accuracy = 0;  // -1 when there is no validation set
  size_t train_samples = 0;
  size_t val_samples = 0;
  size_t bad_files = 0;          // skipped: unreadable or undecodable
  double seconds = 0;
  bool interrupted = false;
  bool early_stopped = false;
};

// Runs (or resumes) a training run. A new run first takes the options the
// command line did not give (`given`) from the config's train: section. Throws zoo::Error on failure after
// writing a {"status":"error"} event when OUTDIR exists.
TrainResult run_train(const TrainOptions& options, const std::atomic<bool>* interrupt);

}  // namespace zoo::train
