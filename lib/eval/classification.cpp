#include "eval/classification.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "eval/label_lines.hpp"
#include "eval/paths.hpp"
#include "io/csv.hpp"
#include "media/dataset.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/strings.hpp"
#include "util/json_text.hpp"

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace zoo::eval {
namespace {

double ratio(int64_t part, int64_t whole) { return whole > 0 ? double(part) / double(whole) : 0.0; }

// A label's confidence; 0 when it has none, or not a number (a NaN is
// written as null).
double confidence_of(const json& label) {
  return label.contains("confidence") && label["confidence"].is_number() ? label["confidence"].get<double>() : 0.0;
}

// Reads one Classification / Classifications label (or null: nothing
// above the confidence threshold) into `out`.
void read_label(const json& value, const std::string& where, const std::string& field, Prediction& out) {
  if (value.is_null()) return;  // no label: the model abstained
  if (!value.is_object()) throw Error(ErrorKind::data, "{}: \"{}\" is not a label object", where, field);
  const std::string kind = value.contains("_cls") && value["_cls"].is_string() ? value["_cls"].get<std::string>() : "";
  auto read_one = [&](const json& label) {
    if (!label.is_object() || !label.contains("label") || !label["label"].is_string()) {
      throw Error(ErrorKind::data, "{}: a Classification in \"{}\" has no string \"label\"", where, field);
    }
    return label;
  };
  if (kind == "Classification") {
    const json& label = read_one(value);
    out.label = label["label"].get<std::string>();
    out.confidence = confidence_of(label);
    out.top_k = {out.label};
  } else if (kind == "Classifications") {
    if (!value.contains("classifications") || !value["classifications"].is_array()) {
      throw Error(ErrorKind::data, "{}: \"{}\" is Classifications without a \"classifications\" list", where, field);
    }
    for (const auto& item : value["classifications"]) {
      const json& label = read_one(item);
      out.top_k.push_back(label["label"].get<std::string>());
      if (out.top_k.size() == 1) out.confidence = confidence_of(label);
    }
    if (!out.top_k.empty()) out.label = out.top_k.front();
  } else {
    throw Error(ErrorKind::data,
                "{}: \"{}\" is a {} label; zoo eval scores classifications (Classification or Classifications)",
                where, field, kind.empty() ? "non-FiftyOne" : kind);
  }
}

}  // namespace

Average parse_average(const std::string& text) {
  if (text == "truth") return Average::truth;
  if (text == "all") return Average::all;
  throw Error(ErrorKind::usage, "--average {}: expected truth (the truth's classes) or all (every class in the truth "
              "or the predictions)", text);
}

const char* average_name(Average average) { return average == Average::truth ? "truth" : "all"; }

Truth load_truth(const std::string& path) {
  const media::Dataset dataset = media::load_dataset(path);
  Truth truth;
  truth.source = path;
  truth.classes = dataset.classes;
  std::unordered_map<std::string, size_t> seen;
  for (const auto& sample : dataset.samples) {
    if (!seen.emplace(path_key(sample.path), truth.paths.size()).second) {
      throw Error(ErrorKind::data, "{}: {} is listed twice", path, sample.path);
    }
    truth.paths.push_back(sample.path);
    truth.labels.push_back(sample.label);
  }
  return truth;
}

namespace {

// Adds records in file order, refusing a second record for one input.
class RecordList {
 public:
  explicit RecordList(std::string name) : m_lines(name) { m_records.name = std::move(name); }

  void add(const std::string& path, int64_t frame, size_t line, Prediction prediction) {
    m_lines.add(path, frame, line);
    m_records.paths.push_back(path);
    m_records.frames.push_back(frame);
    m_records.lines.push_back(line);
    m_records.predictions.push_back(std::move(prediction));
  }

  LabelRecords take() {
    if (m_records.paths.empty()) throw Error(ErrorKind::data, "{}: no label records", m_records.name);
    return std::move(m_records);
  }

 private:
  LabelRecords m_records;
  RecordLines m_lines;
};

// zoo apply --format csv (io/csv.hpp): label or label_1..label_K columns.
LabelRecords read_csv_labels(const std::string& file, const std::string& shown) {
  std::vector<size_t> lines;
  const auto rows = io::parse_csv(util::read_file(file), shown, nullptr, &lines);
  RecordList records(shown);
  if (rows.empty()) return records.take();
  const std::vector<std::string>& header = rows[0];
  auto column = [&header](const std::string& name) -> std::optional<size_t> {
    auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? std::nullopt : std::optional<size_t>(size_t(it - header.begin()));
  };
  std::vector<size_t> label_columns;  // best first
  std::optional<size_t> confidence_column;
  if (const auto label = column("label")) {
    label_columns.push_back(*label);
    confidence_column = column("confidence");
  } else {
    for (int k = 1; column(fmt::format("label_{}", k)); ++k) label_columns.push_back(*column(fmt::format("label_{}", k)));
    confidence_column = column("confidence_1");
  }
  const auto path_column = column("filepath");
  if (!path_column || label_columns.empty()) {
    throw Error(ErrorKind::data, "{}:1: the header `{}` has no filepath and label (or label_1) columns (zoo eval "
                "reads what zoo apply --format csv writes)", shown, util::join(header, ","));
  }
  const auto frame_column = column("frame_number"), error_column = column("error");
  for (size_t r = 1; r < rows.size(); ++r) {
    const auto& row = rows[r];
    const std::string where = fmt::format("{}:{}", shown, lines[r]);
    if (row.size() != header.size()) {
      throw Error(ErrorKind::data, "{}: {} fields, the header has {}", where, row.size(), header.size());
    }
    int64_t frame = 0;
    if (frame_column && !row[*frame_column].empty()) {
      try {
        size_t used = 0;
        frame = std::stoll(row[*frame_column], &used);
        if (used != row[*frame_column].size()) frame = 0;
      } catch (const std::exception&) {
        frame = 0;
      }
      if (frame < 1) throw Error(ErrorKind::data, "{}: frame_number \"{}\" is not a frame number", where, row[*frame_column]);
    }
    Prediction prediction;
    if (error_column && !row[*error_column].empty()) {
      prediction.error = row[*error_column];
    } else {
      for (size_t k = 0; k < label_columns.size(); ++k) {
        if (row[label_columns[k]].empty()) break;  // fewer labels above the threshold
        prediction.top_k.push_back(row[label_columns[k]]);
      }
      if (!prediction.top_k.empty()) {
        prediction.label = prediction.top_k.front();
        if (confidence_column) {
          try {
            prediction.confidence = std::stod(row[*confidence_column]);
          } catch (const std::exception&) {
            prediction.confidence = 0;
          }
        }
      }
    }
    records.add(row[*path_column], frame, lines[r], std::move(prediction));
  }
  return records.take();
}

}  // namespace

LabelRecords read_labels(const std::string& file, const std::string& field, const std::string& name) {
  const std::string& shown = name.empty() ? file : name;
  if (util::ends_with(util::to_lower(file), ".csv")) {
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) throw Error(ErrorKind::io, "{}: cannot read labels file", shown);
    return read_csv_labels(file, shown);
  }
  std::ifstream in(file);
  if (!in || fs::is_directory(file)) throw Error(ErrorKind::io, "{}: cannot read labels file", shown);
  RecordList records(shown);
  for_each_label_line<json>(in, shown, [&](const LabelLine<json>& r) {
    Prediction prediction;
    if (r.error) {
      prediction.error = *r.error;
    } else if (r.frame > 0) {
      // A video frame: kept only to be refused if the truth lists the video.
    } else if (!r.record.contains(field)) {
      throw Error(ErrorKind::data, "{}: the record has neither \"{}\" nor \"error\"{}", r.where, field,
                  field == "predictions" ? " (was the labels file written with --label-field?)" : "");
    } else {
      read_label(r.record[field], r.where, field, prediction);
    }
    records.add(r.filepath, r.frame, r.number, std::move(prediction));
  });
  return records.take();
}

namespace {

// Each truth sample's prediction (nullptr: no record), counting in `s` the
// records that match no sample.
std::vector<const Prediction*> predictions_by_sample(const Truth& truth, const LabelRecords& labels,
                                                     const std::string& labels_file, Score& s) {
  PathIndex truth_index(truth.paths, truth.source);
  std::vector<const Prediction*> by_sample(truth.paths.size(), nullptr);
  for (size_t r = 0; r < labels.paths.size(); ++r) {
    const std::optional<size_t> sample = truth_index.find(labels.paths[r]);
    if (sample && labels.frames[r] > 0) {
      throw Error(ErrorKind::data, "{}:{}: a frame of the video {}, which the truth lists; zoo eval scores one label "
                  "per image file", labels.name, labels.lines[r], labels.paths[r]);
    }
    if (!sample) {
      ++s.unmatched;
    } else {
      by_sample[*sample] = &labels.predictions[r];
    }
  }
  if (s.unmatched == s.records && s.samples > 0) {
    throw Error(ErrorKind::data,
                "{}: none of its {} match a sample of {} (e.g. \"{}\" against \"{}\"; paths are compared as "
                "files from the current folder, so run zoo eval where zoo apply ran)",
                labels_file, util::count_of(s.records, "record"), truth.source, labels.paths.front(),
                truth.paths.front());
  }
  return by_sample;
}

// The classes scored: the truth's, then any other label the model gave,
// sorted; `index` maps each name to its position.
std::vector<std::string> scored_classes(const Truth& truth, const std::vector<const Prediction*>& by_sample,
                                        std::map<std::string, size_t>& index) {
  std::vector<std::string> names = truth.classes;
  for (size_t c = 0; c < names.size(); ++c) index[names[c]] = c;
  std::set<std::string> extra;
  for (const Prediction* p : by_sample) {
    if (p && !p->label.empty() && !index.count(p->label)) extra.insert(p->label);
  }
  for (const auto& name : extra) {
    index[name] = names.size();
    names.push_back(name);
  }
  return names;
}

// Counts truth sample `i` and its prediction `p` in `s`.
void count_sample(const Truth& truth, size_t i, const Prediction* p, const std::map<std::string, size_t>& index,
                  Score& s) {
  const int t = truth.labels[i];
  const std::string& truth_name = truth.classes[t];
  ++s.classes[t].support;
  const bool labelled = p && p->error.empty() && !p->label.empty();
  if (!labelled) ++s.confusion[t].back();  // the "(none)" column
  if (!p) {
    ++s.missing;
    s.mistakes.push_back({truth.paths[i], truth_name, "", 0, "no label record"});
    return;
  }
  if (!p->error.empty()) {
    ++s.failed;
    s.mistakes.push_back({truth.paths[i], truth_name, "", 0, p->error, true});
    return;
  }
  s.top_k = std::max(s.top_k, int(p->top_k.size()));
  if (std::find(p->top_k.begin(), p->top_k.end(), truth_name) != p->top_k.end()) ++s.top_k_correct;
  if (p->label.empty()) {
    ++s.abstained;
    s.mistakes.push_back({truth.paths[i], truth_name, "", 0, "no label (below the confidence threshold)"});
    return;
  }
  const size_t predicted = index.at(p->label);
  ++s.confusion[t][predicted];
  ++s.classes[predicted].predicted;
  if (int(predicted) == t) {
    ++s.classes[t].correct;
    ++s.correct;
    s.right[i] = true;
  } else {
    s.mistakes.push_back({truth.paths[i], truth_name, p->label, p->confidence, ""});
  }
}

}  // namespace

Score score(const Truth& truth, const LabelRecords& labels, const std::string& labels_file, Average average) {
  Score s;
  s.average = average;
  s.labels_file = labels_file;
  s.records = int64_t(labels.paths.size());
  s.samples = int64_t(truth.paths.size());
  const std::vector<const Prediction*> by_sample = predictions_by_sample(truth, labels, labels_file, s);

  std::map<std::string, size_t> index;
  const std::vector<std::string> names = scored_classes(truth, by_sample, index);
  s.classes.resize(names.size());
  for (size_t c = 0; c < names.size(); ++c) s.classes[c].name = names[c];
  s.confusion.assign(truth.classes.size(), std::vector<int64_t>(names.size() + 1, 0));
  s.right.assign(truth.paths.size(), false);
  for (size_t i = 0; i < truth.paths.size(); ++i) count_sample(truth, i, by_sample[i], index, s);

  for (auto& c : s.classes) compute_rates(c);
  const size_t k = average == Average::truth ? truth.classes.size() : s.classes.size();
  s.averaged_classes = k;
  for (size_t c = 0; c < k; ++c) {
    s.macro_precision += s.classes[c].precision / double(k);
    s.macro_recall += s.classes[c].recall / double(k);
    s.macro_f1 += s.classes[c].f1 / double(k);
  }
  s.accuracy = ratio(s.correct, s.samples);
  s.top_k_accuracy = ratio(s.top_k_correct, s.samples);
  return s;
}

Comparison compare(const Truth& truth, const Score& candidate, const Score& baseline) {
  Comparison c;
  c.baseline_file = baseline.labels_file;
  c.baseline_accuracy = baseline.accuracy;
  for (size_t i = 0; i < truth.paths.size(); ++i) {
    if (candidate.right[i] && !baseline.right[i]) c.fixed.push_back(truth.paths[i]);
    if (!candidate.right[i] && baseline.right[i]) c.broken.push_back(truth.paths[i]);
  }
  return c;
}

const MetricTable& classification_metrics() {
  static const MetricTable table = {{"accuracy", "top_k_accuracy", "macro_precision", "macro_recall", "macro_f1"},
                                    {"correct", "wrong", "failed", "missing", "abstained", "fixed", "broken"},
                                    {"precision", "recall", "f1"},
                                    "accuracy=0.99"};
  return table;
}

void validate_gates(const std::vector<Gate>& gates, const Truth& truth, bool has_baseline) {
  check_gate_classes(gates, truth.classes, truth.source);
  for (const auto& gate : gates) {
    if ((gate.metric == "fixed" || gate.metric == "broken") && !has_baseline) {
      throw Error(ErrorKind::usage, "gate {}: {} needs --baseline LABELS", gate.text, gate.metric);
    }
  }
}

std::vector<GateResult> check_gates(const std::vector<Gate>& gates, const Score& s,
                                    const std::optional<Comparison>& comparison) {
  std::vector<GateResult> results;
  for (const auto& gate : gates) {
    double actual = 0;
    if (const std::string name = gate_class(gate); !name.empty()) {
      const std::string family = gate.metric.substr(0, gate.metric.find(':'));
      auto it = std::find_if(s.classes.begin(), s.classes.end(), [&](const ClassScore& c) { return c.name == name; });
      if (it == s.classes.end()) {
        std::vector<std::string> known;
        for (const auto& c : s.classes) known.push_back(c.name);
        throw Error(ErrorKind::usage, "gate {}: no class \"{}\" in the truth or the labels{}", gate.text, name,
                    util::did_you_mean(name, known));
      }
      actual = family == "precision" ? it->precision : family == "recall" ? it->recall : it->f1;
    } else if (gate.metric == "accuracy") {
      actual = s.accuracy;
    } else if (gate.metric == "top_k_accuracy") {
      actual = s.top_k_accuracy;
    } else if (gate.metric == "macro_precision") {
      actual = s.macro_precision;
    } else if (gate.metric == "macro_recall") {
      actual = s.macro_recall;
    } else if (gate.metric == "macro_f1") {
      actual = s.macro_f1;
    } else if (gate.metric == "correct") {
      actual = double(s.correct);
    } else if (gate.metric == "wrong") {
      actual = double(s.samples - s.correct);
    } else if (gate.metric == "failed") {
      actual = double(s.failed);
    } else if (gate.metric == "missing") {
      actual = double(s.missing);
    } else if (gate.metric == "abstained") {
      actual = double(s.abstained);
    } else {  // fixed, broken
      if (!comparison) throw Error(ErrorKind::usage, "gate {}: {} needs --baseline LABELS", gate.text, gate.metric);
      actual = double(gate.metric == "fixed" ? comparison->fixed.size() : comparison->broken.size());
    }
    results.push_back(judge(gate, actual));
  }
  return results;
}

std::string report_json(const Truth& truth, const Score& s, const std::optional<Comparison>& comparison,
                        const std::vector<GateResult>& gates) {
  json report = {{"labels", s.labels_file},
                 {"truth", truth.source},
                 {"samples", s.samples},
                 {"records", s.records},
                 {"correct", s.correct},
                 {"wrong", s.samples - s.correct},
                 {"failed", s.failed},
                 {"missing", s.missing},
                 {"abstained", s.abstained},
                 {"unmatched", s.unmatched},
                 {"accuracy", rounded(s.accuracy)}};
  if (s.top_k > 1) {
    report["top_k"] = s.top_k;
    report["top_k_accuracy"] = rounded(s.top_k_accuracy);
  }
  report["average"] = average_name(s.average);
  report["averaged_classes"] = s.averaged_classes;
  report["macro_precision"] = rounded(s.macro_precision);
  report["macro_recall"] = rounded(s.macro_recall);
  report["macro_f1"] = rounded(s.macro_f1);
  json classes = json::array(), per_class = json::array();
  for (const auto& c : s.classes) {
    classes.push_back(c.name);
    per_class.push_back({{"label", c.name},
                         {"support", c.support},
                         {"predicted", c.predicted},
                         {"correct", c.correct},
                         {"precision", rounded(c.precision)},
                         {"recall", rounded(c.recall)},
                         {"f1", rounded(c.f1)}});
  }
  report["classes"] = classes;
  report["per_class"] = per_class;
  json columns = classes;
  columns.push_back(k_no_label_column);
  report["confusion_columns"] = columns;
  report["confusion_matrix"] = s.confusion;
  json mistakes = json::array();
  for (const auto& m : s.mistakes) {
    json item = {{"filepath", m.filepath}, {"truth", m.truth}};
    if (!m.predicted.empty()) {
      item["predicted"] = m.predicted;
      item["confidence"] = rounded(m.confidence);
    }
    if (!m.error.empty()) item["error"] = m.error;
    mistakes.push_back(item);
  }
  report["mistakes"] = mistakes;
  if (comparison) {
    report["baseline"] = {{"labels", comparison->baseline_file},
                          {"accuracy", rounded(comparison->baseline_accuracy)},
                          {"fixed", comparison->fixed},
                          {"broken", comparison->broken}};
  }
  if (!gates.empty()) {
    json items = json::array();
    bool passed = true;
    for (const auto& g : gates) {
      items.push_back({{"gate", g.gate.text}, {"actual", rounded(g.actual)}, {"passed", g.passed}});
      passed = passed && g.passed;
    }
    report["gates"] = items;
    report["passed"] = passed;
  }
  return util::dump_json(report, 2) + "\n";
}

std::string report_text(const Truth& truth, const Score& s, const std::optional<Comparison>& comparison,
                        const std::vector<GateResult>& gates, size_t mistakes) {
  std::string out;
  auto line = [&out](const std::string& text) { out += text + "\n"; };
  line(fmt::format("labels: {} ({})", s.labels_file, util::count_of(s.records, "record")));
  line(fmt::format("truth:  {} ({}, {} {})", truth.source, util::count_of(s.samples, "sample"),
                   truth.classes.size(), truth.classes.size() == 1 ? "class" : "classes"));
  std::string notes = fmt::format("{} failed, {} missing", s.failed, s.missing);
  if (s.abstained) notes += fmt::format(", {} without a label", s.abstained);
  if (s.unmatched) notes += fmt::format(", {} not in the truth, ignored", util::count_of(s.unmatched, "record"));
  line(fmt::format("accuracy        {:>8}  ({} of {}; {})", percent(s.accuracy), s.correct, s.samples, notes));
  if (s.top_k > 1) {
    line(fmt::format("top-{} accuracy  {:>8}  ({} of {})", s.top_k, percent(s.top_k_accuracy), s.top_k_correct,
                     s.samples));
  }
  line(fmt::format("macro F1        {:>8}  (precision {}, recall {}; over {} {})", percent(s.macro_f1),
                   percent(s.macro_precision), percent(s.macro_recall), s.averaged_classes,
                   s.average == Average::truth ? "truth classes" : "classes in the truth or the labels"));

  size_t width = 5;
  for (const auto& c : s.classes) width = std::max(width, c.name.size());
  width = std::min<size_t>(width, 40);
  line("");
  line(fmt::format("{:<{}}  {:>7}  {:>9}  {:>8}  {:>8}", "class", width, "support", "precision", "recall", "F1"));
  for (const auto& c : s.classes) {
    line(fmt::format("{:<{}}  {:>7}  {:>9}  {:>8}  {:>8}", c.name, width, c.support, percent(c.precision),
                     c.support ? percent(c.recall) : "-", c.support ? percent(c.f1) : "-"));
  }

  // The most frequent confusions, largest first (ties in class order).
  struct Pair {
    size_t truth, predicted;
    int64_t count;
  };
  std::vector<Pair> pairs;
  for (size_t t = 0; t < s.confusion.size(); ++t) {
    for (size_t p = 0; p + 1 < s.confusion[t].size(); ++p) {  // not the "(none)" column
      if (p != t && s.confusion[t][p] > 0) pairs.push_back({t, p, s.confusion[t][p]});
    }
  }
  std::stable_sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) { return a.count > b.count; });
  if (!pairs.empty()) {
    std::vector<std::string> items;
    for (size_t i = 0; i < pairs.size() && i < 8; ++i) {
      items.push_back(fmt::format("{} as {} ({})", s.classes[pairs[i].truth].name,
                                  s.classes[pairs[i].predicted].name, pairs[i].count));
    }
    line("");
    line("most confused: " + util::join(items, ", "));
  }
  if (mistakes > 0 && !s.mistakes.empty()) {
    line("");
    line(fmt::format("mistakes ({} of {}):", std::min(mistakes, s.mistakes.size()), s.mistakes.size()));
    for (size_t i = 0; i < s.mistakes.size() && i < mistakes; ++i) {
      const Mistake& m = s.mistakes[i];
      line(m.predicted.empty()
               ? fmt::format("  {}  truth {}, {}{}", util::printable(m.filepath), m.truth, m.failed ? "failed: " : "",
                             m.error)
               : fmt::format("  {}  truth {}, predicted {} ({:.3f})", util::printable(m.filepath), m.truth,
                             m.predicted, m.confidence));
    }
  }
  if (comparison) {
    line("");
    line(fmt::format("baseline {}: accuracy {} -> {} ({} fixed, {} broken)", comparison->baseline_file,
                     percent(comparison->baseline_accuracy), percent(s.accuracy), comparison->fixed.size(),
                     comparison->broken.size()));
    for (size_t i = 0; i < comparison->broken.size() && i < mistakes; ++i) {
      line("  broken: " + util::printable(comparison->broken[i]));
    }
  }
  if (!gates.empty()) {
    line("");
    for (const auto& g : gates) line(gate_line(g));
  }
  return out;
}

}  // namespace zoo::eval
