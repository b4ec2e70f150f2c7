#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "config/model_config.hpp"
#include "inference/classifier.hpp"

using namespace zoo::inference;

namespace {

// Logits whose softmax is about {0.140, 0.629, 0.231}.
const std::vector<float> k_logits = {0.5f, 2.0f, 1.0f};
const std::vector<std::string> k_classes = {"cat", "dog", "bird"};

std::vector<std::string> keys(const nlohmann::ordered_json& object) {
  std::vector<std::string> out;
  for (const auto& item : object.items()) out.push_back(item.key());
  return out;
}

}  // namespace

TEST_SUITE("inference::classifier") {
  TEST_CASE("softmax sums to 1 and matches exp(x) / sum exp") {
    const std::vector<float> p = softmax(k_logits.data(), k_logits.size());
    REQUIRE(p.size() == 3);
    const double sum = std::exp(0.5) + std::exp(2.0) + std::exp(1.0);
    CHECK(p[0] == doctest::Approx(std::exp(0.5) / sum).epsilon(1e-6));
    CHECK(p[1] == doctest::Approx(std::exp(2.0) / sum).epsilon(1e-6));
    CHECK(p[2] == doctest::Approx(std::exp(1.0) / sum).epsilon(1e-6));
    CHECK(std::accumulate(p.begin(), p.end(), 0.0) == doctest::Approx(1.0).epsilon(1e-6));

    CHECK(softmax(nullptr, 0).empty());
  }

  TEST_CASE("softmax is stable for large logits") {
    const std::vector<float> logits = {1000.f, 1001.f};
    const std::vector<float> p = softmax(logits.data(), logits.size());
    REQUIRE(p.size() == 2);
    INFO("softmax(1000, 1001) = ", p[0], ", ", p[1]);
    CHECK(std::isfinite(p[0]));
    CHECK(std::isfinite(p[1]));
    CHECK(p[0] == doctest::Approx(1.0 / (1.0 + std::exp(1.0))).epsilon(1e-6));  // 0.2689414
    CHECK(p[1] == doctest::Approx(std::exp(1.0) / (1.0 + std::exp(1.0))).epsilon(1e-6));
    CHECK(p[0] + p[1] == doctest::Approx(1.0).epsilon(1e-6));

    const std::vector<float> negative = {-1000.f, -1001.f};
    const std::vector<float> q = softmax(negative.data(), negative.size());
    CHECK(q[0] == doctest::Approx(p[1]).epsilon(1e-6));
  }

  TEST_CASE("classify gives one Classification with the argmax label") {
    ClassifierOptions options;
    options.classes = k_classes;
    const auto label = classify(k_logits.data(), k_logits.size(), options);
    INFO(label.dump());
    CHECK(keys(label) == std::vector<std::string>{"_cls", "label", "confidence"});
    CHECK(label["_cls"] == "Classification");
    CHECK(label["label"] == "dog");
    const std::vector<float> p = softmax(k_logits.data(), k_logits.size());
    CHECK(label["confidence"] == json_float(p[1]));
    CHECK(label["confidence"].get<double>() == doctest::Approx(0.6285317).epsilon(1e-6));
  }

  TEST_CASE("outputs that are probabilities already are used as they are") {
    ClassifierOptions options;
    options.classes = k_classes;
    options.probabilities = true;
    const std::vector<float> probs = {0.1f, 0.7f, 0.2f};
    const auto label = classify(probs.data(), probs.size(), options);
    CHECK(label["label"] == "dog");
    CHECK(label["confidence"] == json_float(0.7f));
    const auto config = zoo::config::parse_model_config(
        "entrypoint: tfjs\noutput_processor_args: {probabilities: true}\n", "m.yaml", ".");
    CHECK(config.probabilities);
    CHECK(zoo::config::to_yaml(config, ".").find("probabilities: true") != std::string::npos);
  }

  TEST_CASE("one score with two classes is a binary classifier: the second class's logit or probability") {
    ClassifierOptions options;
    options.classes = {"female", "male"};
    const float logit = 1.5f;
    const auto label = classify(&logit, 1, options);
    CHECK(label["label"] == "male");
    CHECK(label["confidence"].get<double>() == doctest::Approx(1 / (1 + std::exp(-1.5))).epsilon(1e-6));
    options.probabilities = true;
    const float p = 0.25f;
    const auto low = classify(&p, 1, options);
    CHECK(low["label"] == "female");
    CHECK(low["confidence"].get<double>() == doctest::Approx(0.75));
    options.top_k = 2;
    const auto both = classify(&p, 1, options);
    REQUIRE(both["classifications"].size() == 2);
    CHECK(both["classifications"][1]["label"] == "male");
  }

  TEST_CASE("a regression: one output is the value; scores of 0, 1, ... give their expectation") {
    ClassifierOptions options;
    const float one = 4.25f;
    const auto value = regress(&one, 1, options);
    CHECK(value["_cls"] == "Regression");
    CHECK(value["value"].get<double>() == 4.25);
    CHECK(value["confidence"].is_null());
    options.probabilities = true;
    const std::vector<float> ages = {0.1f, 0.2f, 0.7f};  // 0.2 + 1.4 = 1.6
    const auto expected = regress(ages.data(), ages.size(), options);
    CHECK(expected["value"].get<double>() == doctest::Approx(1.6));
    CHECK(expected["confidence"].get<double>() == doctest::Approx(0.7));
    options.probabilities = false;
    const std::vector<float> logits = {0.f, 0.f};  // softmax: 0.5 each
    CHECK(regress(logits.data(), 2, options)["value"].get<double>() == doctest::Approx(0.5));
  }

  TEST_CASE("without classes the label is the index as a string") {
    const auto label = classify(k_logits.data(), k_logits.size(), ClassifierOptions{});
    INFO(label.dump());
    CHECK(label["label"] == "1");

    // Ties go to the lower index, as torch.topk on CPU.
    const std::vector<float> tie = {3.f, 5.f, 5.f};
    CHECK(classify(tie.data(), tie.size(), ClassifierOptions{})["label"] == "1");
  }

  TEST_CASE("top_k gives Classifications sorted by confidence") {
    ClassifierOptions options;
    options.classes = k_classes;
    options.top_k = 2;
    const auto label = classify(k_logits.data(), k_logits.size(), options);
    INFO(label.dump());
    CHECK(keys(label) == std::vector<std::string>{"_cls", "classifications"});
    CHECK(label["_cls"] == "Classifications");
    const auto& list = label["classifications"];
    REQUIRE(list.size() == 2);
    CHECK(list[0]["_cls"] == "Classification");
    CHECK(list[0]["label"] == "dog");
    CHECK(list[1]["label"] == "bird");
    CHECK(list[0]["confidence"].get<double>() > list[1]["confidence"].get<double>());

    options.top_k = 10;  // more than there are classes
    const auto all = classify(k_logits.data(), k_logits.size(), options);
    INFO(all.dump());
    REQUIRE(all["classifications"].size() == 3);
    CHECK(all["classifications"][0]["label"] == "dog");
    CHECK(all["classifications"][1]["label"] == "bird");
    CHECK(all["classifications"][2]["label"] == "cat");
  }

  TEST_CASE("confidence_thresh gives null for a Classification and drops low entries of a top-k") {
    ClassifierOptions options;
    options.classes = k_classes;
    options.confidence_thresh = 0.6;
    CHECK(classify(k_logits.data(), k_logits.size(), options)["label"] == "dog");  // 0.63 >= 0.6
    options.confidence_thresh = 0.7;
    const auto below = classify(k_logits.data(), k_logits.size(), options);
    CHECK_MESSAGE(below.is_null(), below.dump());

    options.top_k = 3;
    options.confidence_thresh = 0.2;  // keeps dog (0.63) and bird (0.23), drops cat (0.14)
    const auto kept = classify(k_logits.data(), k_logits.size(), options);
    INFO(kept.dump());
    REQUIRE(kept["classifications"].size() == 2);
    CHECK(kept["classifications"][0]["label"] == "dog");
    CHECK(kept["classifications"][1]["label"] == "bird");
  }

  TEST_CASE("store_logits adds the raw logits") {
    ClassifierOptions options;
    options.classes = k_classes;
    options.store_logits = true;
    const auto label = classify(k_logits.data(), k_logits.size(), options);
    INFO(label.dump());
    CHECK(keys(label) == std::vector<std::string>{"_cls", "label", "confidence", "logits"});
    CHECK(label["logits"].dump() == "[0.5,2.0,1.0]");

    options.top_k = 2;
    const auto top = classify(k_logits.data(), k_logits.size(), options);
    INFO(top.dump());
    CHECK(top["logits"].dump() == "[0.5,2.0,1.0]");

    options.store_logits = false;
    CHECK_FALSE(classify(k_logits.data(), k_logits.size(), options).contains("logits"));
  }

  TEST_CASE("no logits give null") { CHECK(classify(nullptr, 0, ClassifierOptions{}).is_null()); }

  TEST_CASE("json_float prints the shortest decimal that reads back as the same float") {
    CHECK(json_float(0.1f).dump() == "0.1");
    CHECK(json_float(0.81f).dump() == "0.81");
    CHECK(json_float(1.0f).dump() == "1.0");
    CHECK(json_float(0.6285317f).dump() == "0.6285317");
    CHECK(nlohmann::ordered_json(0.1f).dump() != "0.1");  // what a plain float would give
    for (float value : {0.1f, 1.0f / 3.0f, 123456.79f, 1e-8f, 0.99999994f}) {
      CAPTURE(value);
      CHECK(static_cast<float>(json_float(value).get<double>()) == value);
    }
    CHECK(json_float(std::numeric_limits<float>::quiet_NaN()).is_null());
    CHECK(json_float(std::numeric_limits<float>::infinity()).is_null());
  }
}
