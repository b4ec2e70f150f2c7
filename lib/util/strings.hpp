// Small string helpers shared by every module: edit distance and "did you
// mean" suggestions for misspelt keys and names, case folding, joining,
// counted nouns.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace zoo::util {

// Edit distance between a and b (Levenshtein plus transposition of
// neighbouring characters).
size_t edit_distance(std::string_view a, std::string_view b);

// The candidates closest to `word` (distance <= max(2, size/3)), best first,
// at most `limit`. Empty when nothing is close.
std::vector<std::string> closest(std::string_view word, const std::vector<std::string>& candidates,
                                 size_t limit = 3);

// `; did you mean "x"?` (or `"x" or "y"`) for the closest candidates, or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

std::string to_lower(std::string_view s);
std::string join(const std::vector<std::string>& parts, std::string_view separator);
bool ends_with(std::string_view s, std::string_view suffix);

// `s` without leading and trailing whitespace.
std::string trim(std::string_view s);

// "1 epoch", "2 epochs": the count and the noun, plural (an added s) unless
// the count is 1.
std::string count_of(long long count, std::string_view noun);

// `text` as a whole non-negative decimal number ("12"), or -1 when it is
// anything else ("", "-1", "1.5", "12a", too large).
long long parse_count(std::string_view text);

}  // namespace zoo::util
