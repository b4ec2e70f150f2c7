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
// prediction is below the confidence threshold (FiftyOne stores None).
nlohmann::ordered_json classify(const float* logits, size_t count, const ClassifierOptions& options);

// A float as the shortest decimal that reads back as the same float, held
// in a JSON number ("0.81", not "0.8100000023841858").
nlohmann::ordered_json json_float(float value);

}  // namespace zoo::inference
