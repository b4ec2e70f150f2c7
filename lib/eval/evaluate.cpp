#include "eval/evaluate.hpp"

#include <optional>

#include "eval/classification.hpp"
#include "eval/detection.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace zoo::eval {

bool is_labels_file(const std::string& arg) {
  const std::string lower = util::to_lower(arg);
  return util::ends_with(lower, ".jsonl") || util::ends_with(lower, ".json") || util::ends_with(lower, ".csv");
}

EvalReport evaluate(EvalRequest o, const std::function<std::string(const std::string&)>& resolve_model,
                    const std::atomic<bool>* interrupt) {
  // Box truth (COCO) scores detectors; anything else is class truth.
  const bool detection = is_coco_truth(o.truth);
  std::vector<Gate> gates;  // checked first: a typo fails before any model runs
  const MetricTable& metrics = detection ? detection_metrics() : classification_metrics();
  for (const auto& text : o.at_least) gates.push_back(parse_gate(text, true, metrics));
  for (const auto& text : o.at_most) gates.push_back(parse_gate(text, false, metrics));
  if (detection && (!o.baseline.empty() || o.run.top_k || !o.average.empty())) {
    throw Error(ErrorKind::usage, "--baseline, --top-k and --average are for classifiers; {} is box truth (COCO)",
                o.truth);
  }
  const Average average = o.average.empty() ? Average::truth : parse_average(o.average);
  std::optional<Truth> truth;
  std::optional<DetectionTruth> boxes;
  if (detection) {
    boxes = load_detection_truth(o.truth);
    check_gate_classes(gates, boxes->classes, boxes->source);
  } else {
    truth = load_truth(o.truth);
    validate_gates(gates, *truth, !o.baseline.empty());
  }
  const std::vector<std::string>& paths = detection ? boxes->paths : truth->paths;

  EvalReport report;
  std::string labels = o.labels, labels_name, field = o.run.label_field;
  std::optional<util::TempFolder> temp;
  if (!is_labels_file(o.labels)) {
    o.run.model = resolve_model(o.labels);
    field = check_model_run(o.run, paths, o.truth, detection);
    if (o.save_labels.empty()) {
      temp.emplace("zoo-eval");
      labels = temp->path() + "/labels.jsonl";
      labels_name = "the labels of " + o.labels;
    } else {
      labels = o.save_labels;
    }
    const auto summary = label_files(o.run, paths, labels, interrupt);
    util::info(inference::format_summary(summary));
    if (summary.interrupted) {
      report.interrupted = true;
      return report;
    }
  } else if (o.run.top_k || !o.save_labels.empty()) {
    throw Error(ErrorKind::usage, "--top-k and --save-labels are for a MODEL; {} is a labels file", o.labels);
  }

  // The reports name what was scored: the labels file, or the model.
  if (detection) {
    DetectionLabels read = read_detection_labels(labels, *boxes, field);
    if (!labels_name.empty()) read.name = labels_name;
    const DetectionScore score = score_detections(*boxes, read, o.labels);
    report.gates = check_detection_gates(gates, score);
    report.json = detection_report_json(*boxes, score, report.gates);
    report.text = detection_report_text(*boxes, score, report.gates);
    return report;
  }
  const Score score = eval::score(*truth, read_labels(labels, field, labels_name), o.labels, average);
  std::optional<Comparison> comparison;
  if (!o.baseline.empty()) {
    comparison = compare(*truth, score, eval::score(*truth, read_labels(o.baseline, field), o.baseline, average));
  }
  report.gates = check_gates(gates, score, comparison);
  report.json = report_json(*truth, score, comparison, report.gates);
  report.text = report_text(*truth, score, comparison, report.gates, o.mistakes);
  return report;
}

}  // namespace zoo::eval
