#include "util/strings.hpp"

#include <algorithm>
#include <cctype>
#include <numeric>

namespace zoo::util {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::vector<std::string> closest(std::string_view word, const std::vector<std::string>& candidates,
                                 size_t limit) {
  size_t threshold = std::max<size_t>(2, word.size() / 3);
  std::vector<std::pair<size_t, std::string>> scored;
  for (const auto& candidate : candidates) {
    size_t d = edit_distance(to_lower(word), to_lower(candidate));
    // A candidate that contains the word (or the reverse) is a good guess too.
    bool contains = !word.empty() && (candidate.find(word) != std::string::npos ||
                                      word.find(candidate) != std::string_view::npos);
    if (d <= threshold || contains) scored.emplace_back(contains ? std::min(d, threshold) : d, candidate);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && i < limit; ++i) out.push_back(scored[i].second);
  return out;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  auto best = closest(word, candidates);
  if (best.empty()) return "";
  std::string out = "; did you mean ";
  for (size_t i = 0; i < best.size(); ++i) {
    if (i > 0) out += i + 1 == best.size() ? " or " : ", ";
    out += "\"" + best[i] + "\"";
  }
  return out + "?";
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += separator;
    out += parts[i];
  }
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace zoo::util
