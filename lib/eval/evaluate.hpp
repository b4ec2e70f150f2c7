// The zoo eval job: reads the truth (class truth, or COCO boxes for
// detectors), checks the gates against it, runs a MODEL over the truth's
// files when one is given instead of labels, scores, compares with a
// baseline, and renders the reports.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "eval/gates.hpp"
#include "eval/model_run.hpp"

namespace zoo::eval {

// True for a labels file argument (.jsonl, .json, .csv); anything else is
// a model.
bool is_labels_file(const std::string& arg);

struct EvalRequest {
  std::string labels;                 // labels file, or the model as given (config, folder, store reference)
  std::string truth;                  // folder, .csv/.jsonl list, or COCO instances .json
  std::string baseline;               // labels of an earlier model ("" = none; classifiers only)
  std::vector<std::string> at_least;  // --min METRIC=VALUE
  std::vector<std::string> at_most;   // --max METRIC=VALUE
  std::string average;                // classifiers: "truth" (the default when empty) or "all"
  size_t mistakes = 10;               // mistakes the text report lists
  ModelRun run;                       // a model: how it runs (run.model is filled in by resolve_model)
  std::string save_labels;            // a model: keep its labels here ("" = a private temporary folder)
};

struct EvalReport {
  bool interrupted = false;  // the model run was interrupted: nothing was scored
  std::string json;          // the report as JSON (ends in a newline)
  std::string text;          // the report for a terminal
  std::vector<GateResult> gates;
};

// Runs the job. `resolve_model` turns a model argument into a path (store
// references are the app's business); `interrupt` stops a model run.
// Throws zoo::Error: usage for bad gates or options (before any model
// runs), data/io for unreadable or mismatched files.
EvalReport evaluate(EvalRequest request, const std::function<std::string(const std::string&)>& resolve_model,
                    const std::atomic<bool>* interrupt);

}  // namespace zoo::eval
