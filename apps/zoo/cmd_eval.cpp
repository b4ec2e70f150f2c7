// zoo eval LABELS|MODEL --truth DATA: scores a classifier's or detector's
// labels (or what MODEL gives for the truth's files) against ground truth
// and checks CI gates; the job is eval::evaluate.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "batch_run.hpp"
#include "options.hpp"
#include "commands.hpp"
#include "report/report.hpp"
#include "eval/evaluate.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace zoo::app {
namespace {

struct EvalOptions {
  eval::EvalRequest request;
  std::string output;  // JSON report; "-" = stdout
  std::string html;    // --html: the report as a page
  bool quiet = false;
  StoreArgs store;     // where a MODEL reference is resolved
};

// Runs the job; writes the reports (JSON to -o, text to stdout or, with
// -o -, stderr). Exit code 1 when a gate failed, 130 when interrupted.
int run_eval(EvalOptions& o) {
  util::set_quiet(o.quiet);
  o.request.run.progress = o.quiet ? util::ProgressMode::none : util::ProgressMode::automatic;
  eval::EvalReport report;
  {
    InterruptGuard guard;
    report = eval::evaluate(
        o.request, [&o](const std::string& model) { return resolve_model_arg(model, o.store); }, guard.flag());
  }
  if (report.interrupted) {
    util::warn("interrupted: nothing was scored");
    return 130;
  }
  if (!o.output.empty()) {
    if (o.output == "-") {
      std::fwrite(report.json.data(), 1, report.json.size(), stdout);
    } else {
      util::write_file_atomic(o.output, report.json);
    }
  }
  if (!o.html.empty()) {
    const size_t made = report::write_eval_report(report.json, o.html, "");
    util::info(fmt::format("{}: the report as a page ({} thumbnails made)", o.html, made));
  }
  if (!o.quiet) std::fwrite(report.text.data(), 1, report.text.size(), o.output == "-" ? stderr : stdout);
  std::vector<std::string> failed;
  for (const auto& r : report.gates) {
    if (!r.passed) failed.push_back(r.gate.text);
  }
  if (!failed.empty()) {
    std::fprintf(stderr, "zoo: %zu of %zu gates failed: %s\n", failed.size(), report.gates.size(),
                 util::join(failed, ", ").c_str());
    return 1;
  }
  return 0;
}

}  // namespace

Runner register_eval(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  auto& r = o->request;
  app.add_option("LABELS|MODEL", r.labels,
                 "Labels zoo apply wrote (a .jsonl, .json or .csv file), or a model (config, folder, store reference or zoo name) to "
                 "run over the truth's files first")
      ->required();
  app.add_option("--truth", r.truth,
                 "Ground truth: a class-per-folder tree or a CSV/JSONL of filepath,label (classifiers), or COCO "
                 "instances JSON (detectors)")
      ->required();
  app.add_option("--baseline", r.baseline,
                 "Labels (.jsonl or .csv) of an earlier model on the same inputs: report which inputs it fixed and broke");
  app.add_option("--label-field", r.run.label_field, "The records' label field (zoo apply --label-field)")
      ->capture_default_str();
  app.add_option("--min", r.at_least, "Gate: fail (exit 1) unless METRIC >= VALUE, e.g. accuracy=0.99, recall:cat=95%")
      ->type_name("METRIC=VALUE");
  app.add_option("--max", r.at_most, "Gate: fail (exit 1) unless METRIC <= VALUE, e.g. broken=0, failed=0")
      ->type_name("METRIC=VALUE");
  app.add_option("--average", r.average,
                 "Classifiers: the classes macro precision/recall/F1 average over: truth (the truth's classes; the "
                 "default) or all (every class in the truth or the labels, as FiftyOne and scikit-learn do)")
      ->check(CLI::IsMember({"truth", "all"}))
      ->type_name("truth|all");
  app.add_option("-o,--output", o->output, "Also write the report as JSON to FILE ('-': stdout, the text to stderr)");
  app.add_option("--html", o->html,
                 "Also write the report as a page: metrics, gates, per-class scores, the confusion matrix (click a "
                 "cell for its inputs), the mistakes and, with --baseline, fixed and broken inputs; thumbnails in "
                 "PAGE_files/");
  app.add_option("--mistakes", r.mistakes, "How many mistakes (and broken inputs) the text report lists")
      ->capture_default_str();
  add_quiet_flag(app, o->quiet, "No text report: only errors and the failed gates");
  app.add_option("--save-labels", r.save_labels, "MODEL: keep the labels it gave in FILE (JSON Lines)");
  add_batch_size_option(app, r.run.batch_size);
  add_threads_option(app, r.run.threads, "MODEL: Torch threads");
  app.add_option("--workers", r.run.workers, "MODEL: decode threads (default: all cores)");
  app.add_option("-k,--top-k", r.run.top_k, "MODEL: label the top K classes, for top_k_accuracy")
      ->check(CLI::NonNegativeNumber);
  add_store_options(app, o->store, "Store a MODEL reference is resolved in");
  app.footer(R"(LABELS is a .jsonl (or .json) or .csv file zoo apply wrote. Anything else
is a MODEL, which zoo eval first runs over every file of the truth, as zoo
apply would.

Class truth (folders, CSV, JSONL) scores a classifier; COCO instances
JSON scores a detector as pycocotools does (mAP over IoU 0.50:0.95, AP50,
AP75; at IoU 0.5 true and false positives and misses). Detector labels are
zoo apply's JSON Lines, its --format coco-dataset document, or a pycocotools
results list.

Every truth sample counts: an input whose record is an error, that has no
record, or whose label is null (nothing above --confidence-thresh) is
counted wrong. Records of files the truth does not list are ignored.
Filepaths match when they name the same file from the current folder, so
run zoo eval where zoo apply ran.

The classifier report's confusion matrix is [truth][predicted] over the
classes, then a last column, (none), counting each class's failed,
missing and abstained samples (FiftyOne's), so each row sums to the
class's support. Macro averages run over the truth's classes unless
--average all.

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
