// run_embed: the `zoo embed` job. The same walk as zoo apply (inputs,
// ordered decode pipeline, batches, progress, failures, resume), writing
// one embedding row per good input to an NPY file, the input paths to an
// index file beside it (row i <-> line i) and failed inputs to an error
// log, all flushed after every batch. Memory does not grow with the number
// of inputs.
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

struct EmbedOptions {
  std::string model;                  // config file or folder holding model.yaml
  std::vector<std::string> inputs;    // files and folders
  std::string files_from;             // list file, "-" = stdin, "" = none
  std::string output;                 // the .npy file (required)
  std::string index;                  // paths, one per row; "" = OUT.paths.txt beside the output
  std::optional<std::string> layer;   // overrides the config's embeddings_layer; "" = the model's output
  std::string pool = "avg";           // avg | max | flatten: for outputs of more than 2 dimensions
  std::string dtype = "float32";      // float32 | float16
  bool normalize = false;             // L2-normalise every row (before the float16 conversion)
  bool resume = false;                // keep the rows already written, embed the inputs not yet done
  int batch_size = 16;
  int workers = 0;                    // decode threads, 0 = all cores
  int threads = 0;                    // Torch threads, 0 = all cores
  int64_t max_failures = -1;          // stop once more inputs failed than this; -1 = never
  bool optimize = true;               // freeze + optimize_for_inference
  std::string precision = "fp32";     // fp32 | bf16
  util::ProgressMode progress = util::ProgressMode::automatic;
  int64_t max_pixels = 178956970;     // larger images are refused unread
  media::FrameSelection frames;       // which frames of video inputs are embedded (default: all)
  Shard shard;                        // set: embed shard K of N of the inputs into output's (and index's)
                                      // part files
};

struct EmbedSummary : RunSummary {
  std::string output;       // the .npy file
  std::string index;        // its index file
  std::string errors;       // the error log
  std::string layer;        // the layer used ("" = the model's output)
  uint64_t rows = 0;        // rows in the output, earlier runs included
  uint64_t dims = 0;        // values per row (0 if there are no rows yet)
  std::string dtype;        // float32 | float16
};

// Runs the job. `interrupt`, when set by a signal handler, stops the run
// after the current batch with valid files. Throws zoo::Error for failures
// of the whole run (bad config or layer, unloadable model, unwritable
// output, a resumed file whose rows do not match this run's); bad inputs
// are lines in the error log and counted in the summary.
EmbedSummary run_embed(const EmbedOptions& options, const std::atomic<bool>* interrupt);

// Where the index and error log go by default: `npy` without its ".npy"
// extension, plus `suffix` ("emb.npy" + ".paths.txt" -> "emb.paths.txt").
std::string sibling_path(const std::string& npy, const std::string& suffix);

// How an output of more than 2 dimensions becomes rows: [N, C, H, W] (and
// more spatial axes) is pooled over the axes after C; [N, T, D] (a
// transformer's tokens) over the tokens T.
enum class Pool {
  avg,      // the mean: [N, C, H, W] -> [N, C], [N, T, D] -> [N, D]
  max,      // the maximum
  flatten,  // every value: [N, C, H, W] -> [N, C*H*W]
};

// Parses "avg", "max", "flatten"; throws zoo::Error(usage).
Pool parse_pool(const std::string& text);

// One row per image from a model output of shape [n, ...]: [n, d] as it
// is, [n] as one value per row, 3 or more dimensions pooled by `pool`
// (see Pool).
// Throws zoo::Error(model) if the output's first dimension is not n.
void pool_rows(const models::Output& output, size_t n, Pool pool, std::vector<std::vector<float>>& rows);

// Scales the `size` values at `row` to unit L2 norm (an all-zero row stays
// zero).
void l2_normalize(float* row, size_t size);

}  // namespace zoo::inference
