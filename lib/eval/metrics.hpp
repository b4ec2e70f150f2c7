// Per-class precision, recall and F1 from counts: what zoo eval reports for
// a classifier and zoo train for its validation set, computed in one place.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace zoo::eval {

struct ClassScore {
  std::string name;
  int64_t support = 0;    // truth samples of this class
  int64_t predicted = 0;  // inputs predicted as this class
  int64_t correct = 0;
  double precision = 0;   // correct / predicted (0 when nothing was predicted)
  double recall = 0;      // correct / support (0 when there is no support)
  double f1 = 0;          // their harmonic mean (0 when both are 0)
};

// Fills precision, recall and f1 from the counts.
void compute_rates(ClassScore& score);

// The scores of a confusion matrix [truth][predicted] over `classes`:
// support the row sums, predicted the column sums, correct the diagonal.
std::vector<ClassScore> scores_from_confusion(const std::vector<std::vector<int64_t>>& confusion,
                                              const std::vector<std::string>& classes);

}  // namespace zoo::eval
