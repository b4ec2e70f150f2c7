// The skeleton every batch job (zoo apply, zoo embed) runs:
//   inputs -> shard -> resume -> batches -> writer -> summary.
// The inputs are gathered and sliced for the shard; the job's writer opens
// its output (resuming what an earlier run wrote there, whose inputs are
// skipped); the model is loaded; the batch loop runs it over the inputs,
// handing each batch to the writer; the shard's done marker is written. A
// job supplies its output format, its writer and its model (Job); the rest
// is here, once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/model_config.hpp"
#include "inference/batch_loop.hpp"
#include "inference/model_kinds.hpp"
#include "jobs/patches.hpp"
#include "outputs/format.hpp"
#include "outputs/parts.hpp"
#include "outputs/run_record.hpp"

namespace zoo::jobs {

// The options every batch job takes.
struct JobOptions {
  std::string model;                  // config file or folder holding model.yaml
  std::vector<std::string> inputs;    // files and folders
  std::string files_from;             // list file, "-" = stdin, "" = none
  std::string output = "-";           // "-" = stdout (formats that allow it)
  bool resume = false;                // keep what an earlier run wrote to `output`, do the rest
  inference::LoadRequest load;        // threads, optimisation, precision (the job adds its layer and rows)
  inference::BatchLoopOptions loop;   // batch size, decode workers, failures, pixel limit, progress, frames
  outputs::Shard shard;               // set: do shard K of N of the inputs into output's part file
  PatchOptions patches;               // set: run on the patches of another model's detections
};

// What a job plugs into the skeleton.
class Job {
 public:
  virtual ~Job() = default;
  virtual const outputs::OutputFormat& format() const = 0;
  // The writer of `output` (the shard's part file when sharded), owned by
  // the job.
  virtual outputs::Writer& make_writer(const std::string& output) = 0;
  // Loads the model (after the output is open, so a bad output fails
  // before a slow load).
  virtual inference::Predictor& load_model() = 0;
  virtual const config::Preprocess& preprocess() const = 0;
  // The model, and the job's options that shape its records (zoo apply's
  // --top-k, zoo embed's --layer, ...): with the precision and the frame
  // selection, what an output records as its producer (outputs/run_record.hpp)
  // so that --resume and zoo merge refuse to mix records of two producers.
  virtual const config::ModelConfig& model_config() const = 0;
  virtual nlohmann::ordered_json settings() const = 0;
};

// The inputs in order: `inputs` (files, folders walked recursively and
// sorted) then the paths listed in `files_from` ("-" = stdin, "" = none).
// Throws zoo::Error(usage) when there are none.
std::vector<std::string> gather_inputs(const std::vector<std::string>& inputs, const std::string& files_from);

// Runs `job`. `interrupt`, when set by a signal handler, stops the run
// after the current batch with a valid output. Throws zoo::Error for
// failures of the whole run (usage: --resume or --shard without an output
// file, --resume of a format written whole; unloadable model, unwritable
// output); bad inputs are records in the output and counted in the summary.
inference::RunSummary run_batch_job(const JobOptions& options, Job& job, const std::atomic<bool>* interrupt);

}  // namespace zoo::jobs
