#include "eval/gates.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/strings.hpp"

namespace zoo::eval {
namespace {

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// A gate's rate with all the digits the comparison used: 98.996%, not 99.00%.
std::string exact_percent(double fraction) {
  std::string text = fmt::format("{:.4f}", 100.0 * rounded(fraction));
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text + "%";
}

}  // namespace

double rounded(double fraction) { return std::round(fraction * 1e6) / 1e6; }

std::string percent(double fraction) { return fmt::format("{:.2f}%", 100.0 * fraction); }

Gate parse_gate(const std::string& text, bool at_least, const MetricTable& table) {
  const std::string flag = at_least ? "--min" : "--max";
  const size_t eq = text.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    throw Error(ErrorKind::usage, "{} {}: expected METRIC=VALUE, e.g. {} {}", flag, text, flag, table.example);
  }
  Gate gate;
  gate.metric = text.substr(0, eq);
  gate.at_least = at_least;
  std::string value = text.substr(eq + 1);
  const size_t colon = gate.metric.find(':');
  const std::string family = gate.metric.substr(0, colon);
  const bool is_rate =
      colon == std::string::npos ? contains(table.rates, family) : contains(table.class_rates, family);
  const bool is_count = colon == std::string::npos && contains(table.counts, family);
  if (!is_rate && !is_count) {
    std::vector<std::string> known = table.rates;
    known.insert(known.end(), table.counts.begin(), table.counts.end());
    for (const auto& m : table.class_rates) known.push_back(m + ":CLASS");
    throw Error(ErrorKind::usage, "{} {}: unknown metric \"{}\" (known: {}){}", flag, text, gate.metric,
                util::join(known, ", "), util::did_you_mean(gate.metric, known));
  }
  if (colon != std::string::npos && colon + 1 == gate.metric.size()) {
    throw Error(ErrorKind::usage, "{} {}: name the class after \"{}:\"", flag, text, family);
  }
  gate.rate = is_rate;
  const bool is_percent = !value.empty() && value.back() == '%';
  if (is_percent) value.pop_back();
  size_t used = 0;
  const bool decimal = !value.empty() && value.find_first_not_of("0123456789.eE+-") == std::string::npos;
  try {
    if (decimal) gate.value = std::stod(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (!decimal || used == 0 || used != value.size() || !std::isfinite(gate.value)) {
    throw Error(ErrorKind::usage, "{} {}: \"{}\" is not a number", flag, text, text.substr(eq + 1));
  }
  if (is_rate) {
    // At the precision rates are compared at: 98.96% is 0.9896 exactly.
    if (is_percent) gate.value = rounded(gate.value / 100.0);
    if (gate.value < 0 || gate.value > 1) {
      throw Error(ErrorKind::usage, "{} {}: {} is a fraction from 0 to 1 (or a percentage such as 99%)", flag,
                  text, gate.metric);
    }
  } else if (is_percent || gate.value < 0 || gate.value != std::floor(gate.value)) {
    throw Error(ErrorKind::usage, "{} {}: {} is a count (a whole number)", flag, text, gate.metric);
  }
  gate.text = fmt::format("{}{}{}", gate.metric, at_least ? ">=" : "<=", text.substr(eq + 1));
  return gate;
}

std::string gate_class(const Gate& gate) {
  const size_t colon = gate.metric.find(':');
  return colon == std::string::npos ? "" : gate.metric.substr(colon + 1);
}

void check_gate_classes(const std::vector<Gate>& gates, const std::vector<std::string>& classes,
                        const std::string& source) {
  for (const auto& gate : gates) {
    const std::string name = gate_class(gate);
    if (!name.empty() && !contains(classes, name)) {
      throw Error(ErrorKind::usage, "gate {}: no class \"{}\" in {} ({}){}", gate.text, name, source,
                  util::join(classes, ", "), util::did_you_mean(name, classes));
    }
  }
}

GateResult judge(const Gate& gate, double actual) {
  const double a = gate.rate ? rounded(actual) : actual;
  return {gate, actual, gate.at_least ? a >= gate.value : a <= gate.value};
}

std::string gate_line(const GateResult& r) {
  return fmt::format("gate {:<24} {}  ({})", r.gate.text, r.passed ? "passed" : "FAILED",
                     r.gate.rate ? exact_percent(r.actual) : fmt::format("{}", (long long)r.actual));
}

}  // namespace zoo::eval
