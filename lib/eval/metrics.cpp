#include "eval/metrics.hpp"

namespace zoo::eval {
namespace {

double ratio(int64_t part, int64_t whole) { return whole > 0 ? double(part) / double(whole) : 0.0; }

}  // namespace

void compute_rates(ClassScore& c) {
  c.precision = ratio(c.correct, c.predicted);
  c.recall = ratio(c.correct, c.support);
  c.f1 = c.precision + c.recall > 0 ? 2 * c.precision * c.recall / (c.precision + c.recall) : 0.0;
}

std::vector<ClassScore> scores_from_confusion(const std::vector<std::vector<int64_t>>& confusion,
                                              const std::vector<std::string>& classes) {
  std::vector<ClassScore> scores(classes.size());
  for (size_t c = 0; c < classes.size(); ++c) {
    scores[c].name = classes[c];
    scores[c].correct = confusion[c][c];
    for (size_t j = 0; j < classes.size(); ++j) {
      scores[c].support += confusion[c][j];
      scores[c].predicted += confusion[j][c];
    }
    compute_rates(scores[c]);
  }
  return scores;
}

}  // namespace zoo::eval
