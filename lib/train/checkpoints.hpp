// A training run's checkpoints: OUTDIR/checkpoints/epoch-NNNN/{model.pt,
// optimizer.pt, state.json}, with `last` and `best` symlinks. Written so
// that a kill at any moment leaves a complete checkpoint behind. Torch
// types: for lib/train/ only.
#pragma once

#include <filesystem>

#include <torch/script.h>
#include <torch/optim/optimizer.h>

#include "train/run_record.hpp"

namespace zoo::train {

// Writes epoch `epoch`'s checkpoint, points `last` (and with `is_best`,
// `best`) at it and removes the epochs neither points to. Throws
// zoo::Error(io).
void save_checkpoint(const std::filesystem::path& out, int epoch, bool is_best, torch::jit::Module& module,
                     torch::optim::Optimizer& optimizer, const RunState& state);

// Reads the `last` checkpoint into `module`, `optimizer` and `state`, and
// repairs a `best` link a kill left behind. Returns false when there is no
// checkpoint yet. Throws zoo::Error(data) for an unreadable one.
bool load_checkpoint(const std::filesystem::path& out, torch::jit::Module& module, torch::optim::Optimizer& optimizer,
                     RunState& state);

}  // namespace zoo::train
