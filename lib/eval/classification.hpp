// zoo eval: scores the labels a classifier wrote (zoo apply's JSON Lines)
// against ground truth, the way Kolena evaluates a model on a test set:
// accuracy, top-k accuracy, per-class precision, recall and F1, the
// confusion matrix, every mistake, and a comparison with a baseline run.
// Gates (`accuracy>=0.99`, `broken<=0`) turn the report into a CI check.
// No Torch here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "eval/gates.hpp"
#include "eval/metrics.hpp"

namespace zoo::eval {

// Which classes the macro averages run over: the truth's classes (the
// default; a label the truth never uses has no recall to average), or
// every class seen in the truth or the predictions, as FiftyOne's
// ClassificationResults and scikit-learn's classification_report do.
enum class Average { truth, all };

// "truth" or "all"; throws zoo::Error(usage) for anything else.
Average parse_average(const std::string& text);
const char* average_name(Average average);

// The confusion matrix's last column: truth samples without a predicted
// class (failed, missing or abstained), FiftyOne's "(none)".
inline constexpr const char* k_no_label_column = "(none)";

// One predicted input, as read from a labels file.
struct Prediction {
  std::string label;               // top-1 label; empty for an error record
  double confidence = 0;           // of the top-1 label (0 when absent)
  std::vector<std::string> top_k;  // all labels of a top-k record, best first (just `label` otherwise)
  std::string error;               // the record's "error", if it failed
};

struct Mistake {
  std::string filepath;
  std::string truth;
  std::string predicted;  // empty when the input failed or has no record
  double confidence = 0;
  std::string error;      // the failure, or why there is no prediction ("no label record")
  bool failed = false;    // the input's record is an error
};

// The score of one labels file over the truth set.
struct Score {
  std::string labels_file;
  int64_t records = 0;       // label records read (error records included)
  int64_t samples = 0;       // truth samples: every rate below is over these
  int64_t correct = 0;
  int64_t failed = 0;        // truth samples whose record is an error (counted wrong)
  int64_t missing = 0;       // truth samples with no record (counted wrong)
  int64_t abstained = 0;     // truth samples whose label is null: nothing above the threshold (counted wrong)
  int64_t unmatched = 0;     // records whose filepath is not in the truth (ignored)
  int top_k = 1;             // the most labels any record gave
  int64_t top_k_correct = 0; // truth among the record's labels
  double accuracy = 0;
  double top_k_accuracy = 0;
  Average average = Average::truth;  // the classes the macro averages run over
  size_t averaged_classes = 0;       // how many
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
  std::vector<ClassScore> classes;           // the truth classes, then predicted labels that are not one
  // [truth class][predicted class], then a last "(none)" column counting the
  // class's failed, missing and abstained samples: each row sums to the
  // class's support, so recall reads off the matrix.
  std::vector<std::vector<int64_t>> confusion;
  std::vector<Mistake> mistakes;             // in truth order
  std::vector<bool> right;                   // per truth sample, in truth order
};

// Ground truth: (filepath, label) in a stable order.
struct Truth {
  std::string source;
  std::vector<std::string> classes;  // sorted
  std::vector<std::string> paths;    // as read (relative paths resolved against a list file's folder)
  std::vector<int> labels;           // index into classes
};

// Reads ground truth from a class-per-folder tree, a CSV of
// `filepath,label` or a JSONL of {"filepath","label"} (media::load_dataset).
// Throws zoo::Error(data) naming the file and line.
Truth load_truth(const std::string& path);

// Reads labels zoo apply wrote. A .csv file is its --format csv (a label
// or label_1..label_K column, error column); anything else JSON Lines:
// one record per input with
// "filepath" and either `field` (a Classification or Classifications
// label, or null) or "error". Video frame records are kept (score refuses
// them when the truth lists the video). Throws zoo::Error(data) naming
// FILE:LINE for a line that is not such a record, a duplicate filepath or
// a label of another kind (detections, ...).
struct LabelRecords {
  std::string name;                    // the file, as errors name it
  std::vector<std::string> paths;
  std::vector<int64_t> frames;         // frame_number, 0 for an image
  std::vector<size_t> lines;           // line of each record
  std::vector<Prediction> predictions;
};
// `name` replaces the file's path in error messages ("" = the path).
LabelRecords read_labels(const std::string& file, const std::string& field = "predictions",
                         const std::string& name = "");

// Scores `labels` against `truth`. Filepaths match when they name the same
// file relative to the current folder (`a/./b.png` = `a/b.png`, relative =
// absolute, and through symbolic links). Throws zoo::Error(data) when no
// record matches any truth sample, with an example of each side, or when
// a video frame record names a truth sample.
Score score(const Truth& truth, const LabelRecords& labels, const std::string& labels_file,
            Average average = Average::truth);

// A comparison with a baseline run on the same truth (Kolena's regression
// view): inputs the candidate gets right that the baseline got wrong, and
// the other way round.
struct Comparison {
  std::string baseline_file;
  double baseline_accuracy = 0;
  std::vector<std::string> fixed;   // wrong in the baseline, right now
  std::vector<std::string> broken;  // right in the baseline, wrong now
};
Comparison compare(const Truth& truth, const Score& candidate, const Score& baseline);

// The gate metrics of a classification: accuracy, top_k_accuracy,
// macro_precision, macro_recall, macro_f1; precision:CLASS, recall:CLASS,
// f1:CLASS (CLASS a truth class); the counts correct, wrong (failed,
// missing and abstained included), failed, missing, abstained, fixed,
// broken (the last two need a baseline).
const MetricTable& classification_metrics();

// parse_gate against classification_metrics().
inline Gate parse_gate(const std::string& text, bool at_least) {
  return parse_gate(text, at_least, classification_metrics());
}

// Checks, before any labels are read, that the gates can be evaluated:
// their classes are truth classes, fixed/broken have a baseline. Throws
// zoo::Error(usage) naming the gate.
void validate_gates(const std::vector<Gate>& gates, const Truth& truth, bool has_baseline);

// Checks the gates. Throws zoo::Error(usage) for a class that is not in
// the score, or fixed/broken without a comparison.
std::vector<GateResult> check_gates(const std::vector<Gate>& gates, const Score& score,
                                    const std::optional<Comparison>& comparison);

// The report as JSON text (pretty-printed, ends in a newline).
std::string report_json(const Truth& truth, const Score& score, const std::optional<Comparison>& comparison,
                        const std::vector<GateResult>& gates);

// The report for a terminal: summary, per-class table, the most frequent
// confusions, the comparison and the gates. `mistakes` caps the list of
// mistakes printed (0: none).
std::string report_text(const Truth& truth, const Score& score, const std::optional<Comparison>& comparison,
                        const std::vector<GateResult>& gates, size_t mistakes);

}  // namespace zoo::eval
