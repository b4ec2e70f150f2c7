// Classifier output processor: logits -> FiftyOne label dicts
// (Classification, or Classifications for top-k), as
// fiftyone.utils.torch.ClassifierOutputProcessor produces them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace zoo::inference {

struct ClassifierOptions {
  int top_k = 0;                            // 0: one Classification; k > 0: Classifications of the top k
  std::optional<double> confidence_thresh;  // drop predictions below this probability
  bool store_logits = false;                // add the raw logits
  bool probabilities = false;               // the outputs are probabilities already: no softmax
  std::vector<std::string> classes;         // label names by index; empty: the index as a string
};

// Softmax of `logits` (numerically stable, float as PyTorch computes it).
std::vector<float> softmax(const float* logits, size_t count);

// The label dict for one image's `count` logits (or probabilities), or null when the best
// prediction is below the confidence threshold (FiftyOne stores None). One
// score with two classes is a binary classifier: the score is the second
// class's logit (its probability with `probabilities`), the first's is the
// rest.
nlohmann::ordered_json classify(const float* logits, size_t count, const ClassifierOptions& options);

// FiftyOne's Regression for one image's `count` outputs: one output is the
// value (confidence null); more are scores of the values 0, 1, ... (a
// softmax of them, or probabilities with `options.probabilities`), the
// value their expectation and the confidence the largest probability.
nlohmann::ordered_json regress(const float* outputs, size_t count, const ClassifierOptions& options);

// A float as the shortest decimal that reads back as the same float, held
// in a JSON number ("0.81", not "0.8100000023841858").
nlohmann::ordered_json json_float(float value);

}  // namespace zoo::inference
