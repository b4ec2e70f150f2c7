// run_embed: the `zoo embed` job. The batch job skeleton (batch_job.hpp)
// with a Torch batch model cut at a layer and the .npy writer
// (outputs/npy_embeddings.hpp): one embedding row per good input, the input
// paths in an index file beside it (row i <-> line i) and failed inputs in
// an error log, all flushed after every batch. Memory does not grow with
// the number of inputs.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "jobs/batch_job.hpp"

namespace zoo::jobs {

struct EmbedOptions {
  JobOptions job;                     // model, inputs, output (the .npy, required), resume, loop, shard
  std::string index;                  // paths, one per row; "" = OUT.paths.txt beside the output
  std::optional<std::string> layer;   // overrides the config's embeddings_layer; "" = the model's output
  std::string pool = "avg";           // avg | max | flatten: for outputs of more than 2 dimensions
  std::string dtype = "float32";      // float32 | float16
  bool normalize = false;             // L2-normalise every row (before the float16 conversion)
};

struct EmbedSummary : inference::RunSummary {
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
// of the whole run (bad config or layer, a model kind without layers,
// unloadable model, unwritable output, a resumed file whose rows do not
// match this run's); bad inputs are lines in the error log and counted in
// the summary.
EmbedSummary run_embed(const EmbedOptions& options, const std::atomic<bool>* interrupt);

}  // namespace zoo::jobs
