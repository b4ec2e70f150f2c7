// zoo eval LABELS --truth DATA: scores a classifier's labels (zoo apply's
// JSON Lines) against ground truth, optionally against a baseline run, and
// checks CI gates (see eval/classification.hpp).
#include <cstdio>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "commands.hpp"
#include "eval/classification.hpp"
#include "util/files.hpp"
#include "util/log.hpp"

namespace zoo::app {
namespace {

struct EvalOptions {
  std::string labels;
  std::string truth;
  std::string baseline;                 // empty: no comparison
  std::string label_field = "predictions";
  std::vector<std::string> at_least;    // --min METRIC=VALUE
  std::vector<std::string> at_most;     // --max METRIC=VALUE
  std::string output;                   // JSON report; "-" = stdout
  size_t mistakes = 10;                 // mistakes listed in the text report
  bool quiet = false;
};

int run_eval(const EvalOptions& o) {
  util::set_quiet(o.quiet);
  std::vector<eval::Gate> gates;  // parsed first: a typo fails before any file is read
  for (const auto& text : o.at_least) gates.push_back(eval::parse_gate(text, true));
  for (const auto& text : o.at_most) gates.push_back(eval::parse_gate(text, false));

  const eval::Truth truth = eval::load_truth(o.truth);
  const eval::Score score = eval::score(truth, eval::read_labels(o.labels, o.label_field), o.labels);
  std::optional<eval::Comparison> comparison;
  if (!o.baseline.empty()) {
    const eval::Score base = eval::score(truth, eval::read_labels(o.baseline, o.label_field), o.baseline);
    comparison = eval::compare(truth, score, base);
  }
  const std::vector<eval::GateResult> results = eval::check_gates(gates, score, comparison);

  if (!o.output.empty()) {
    const std::string json = eval::report_json(truth, score, comparison, results);
    if (o.output == "-") {
      std::fwrite(json.data(), 1, json.size(), stdout);
    } else {
      util::write_file_atomic(o.output, json);
    }
  }
  if (!o.quiet) {
    const std::string text = eval::report_text(truth, score, comparison, results, o.mistakes);
    std::fwrite(text.data(), 1, text.size(), o.output == "-" ? stderr : stdout);
  }
  size_t failed = 0;
  for (const auto& r : results) failed += r.passed ? 0 : 1;
  if (failed > 0) {
    std::fprintf(stderr, "zoo: %zu of %zu gates failed\n", failed, results.size());
    return 1;
  }
  return 0;
}

}  // namespace

Runner register_eval(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  app.add_option("LABELS", o->labels, "Labels zoo apply wrote (JSON Lines, Classification or top-k Classifications)")
      ->required();
  app.add_option("--truth", o->truth,
                 "Ground truth: a class-per-folder tree, or a CSV/JSONL of filepath,label (as zoo train reads)")
      ->required();
  app.add_option("--baseline", o->baseline,
                 "Labels of an earlier model on the same inputs: report which inputs it fixed and broke");
  app.add_option("--label-field", o->label_field, "The records' label field (zoo apply --label-field)")
      ->capture_default_str();
  app.add_option("--min", o->at_least, "Gate: fail (exit 1) unless METRIC >= VALUE, e.g. accuracy=0.99, recall:cat=95%")
      ->type_name("METRIC=VALUE");
  app.add_option("--max", o->at_most, "Gate: fail (exit 1) unless METRIC <= VALUE, e.g. broken=0, failed=0")
      ->type_name("METRIC=VALUE");
  app.add_option("-o,--output", o->output, "Also write the report as JSON to FILE ('-': stdout, the text to stderr)");
  app.add_option("--mistakes", o->mistakes, "How many mistakes the text report lists")->capture_default_str();
  app.add_flag("-q,--quiet", o->quiet, "No text report: only errors and failed gates");
  app.footer(R"(Every truth sample counts: an input whose record is an error, or that has no
record, is counted wrong (and reported as failed or missing). Records of
files the truth does not list are ignored. Filepaths match when they name
the same file from the current folder, so run zoo eval where zoo apply ran.

Gate metrics: accuracy, top_k_accuracy, macro_precision, macro_recall,
macro_f1, precision:CLASS, recall:CLASS, f1:CLASS (fractions, or percent
with %); correct, wrong, failed, missing, fixed, broken (counts; fixed and
broken need --baseline).

Exit codes: 0 scored, every gate passed; 1 a gate failed, or a file could
not be read; 2 usage error.

Examples:
  zoo apply model.yaml data/test -o labels.jsonl
  zoo eval labels.jsonl --truth data/test
  zoo eval labels.jsonl --truth data/test --min accuracy=0.99 --max failed=0 -o report.json
  zoo eval new.jsonl --truth test.csv --baseline old.jsonl --max broken=0)");
  return [o] { return run_eval(*o); };
}

}  // namespace zoo::app
