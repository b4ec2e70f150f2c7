#include "inference/classifier.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

namespace zoo::inference {

std::vector<float> softmax(const float* logits, size_t count) {
  std::vector<float> out(count);
  if (count == 0) return out;
  const float max = *std::max_element(logits, logits + count);
  float sum = 0.f;
  for (size_t i = 0; i < count; ++i) {
    out[i] = std::exp(logits[i] - max);
    sum += out[i];
  }
  for (auto& p : out) p /= sum;
  return out;
}

nlohmann::ordered_json json_float(float value) {
  if (!std::isfinite(value)) return nullptr;  // JSON has no NaN or Infinity
  return std::stod(fmt::format("{}", value));
}

namespace {

std::string label_of(size_t index, const std::vector<std::string>& classes) {
  return index < classes.size() ? classes[index] : std::to_string(index);
}

nlohmann::ordered_json logits_json(const float* logits, size_t count) {
  auto out = nlohmann::ordered_json::array();
  for (size_t i = 0; i < count; ++i) out.push_back(json_float(logits[i]));
  return out;
}

}  // namespace

nlohmann::ordered_json classify(const float* logits, size_t scores, const ClassifierOptions& options) {
  std::vector<float> probs;
  size_t count = scores;
  if (scores == 1 && options.classes.size() == 2) {
    // A binary classifier's one score: the second class's logit (sigmoid),
    // or its probability.
    const float p = options.probabilities ? logits[0] : float(1.0 / (1.0 + std::exp(-double(logits[0]))));
    probs = {1.f - p, p};
    count = 2;
  } else {
    probs = options.probabilities ? std::vector<float>(logits, logits + count) : softmax(logits, count);
  }
  std::vector<size_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  // Highest probability first; ties keep the lower index (as torch.topk on CPU).
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return probs[a] > probs[b]; });
  const double thresh = options.confidence_thresh.value_or(-1.0);

  if (options.top_k <= 0) {
    if (count == 0 || probs[order[0]] < thresh) return nullptr;
    nlohmann::ordered_json label = {{"_cls", "Classification"},
                                    {"label", label_of(order[0], options.classes)},
                                    {"confidence", json_float(probs[order[0]])}};
    if (options.store_logits) label["logits"] = logits_json(logits, scores);
    return label;
  }
  auto classifications = nlohmann::ordered_json::array();
  for (size_t i = 0; i < count && i < size_t(options.top_k); ++i) {
    if (probs[order[i]] < thresh) break;
    classifications.push_back({{"_cls", "Classification"},
                               {"label", label_of(order[i], options.classes)},
                               {"confidence", json_float(probs[order[i]])}});
  }
  nlohmann::ordered_json label = {{"_cls", "Classifications"}, {"classifications", classifications}};
  if (options.store_logits) label["logits"] = logits_json(logits, scores);
  return label;
}

nlohmann::ordered_json regress(const float* outputs, size_t count, const ClassifierOptions& options) {
  nlohmann::ordered_json label = {{"_cls", "Regression"}};
  if (count == 1) {
    label["value"] = json_float(outputs[0]);
    label["confidence"] = nullptr;
  } else {
    const std::vector<float> probs =
        options.probabilities ? std::vector<float>(outputs, outputs + count) : softmax(outputs, count);
    double value = 0, total = 0;
    for (size_t i = 0; i < count; ++i) {
      value += double(i) * probs[i];
      total += probs[i];
    }
    label["value"] = json_float(float(total > 0 ? value / total : 0.0));
    label["confidence"] = json_float(*std::max_element(probs.begin(), probs.end()));
  }
  if (options.store_logits) label["logits"] = logits_json(outputs, count);
  return label;
}

}  // namespace zoo::inference
