// zoo eval LABELS|MODEL --truth DATA: scores a classifier's labels (zoo
// apply's JSON Lines, or what MODEL gives for the truth's files) against
// ground truth, optionally against a baseline run, and checks CI gates
// (see eval/classification.hpp, eval/model_run.hpp).
#include <cstdio>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "batch_options.hpp"
#include "commands.hpp"
#include "eval/classification.hpp"
#include "eval/detection.hpp"
#include "eval/model_run.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace zoo::app {
namespace {

struct EvalOptions {
  std::string labels;                   // a .jsonl labels file, or a MODEL to run over the truth first
  std::string truth;
  std::string baseline;                 // empty: no comparison
  std::vector<std::string> at_least;    // --min METRIC=VALUE
  std::vector<std::string> at_most;     // --max METRIC=VALUE
  std::string output;                   // JSON report; "-" = stdout
  size_t mistakes = 10;                 // mistakes listed in the text report
  bool quiet = false;
  eval::ModelRun run;                   // MODEL only: how it runs
  std::string save_labels;              // MODEL only: keep its labels here ("" = a temporary file)
  StoreArgs store;
};

bool is_labels_file(const std::string& arg) {
  const std::string lower = util::to_lower(arg);
  return util::ends_with(lower, ".jsonl") || util::ends_with(lower, ".json") || util::ends_with(lower, ".csv");
}

// Writes the reports (JSON to -o, text to stdout or, with -o -, stderr)
// and returns the exit code: 1 when a gate failed.
int report(const EvalOptions& o, const std::string& json, const std::string& text,
           const std::vector<eval::GateResult>& results) {
  if (!o.output.empty()) {
    if (o.output == "-") {
      std::fwrite(json.data(), 1, json.size(), stdout);
    } else {
      util::write_file_atomic(o.output, json);
    }
  }
  if (!o.quiet) std::fwrite(text.data(), 1, text.size(), o.output == "-" ? stderr : stdout);
  std::vector<std::string> failed;
  for (const auto& r : results) {
    if (!r.passed) failed.push_back(r.gate.text);
  }
  if (!failed.empty()) {
    std::fprintf(stderr, "zoo: %zu of %zu gates failed: %s\n", failed.size(), results.size(),
                 util::join(failed, ", ").c_str());
    return 1;
  }
  return 0;
}

int run_eval(EvalOptions& o) {
  util::set_quiet(o.quiet);
  // Box truth (COCO) scores detectors; anything else is class truth.
  const bool detection = eval::is_coco_truth(o.truth);
  std::vector<eval::Gate> gates;  // checked first: a typo fails before any model runs
  const eval::MetricTable& metrics = detection ? eval::detection_metrics() : eval::classification_metrics();
  for (const auto& text : o.at_least) gates.push_back(eval::parse_gate(text, true, metrics));
  for (const auto& text : o.at_most) gates.push_back(eval::parse_gate(text, false, metrics));
  if (detection && (!o.baseline.empty() || o.run.top_k)) {
    throw Error(ErrorKind::usage, "--baseline and --top-k are for classifiers; {} is box truth (COCO)", o.truth);
  }
  std::optional<eval::Truth> truth;
  std::optional<eval::DetectionTruth> boxes;
  if (detection) {
    boxes = eval::load_detection_truth(o.truth);
    eval::check_gate_classes(gates, boxes->classes, boxes->source);
  } else {
    truth = eval::load_truth(o.truth);
    eval::validate_gates(gates, *truth, !o.baseline.empty());
  }
  const std::vector<std::string>& paths = detection ? boxes->paths : truth->paths;

  std::string labels = o.labels, labels_name, field = o.run.label_field;
  std::optional<util::TempFolder> temp;
  if (!is_labels_file(o.labels)) {
    o.run.model = resolve_model_arg(o.labels, o.store);
    o.run.progress = o.quiet ? util::ProgressMode::none : util::ProgressMode::automatic;
    field = eval::check_model_run(o.run, paths, o.truth, detection);
    if (o.save_labels.empty()) {
      temp.emplace("zoo-eval");
      labels = temp->path() + "/labels.jsonl";
      labels_name = "the labels of " + o.labels;
    } else {
      labels = o.save_labels;
    }
    InterruptGuard guard;
    const auto summary = eval::label_files(o.run, paths, labels, guard.flag());
    util::info(inference::format_summary(summary));
    if (summary.interrupted) {
      util::warn("interrupted: nothing was scored");
      return 130;
    }
  } else if (o.run.top_k || !o.save_labels.empty()) {
    throw Error(ErrorKind::usage, "--top-k and --save-labels are for a MODEL; {} is a labels file", o.labels);
  }

  // The reports name what was scored: the labels file, or the model.
  if (detection) {
    eval::DetectionLabels read = eval::read_detection_labels(labels, *boxes, field);
    if (!labels_name.empty()) read.name = labels_name;
    const eval::DetectionScore score = eval::score_detections(*boxes, read, o.labels);
    const auto results = eval::check_detection_gates(gates, score);
    return report(o, eval::detection_report_json(*boxes, score, results),
                  eval::detection_report_text(*boxes, score, results), results);
  }
  const eval::Score score = eval::score(*truth, eval::read_labels(labels, field, labels_name), o.labels);
  std::optional<eval::Comparison> comparison;
  if (!o.baseline.empty()) {
    const eval::Score base = eval::score(*truth, eval::read_labels(o.baseline, field), o.baseline);
    comparison = eval::compare(*truth, score, base);
  }
  const auto results = eval::check_gates(gates, score, comparison);
  return report(o, eval::report_json(*truth, score, comparison, results),
                eval::report_text(*truth, score, comparison, results, o.mistakes), results);
}

}  // namespace

Runner register_eval(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  app.add_option("LABELS|MODEL", o->labels,
                 "Labels zoo apply wrote (a .jsonl, .json or .csv file), or a model (config, folder or store reference) to "
                 "run over the truth's files first")
      ->required();
  app.add_option("--truth", o->truth,
                 "Ground truth: a class-per-folder tree or a CSV/JSONL of filepath,label (classifiers), or COCO "
                 "instances JSON (detectors)")
      ->required();
  app.add_option("--baseline", o->baseline,
                 "Labels (.jsonl or .csv) of an earlier model on the same inputs: report which inputs it fixed and broke");
  app.add_option("--label-field", o->run.label_field, "The records' label field (zoo apply --label-field)")
      ->capture_default_str();
  app.add_option("--min", o->at_least, "Gate: fail (exit 1) unless METRIC >= VALUE, e.g. accuracy=0.99, recall:cat=95%")
      ->type_name("METRIC=VALUE");
  app.add_option("--max", o->at_most, "Gate: fail (exit 1) unless METRIC <= VALUE, e.g. broken=0, failed=0")
      ->type_name("METRIC=VALUE");
  app.add_option("-o,--output", o->output, "Also write the report as JSON to FILE ('-': stdout, the text to stderr)");
  app.add_option("--mistakes", o->mistakes, "How many mistakes (and broken inputs) the text report lists")
      ->capture_default_str();
  app.add_flag("-q,--quiet", o->quiet, "No text report: only errors and the failed gates");
  app.add_option("--save-labels", o->save_labels, "MODEL: keep the labels it gave in FILE (JSON Lines)");
  app.add_option("-b,--batch-size", o->run.batch_size, "MODEL: images per batch")->capture_default_str();
  app.add_option("--threads", o->run.threads, "MODEL: Torch threads (default: all cores)");
  app.add_option("--workers", o->run.workers, "MODEL: decode threads (default: all cores)");
  app.add_option("-k,--top-k", o->run.top_k, "MODEL: label the top K classes, for top_k_accuracy")
      ->check(CLI::NonNegativeNumber);
  add_store_options(app, o->store, "Store a MODEL reference is resolved in");
  app.footer(R"(LABELS is a .jsonl (or .json) or .csv file zoo apply wrote. Anything else
is a MODEL, which zoo eval first runs over every file of the truth, as zoo
apply would.

Class truth (folders, CSV, JSONL) scores a classifier; COCO instances
JSON scores a detector as pycocotools does (mAP over IoU 0.50:0.95, AP50,
AP75; at IoU 0.5 true and false positives and misses). Detector labels are
zoo apply's JSON Lines, its --format coco document, or a pycocotools
results list.

Every truth sample counts: an input whose record is an error, that has no
record, or whose label is null (nothing above --confidence-thresh) is
counted wrong. Records of files the truth does not list are ignored.
Filepaths match when they name the same file from the current folder, so
run zoo eval where zoo apply ran.

Gate metrics, classifiers: accuracy, top_k_accuracy, macro_precision,
macro_recall, macro_f1, precision:CLASS, recall:CLASS, f1:CLASS (fractions,
or percent with %); correct, wrong, failed, missing, abstained, fixed,
broken (counts; fixed and broken need --baseline). Detectors: map, ap50,
ap75, precision, recall, ap:CLASS, ap50:CLASS, precision:CLASS,
recall:CLASS; tp, fp, fn, failed, missing.

Exit codes: 0 scored, every gate passed; 1 a gate failed, or a file could
not be read; 2 usage error; 130 interrupted while MODEL ran.

Examples:
  zoo apply model.yaml data/test -o labels.jsonl
  zoo eval labels.jsonl --truth data/test
  zoo eval model.yaml --truth data/test --top-k 5 --save-labels labels.jsonl
  zoo eval labels.jsonl --truth data/test --min accuracy=0.99 --max failed=0 -o report.json
  zoo eval new.jsonl --truth test.csv --baseline old.jsonl --max broken=0
  zoo eval faces.jsonl --truth faces-truth.json --min ap50=0.8)");
  return [o] { return run_eval(*o); };
}

}  // namespace zoo::app
