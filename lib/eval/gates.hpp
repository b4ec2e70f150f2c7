// Gates for zoo eval (--min METRIC=VALUE, --max METRIC=VALUE): parsing
// against the metrics a kind of evaluation offers, and judging them at the
// precision reports use. Also the number formats reports share.
#pragma once

#include <string>
#include <vector>

namespace zoo::eval {

// The metrics one kind of evaluation offers to gates.
struct MetricTable {
  std::vector<std::string> rates;        // fractions from 0 to 1 ("99%" = 0.99)
  std::vector<std::string> counts;       // whole numbers
  std::vector<std::string> class_rates;  // fractions of one class, as NAME:CLASS
  std::string example;                   // a gate to show in usage errors, e.g. "accuracy=0.99"
};

struct Gate {
  std::string text;      // for reports: "accuracy>=0.99"
  std::string metric;    // "accuracy", "recall:cat"
  bool at_least = true;  // >= (else <=)
  bool rate = true;      // a fraction (else a count)
  double value = 0;
};

// Parses METRIC=VALUE from --min (`at_least`) or --max. Throws
// zoo::Error(usage) naming the text, with the metrics `table` knows.
Gate parse_gate(const std::string& text, bool at_least, const MetricTable& table);

// The class a NAME:CLASS gate names, or "" for a gate of the whole set.
std::string gate_class(const Gate& gate);

// Throws zoo::Error(usage) for a class gate whose class is not one of
// `classes` (those of `source`), with a suggestion.
void check_gate_classes(const std::vector<Gate>& gates, const std::vector<std::string>& classes,
                        const std::string& source);

struct GateResult {
  Gate gate;
  double actual = 0;
  bool passed = false;
};

// The gate's verdict on `actual`; rates compare at six decimals, so a gate
// of 0.99 passes at exactly 2475 of 2500 however the division rounds.
GateResult judge(const Gate& gate, double actual);

// "gate accuracy>=0.99           FAILED  (98.96%)"
std::string gate_line(const GateResult& result);

// A fraction at the reports' precision: six decimals (-1, "no AP", stays -1).
double rounded(double fraction);

// 98.96% (two decimals).
std::string percent(double fraction);

}  // namespace zoo::eval
