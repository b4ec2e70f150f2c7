#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "eval/classification.hpp"
#include "test_support.hpp"

using namespace zoo;
using zoo::test::catch_error;
using zoo::test::contains;
using zoo::test::TempDir;
using zoo::test::write_file;

namespace {

std::string record(const std::string& path, const std::string& label, double confidence = 0.9) {
  return nlohmann::json({{"filepath", path},
                         {"predictions", {{"_cls", "Classification"}, {"label", label}, {"confidence", confidence}}}})
             .dump() +
         "\n";
}

// Six truth samples over three classes, in a list beside `dir`'s images.
std::string write_truth(const TempDir& dir) {
  write_file(dir / "truth.csv",
             "filepath,label\n"
             "img/a.jpg,cat\nimg/b.jpg,cat\nimg/c.jpg,dog\nimg/d.jpg,dog\nimg/e.jpg,bird\nimg/f.jpg,bird\n");
  return (dir / "truth.csv").string();
}

}  // namespace

TEST_SUITE("eval::classification") {
  TEST_CASE("scores labels: accuracy over every truth sample, failed and missing counted wrong") {
    TempDir dir("eval-score");
    const std::string img = (dir / "img").string();
    // a right; b predicted dog; c right, written with ./ ; d failed; e a
    // label the truth does not know; f missing; one record not in the truth.
    write_file(dir / "labels.jsonl",
               record(img + "/a.jpg", "cat") + record(img + "/b.jpg", "dog", 0.6) +
                   record(img + "/./c.jpg", "dog") +
                   "{\"filepath\": \"" + img + "/d.jpg\", \"error\": \"cannot decode image\"}\n" +
                   record(img + "/e.jpg", "fish", 0.55) + record(img + "/zzz.jpg", "cat"));
    const auto truth = eval::load_truth(write_truth(dir));
    CHECK(truth.classes == std::vector<std::string>{"bird", "cat", "dog"});
    const auto labels = eval::read_labels((dir / "labels.jsonl").string());
    const auto s = eval::score(truth, labels, "labels.jsonl");

    CHECK(s.records == 6);
    CHECK(s.samples == 6);
    CHECK(s.correct == 2);
    CHECK(s.failed == 1);
    CHECK(s.missing == 1);
    CHECK(s.unmatched == 1);
    CHECK(s.accuracy == doctest::Approx(2.0 / 6));
    // Classes: the truth's, then the unknown label the model gave.
    REQUIRE(s.classes.size() == 4);
    CHECK(s.classes[3].name == "fish");
    const auto& cat = s.classes[1];
    CHECK(cat.support == 2);
    CHECK(cat.predicted == 1);
    CHECK(cat.recall == doctest::Approx(0.5));
    CHECK(cat.precision == doctest::Approx(1.0));
    const auto& dog = s.classes[2];
    CHECK(dog.support == 2);
    CHECK(dog.predicted == 2);  // b and c
    CHECK(dog.precision == doctest::Approx(0.5));
    CHECK(dog.recall == doctest::Approx(0.5));
    CHECK(dog.f1 == doctest::Approx(0.5));
    CHECK(s.classes[0].recall == 0);  // bird: e went to fish, f is missing
    // Macro averages over the three truth classes only.
    CHECK(s.macro_recall == doctest::Approx((0 + 0.5 + 0.5) / 3));
    CHECK(s.macro_precision == doctest::Approx((0 + 1.0 + 0.5) / 3));
    CHECK(s.macro_f1 == doctest::Approx((0 + 2 * 1.0 * 0.5 / 1.5 + 0.5) / 3));
    // Confusion [truth][predicted], then "(none)": bird f is missing, dog d
    // failed; every row sums to its class's support.
    CHECK(s.confusion == std::vector<std::vector<int64_t>>{{0, 0, 0, 1, 1}, {0, 1, 1, 0, 0}, {0, 0, 1, 0, 1}});
    CHECK(s.average == eval::Average::truth);
    CHECK(s.averaged_classes == 3);
    // --average all: over every class seen, fish included (precision 0,
    // recall 0: no support), as scikit-learn's macro average with the
    // union of truth and predicted labels.
    const auto all = eval::score(truth, labels, "labels.jsonl", eval::Average::all);
    CHECK(all.averaged_classes == 4);
    CHECK(all.macro_recall == doctest::Approx((0 + 0.5 + 0.5 + 0) / 4));
    CHECK(all.macro_precision == doctest::Approx((0 + 1.0 + 0.5 + 0) / 4));
    CHECK(all.macro_f1 == doctest::Approx((0 + 2 * 1.0 * 0.5 / 1.5 + 0.5 + 0) / 4));
    CHECK(all.confusion == s.confusion);
    CHECK(eval::parse_average("all") == eval::Average::all);
    CHECK(catch_error([] { eval::parse_average("classes"); }).kind == ErrorKind::usage);
    // Mistakes in truth order: bird e, bird f, cat b, dog d.
    REQUIRE(s.mistakes.size() == 4);
    CHECK(s.mistakes[0].predicted == "fish");
    CHECK(s.mistakes[0].confidence == doctest::Approx(0.55));
    CHECK(s.mistakes[1].error == "no label record");
    CHECK(s.mistakes[2].predicted == "dog");
    CHECK(s.mistakes[3].error == "cannot decode image");
    CHECK(s.mistakes[3].failed);
    CHECK_FALSE(s.mistakes[1].failed);
    CHECK(s.right == std::vector<bool>{false, false, true, false, true, false});
  }

  TEST_CASE("top-k records: the first label is the prediction, any of them counts for top-k") {
    TempDir dir("eval-topk");
    const std::string img = (dir / "img").string();
    auto topk = [&](const std::string& file, const std::vector<std::string>& names) {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& n : names) list.push_back({{"_cls", "Classification"}, {"label", n}, {"confidence", 0.3}});
      return nlohmann::json({{"filepath", img + "/" + file},
                             {"predictions", {{"_cls", "Classifications"}, {"classifications", list}}}})
                 .dump() +
             "\n";
    };
    write_file(dir / "labels.jsonl", topk("a.jpg", {"cat", "dog"}) + topk("b.jpg", {"dog", "cat"}) +
                                         topk("c.jpg", {"bird", "cat"}) + topk("d.jpg", {"dog", "bird"}) +
                                         topk("e.jpg", {"bird", "dog"}) + topk("f.jpg", {}) /* nothing above thresh */);
    const auto truth = eval::load_truth(write_truth(dir));
    const auto s = eval::score(truth, eval::read_labels((dir / "labels.jsonl").string()), "labels.jsonl");
    CHECK(s.top_k == 2);
    CHECK(s.correct == 3);        // a, d, e
    CHECK(s.top_k_correct == 4);  // and b
    CHECK(s.top_k_accuracy == doctest::Approx(4.0 / 6));
    CHECK(s.failed == 0);
    CHECK(s.abstained == 1);  // f: an empty list
    CHECK(s.confusion[0] == std::vector<int64_t>{1, 0, 0, 1});  // bird: e right, f in "(none)"
    REQUIRE(s.mistakes.size() == 3);
    CHECK(s.mistakes[0].filepath == (dir / "img/f.jpg").string());
    CHECK(contains(s.mistakes[0].error, "no label"));
  }

  TEST_CASE("a truth folder of class folders, matched from relative record paths") {
    TempDir dir("eval-folder");
    for (const char* f : {"data/0/x.png", "data/0/y.png", "data/1/z.png"}) write_file(dir / f, "png bytes");
    const auto truth = eval::load_truth((dir / "data").string());
    CHECK(truth.paths.size() == 3);
    struct InFolder {  // the test's folder as the current one, restored however the test ends
      std::filesystem::path before = std::filesystem::current_path();
      explicit InFolder(const std::filesystem::path& p) { std::filesystem::current_path(p); }
      ~InFolder() { std::filesystem::current_path(before); }
    } in_folder(dir.path());
    write_file(dir / "labels.jsonl", record("data/0/x.png", "0") + record("data/0/y.png", "1") +
                                         record("data/1/../1/z.png", "1"));
    std::filesystem::create_directory_symlink(dir / "data", dir / "link");
    write_file(dir / "linked.jsonl", record("link/0/x.png", "0"));
    const auto s = eval::score(truth, eval::read_labels("labels.jsonl"), "labels.jsonl");
    const auto linked = eval::score(truth, eval::read_labels("linked.jsonl"), "linked.jsonl");
    CHECK(linked.unmatched == 0);
    CHECK(linked.correct == 1);
    CHECK(s.unmatched == 0);
    CHECK(s.correct == 2);
    CHECK(s.confusion == std::vector<std::vector<int64_t>>{{1, 1, 0}, {0, 1, 0}});
  }

  TEST_CASE("labels files that are not classification records are errors naming the line") {
    TempDir dir("eval-bad-labels");
    auto error_of = [&](const std::string& content) {
      write_file(dir / "l.jsonl", content);
      const auto caught = catch_error([&] { eval::read_labels((dir / "l.jsonl").string()); });
      CHECK_MESSAGE(caught.thrown, caught.foreign);
      return caught.message;
    };
    const std::string file = (dir / "l.jsonl").string();
    CHECK(contains(error_of(record("a.jpg", "cat") + "not json\n"), file + ":2: not a JSON object"));
    const std::string twice = record("a.jpg", "cat") + record("b.jpg", "dog") + record("./a.jpg", "dog");
    CHECK(contains(error_of(std::string(1, '\n').append(twice)),
                   file + ":4: ./a.jpg already has a record on line 2"));
    CHECK(contains(error_of("{\"filepath\": \"a.jpg\", \"predictions\": {\"_cls\": \"Detections\", "
                            "\"detections\": []}}\n"),
                   ":1: \"predictions\" is a Detections label; zoo eval scores classifications"));
    CHECK(contains(error_of("{\"filepath\": \"a.jpg\", \"labels\": {}}\n"),
                   ":1: the record has neither \"predictions\" nor \"error\""));
    CHECK(contains(error_of("{\"path\": \"a.jpg\"}\n"), ":1: a record needs a string \"filepath\""));
    CHECK(contains(error_of("{\"filepath\": \"a.jpg\", \"predictions\": {\"_cls\": 7}}\n"),
                   ":1: \"predictions\" is a non-FiftyOne label"));
    CHECK(contains(error_of("\n\n"), file + ": no label records"));
    // --label-field reads another field.
    write_file(dir / "f.jsonl", "{\"filepath\": \"a.jpg\", \"digits\": {\"_cls\": \"Classification\", "
                                "\"label\": \"7\"}}\n");
    CHECK(eval::read_labels((dir / "f.jsonl").string(), "digits").predictions[0].label == "7");
  }

  TEST_CASE("labels from zoo apply --format csv: top-1 or top-k columns, error rows, empty label cells") {
    TempDir dir("eval-csv");
    const std::string img = (dir / "img").string();
    write_file(dir / "top2.csv",
               "filepath,frame_number,label_1,confidence_1,label_2,confidence_2,error\n" +
                   img + "/a.jpg,,cat,0.75,dog,0.25,\n" + img + "/b.jpg,,dog,0.5,cat,0.4,\n" +
                   img + "/c.jpg,,,,,,cannot decode image\n" + img + "/d.jpg,,,,,,\n" +
                   "\"" + img + "/e.jpg\",,bird,0.9,,,\n" + img + "/clip.avi,3,cat,0.5,,,\n");
    const auto labels = eval::read_labels((dir / "top2.csv").string());
    REQUIRE(labels.paths.size() == 6);
    CHECK(labels.predictions[0].top_k == std::vector<std::string>{"cat", "dog"});
    CHECK(labels.predictions[0].confidence == doctest::Approx(0.75));
    CHECK(labels.predictions[2].error == "cannot decode image");
    CHECK(labels.predictions[3].label.empty());
    CHECK(labels.predictions[4].top_k == std::vector<std::string>{"bird"});
    CHECK(labels.frames[5] == 3);
    const auto s = eval::score(eval::load_truth(write_truth(dir)), labels, "top2.csv");
    CHECK(s.correct == 2);        // a, e
    CHECK(s.top_k_correct == 3);  // and b
    CHECK(s.failed == 1);
    CHECK(s.abstained == 1);
    CHECK(s.missing == 1);        // f
    CHECK(s.unmatched == 1);      // the video frame

    write_file(dir / "one.csv", "filepath,frame_number,label,confidence,error\n" + img + "/a.jpg,,cat,0.6,\n");
    CHECK(eval::read_labels((dir / "one.csv").string()).predictions[0].top_k == std::vector<std::string>{"cat"});
    write_file(dir / "bad.csv", "path,class\na.jpg,cat\n");
    CHECK(contains(catch_error([&] { eval::read_labels((dir / "bad.csv").string()); }).message,
                   "bad.csv:1: the header `path,class` has no filepath and label"));
    write_file(dir / "short.csv", "filepath,label,error\na.jpg,cat\n");
    CHECK(contains(catch_error([&] { eval::read_labels((dir / "short.csv").string()); }).message,
                   "short.csv:2: 2 fields, the header has 3"));
    write_file(dir / "empty.csv", "filepath,label,error\n");
    CHECK(contains(catch_error([&] { eval::read_labels((dir / "empty.csv").string()); }).message, "no label records"));
  }

  TEST_CASE("video frame records are ignored, unless the truth lists the video") {
    TempDir dir("eval-frames");
    const std::string img = (dir / "img").string();
    const std::string frames = "{\"filepath\": \"" + img + "/clip.avi\", \"frame_number\": 1, \"predictions\": null}\n"
                               "{\"filepath\": \"" + img + "/clip.avi\", \"frame_number\": 2, \"predictions\": null}\n";
    write_file(dir / "labels.jsonl", record(img + "/a.jpg", "cat") + frames);
    const auto labels = eval::read_labels((dir / "labels.jsonl").string());
    CHECK(labels.frames == std::vector<int64_t>{0, 1, 2});
    const auto s = eval::score(eval::load_truth(write_truth(dir)), labels, "L");
    CHECK(s.unmatched == 2);
    CHECK(s.correct == 1);
    write_file(dir / "video.csv", "img/clip.avi,cat\nimg/a.jpg,cat\n");
    const auto caught = catch_error([&] { eval::score(eval::load_truth((dir / "video.csv").string()), labels, "L"); });
    CHECK(contains(caught.message, "labels.jsonl:2: a frame of the video " + img + "/clip.avi, which the truth lists"));
  }

  TEST_CASE("labels that match no truth sample are an error with an example of each") {
    TempDir dir("eval-nomatch");
    write_file(dir / "labels.jsonl", record("/elsewhere/a.jpg", "cat"));
    const auto truth = eval::load_truth(write_truth(dir));
    const auto caught = catch_error([&] { eval::score(truth, eval::read_labels((dir / "labels.jsonl").string()), "L"); });
    REQUIRE(caught.thrown);
    CHECK(caught.kind == ErrorKind::data);
    CHECK(contains(caught.message, "L: none of its 1 record match"));
    CHECK(contains(caught.message, "\"/elsewhere/a.jpg\" against \"" + truth.paths.front() + "\""));
  }

  TEST_CASE("a baseline run: which inputs the candidate fixed and which it broke") {
    TempDir dir("eval-compare");
    const std::string img = (dir / "img").string();
    write_file(dir / "old.jsonl", record(img + "/a.jpg", "cat") + record(img + "/b.jpg", "dog") +
                                      record(img + "/c.jpg", "dog") + record(img + "/d.jpg", "dog") +
                                      record(img + "/e.jpg", "cat") + record(img + "/f.jpg", "bird"));
    write_file(dir / "new.jsonl", record(img + "/a.jpg", "cat") + record(img + "/b.jpg", "cat") +
                                      record(img + "/c.jpg", "cat") + record(img + "/d.jpg", "dog") +
                                      record(img + "/e.jpg", "bird") + record(img + "/f.jpg", "bird"));
    const auto truth = eval::load_truth(write_truth(dir));
    const auto old_score = eval::score(truth, eval::read_labels((dir / "old.jsonl").string()), "old.jsonl");
    const auto new_score = eval::score(truth, eval::read_labels((dir / "new.jsonl").string()), "new.jsonl");
    const auto c = eval::compare(truth, new_score, old_score);
    CHECK(c.baseline_accuracy == doctest::Approx(4.0 / 6));
    CHECK(c.fixed == std::vector<std::string>{img + "/e.jpg", img + "/b.jpg"});  // truth order: bird, cat, dog
    CHECK(c.broken == std::vector<std::string>{img + "/c.jpg"});

    auto gates = eval::check_gates({eval::parse_gate("broken=0", false), eval::parse_gate("fixed=2", true)},
                                   new_score, c);
    CHECK_FALSE(gates[0].passed);
    CHECK(gates[0].actual == 1);
    CHECK(gates[1].passed);
    const auto caught = catch_error([&] { eval::check_gates({eval::parse_gate("broken=0", false)}, new_score, {}); });
    CHECK(contains(caught.message, "needs --baseline"));
  }

  TEST_CASE("gates: fractions, percentages, counts, per-class metrics, and the exact boundary") {
    CHECK(eval::parse_gate("accuracy=0.99", true).value == doctest::Approx(0.99));
    CHECK(eval::parse_gate("accuracy=99%", true).value == doctest::Approx(0.99));
    CHECK(eval::parse_gate("recall:cat=95%", true).metric == "recall:cat");
    CHECK(eval::parse_gate("recall:a=b=0.5", true).metric == "recall:a=b");  // the last = splits
    CHECK(eval::parse_gate("failed=0", false).text == "failed<=0");
    auto usage = [](const std::string& text) {
      const auto caught = catch_error([&] { eval::parse_gate(text, true); });
      CHECK(caught.thrown);
      CHECK(caught.kind == ErrorKind::usage);
      return caught.message;
    };
    CHECK(contains(usage("acuracy=0.9"), "unknown metric \"acuracy\""));
    CHECK(contains(usage("acuracy=0.9"), "did you mean \"accuracy\""));
    CHECK(contains(usage("accuracy=99"), "a fraction from 0 to 1"));
    CHECK(contains(usage("accuracy=high"), "\"high\" is not a number"));
    CHECK(contains(usage("accuracy"), "expected METRIC=VALUE"));
    CHECK(contains(usage("failed=1.5"), "a whole number"));
    CHECK(contains(usage("failed=5%"), "a whole number"));
    CHECK(contains(usage("recall:=0.5"), "name the class"));
    CHECK(contains(usage("correct=0x10"), "\"0x10\" is not a number"));

    // 2475 of 2500 is exactly 99%: the gate passes, one fewer fails.
    eval::Score s;
    s.samples = 2500;
    s.correct = 2475;
    s.accuracy = 2475.0 / 2500;
    s.classes = {{"cat", 10, 10, 9, 0.9, 0.9, 0.9}};
    auto results = eval::check_gates({eval::parse_gate("accuracy=0.99", true), eval::parse_gate("wrong=25", false),
                                      eval::parse_gate("precision:cat=0.95", true)},
                                     s, {});
    CHECK(results[0].passed);
    CHECK(results[1].passed);
    CHECK_FALSE(results[2].passed);
    s.correct = 2474;
    s.accuracy = 2474.0 / 2500;
    results = eval::check_gates({eval::parse_gate("accuracy=0.99", true), eval::parse_gate("wrong=25", false)}, s, {});
    CHECK_FALSE(results[0].passed);
    CHECK_FALSE(results[1].passed);
    const auto caught = catch_error([&] { eval::check_gates({eval::parse_gate("recall:dgo=0.5", true)}, s, {}); });
    CHECK(contains(caught.message, "no class \"dgo\""));

    // A percentage is compared at the same six decimals: 2474 of 2500 is
    // 98.96% exactly, so both gates pass (98.96 / 100 is not 0.9896 in
    // binary).
    results = eval::check_gates({eval::parse_gate("accuracy=98.96%", true), eval::parse_gate("accuracy=98.96%", false)},
                                s, {});
    CHECK(results[0].passed);
    CHECK(results[1].passed);
    results = eval::check_gates({eval::parse_gate("precision:cat=90%", false)}, s, {});
    CHECK(results[0].passed);
  }

  TEST_CASE("gates are checked against the truth and the baseline before anything runs") {
    eval::Truth truth;
    truth.source = "test/";
    truth.classes = {"cat", "dog"};
    CHECK_NOTHROW(eval::validate_gates({eval::parse_gate("recall:cat=0.5", true)}, truth, false));
    const auto typo = catch_error([&] { eval::validate_gates({eval::parse_gate("recall:dgo=0.5", true)}, truth, false); });
    CHECK(typo.kind == ErrorKind::usage);
    CHECK(contains(typo.message, "gate recall:dgo>=0.5: no class \"dgo\" in test/ (cat, dog); did you mean \"dog\"?"));
    const auto baseline = catch_error([&] { eval::validate_gates({eval::parse_gate("broken=0", false)}, truth, false); });
    CHECK(contains(baseline.message, "broken needs --baseline"));
    CHECK_NOTHROW(eval::validate_gates({eval::parse_gate("broken=0", false)}, truth, true));
  }

  TEST_CASE("the JSON and text reports carry the score, the mistakes and the gates") {
    TempDir dir("eval-report");
    const std::string img = (dir / "img").string();
    write_file(dir / "labels.jsonl", record(img + "/a.jpg", "cat") + record(img + "/b.jpg", "dog", 0.625) +
                                         record(img + "/c.jpg", "dog") + record(img + "/d.jpg", "dog") +
                                         record(img + "/e.jpg", "bird") + record(img + "/f.jpg", "bird"));
    const auto truth = eval::load_truth(write_truth(dir));
    const auto s = eval::score(truth, eval::read_labels((dir / "labels.jsonl").string()), "labels.jsonl");
    const auto gates = eval::check_gates({eval::parse_gate("accuracy=0.9", true)}, s, {});
    const auto report = nlohmann::json::parse(eval::report_json(truth, s, {}, gates));
    CHECK(report["samples"] == 6);
    CHECK(report["correct"] == 5);
    CHECK(report["accuracy"] == doctest::Approx(0.833333));
    CHECK(report["classes"] == nlohmann::json({"bird", "cat", "dog"}));
    CHECK(report["confusion_matrix"] == nlohmann::json({{2, 0, 0, 0}, {0, 1, 1, 0}, {0, 0, 2, 0}}));
    CHECK(report["confusion_columns"] == nlohmann::json({"bird", "cat", "dog", "(none)"}));
    CHECK(report["average"] == "truth");
    CHECK(report["averaged_classes"] == 3);
    CHECK(report["mistakes"] == nlohmann::json::parse(R"([{"filepath": ")" + img +
                                                      R"(/b.jpg", "truth": "cat", "predicted": "dog", "confidence": 0.625}])"));
    CHECK(report["gates"][0]["passed"] == false);
    CHECK(report["passed"] == false);
    CHECK_FALSE(report.contains("top_k"));

    const std::string text = eval::report_text(truth, s, {}, gates, 5);
    CHECK(contains(text, "accuracy          83.33%  (5 of 6; 0 failed, 0 missing)"));
    CHECK(contains(text, "most confused: cat as dog (1)"));
    CHECK(contains(text, img + "/b.jpg  truth cat, predicted dog (0.625)"));
    CHECK(contains(text, "gate accuracy>=0.9"));
    CHECK(contains(text, "FAILED  (83.3333%)"));
  }
}
