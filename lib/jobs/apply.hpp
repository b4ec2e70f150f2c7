// run_apply: the `zoo apply` job. The batch job skeleton (batch_job.hpp)
// with a model of any kind (inference/model_kinds.hpp) and a label format
// (outputs/format.hpp: jsonl, csv, coco-results, coco-dataset): one label record per image or
// video frame, in input order, flushed after every batch.
#pragma once

#include <atomic>
#include <string>

#include "jobs/batch_job.hpp"
#include "outputs/labels.hpp"

namespace zoo::draw {
class Drawer;
}

namespace zoo::jobs {

struct ApplyOptions {
  JobOptions job;                 // model, inputs, output ("-" = stdout), resume, loop, shard
  outputs::LabelOptions labels;   // top-k, threshold, logits, label field, masks folder
  std::string format = "jsonl";   // an output format that writes labels: jsonl | csv | coco-results | coco-dataset
  // --draw: set, each batch's records are read back from the output once
  // written and handed to the drawer (on --resume, the earlier run's first,
  // its drawings kept); the caller ends or abandons its last file. Needs
  // the jsonl format and an output file.
  draw::Drawer* drawer = nullptr;
};

// Counts and times of a run (see inference/batch_loop.hpp).
using ApplySummary = inference::RunSummary;

// Runs the job. `interrupt`, when set by a signal handler, stops the run
// after the current batch with a valid output. Throws zoo::Error for
// failures of the whole run (bad config, a model kind that cannot give the
// config's labels or the format's, unloadable model, unwritable output);
// bad inputs are records in the output and counted in the summary.
ApplySummary run_apply(const ApplyOptions& options, const std::atomic<bool>* interrupt);

}  // namespace zoo::jobs
