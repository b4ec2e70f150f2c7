#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "jobs/merge.hpp"
#include "jobs/shard.hpp"
#include "io/npy.hpp"
#include "test_support.hpp"

using namespace zoo::jobs;
using namespace zoo::outputs;
using zoo::inference::RunSummary;
using zoo::ErrorKind;
using zoo::test::catch_error;
using zoo::test::contains;
using zoo::test::read_text;
using zoo::test::TempDir;
using zoo::test::write_file;

namespace {

// An environment made of `vars`.
EnvLookup env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

// What made a part: a model and the settings of its records.
const Producer k_producer = {{"model", "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"},
                             {"settings", {{"format", "jsonl"}, {"top_k", 0}}}};

std::vector<std::string> numbered(int n) {
  std::vector<std::string> paths;
  for (int i = 0; i < n; ++i) paths.push_back("img" + std::to_string(i) + ".jpg");
  return paths;
}

// Writes part k of n of `output` with `content` and its done marker.
void finished_part(const std::string& output, int k, int n, const std::string& content, const std::string& format,
                   uint64_t failed = 0) {
  const std::string part = part_path(output, Shard{k, n});
  write_file(part, content);
  ShardDone done;
  done.shard = Shard{k, n};
  done.format = format;
  done.inputs = 1;
  done.all_inputs = uint64_t(n);
  done.inputs_sha256 = inputs_digest(numbered(n));
  done.failed = failed;
  done.ok = 1 - failed;
  done.producer = k_producer;
  done.files = pin_files({part}, split_name(part).folder);
  write_done_marker(part, done);
}

MergeOptions merge_of(const std::string& output) {
  MergeOptions options;
  options.output = output;
  return options;
}

}  // namespace

TEST_CASE("parse_shard: K/N, and auto from a Slurm array or a Kubernetes Indexed Job") {
  const Shard s = parse_shard("2/8", env({}));
  CHECK(s.index == 2);
  CHECK(s.count == 8);

  // --array=1-4: task ids 1..4 are shards 0..3.
  const Shard slurm = parse_shard(
      "auto", env({{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_MIN", "1"}, {"SLURM_ARRAY_TASK_COUNT", "4"}}));
  CHECK(slurm.index == 2);
  CHECK(slurm.count == 4);

  // auto/N in Slurm: K = SLURM_ARRAY_TASK_ID - base, whatever the array
  // around it: task 2 resubmitted alone (--array=2) is still shard 2.
  const Shard retried = parse_shard(
      "auto/4", env({{"SLURM_ARRAY_TASK_ID", "2"}, {"SLURM_ARRAY_TASK_MIN", "2"}, {"SLURM_ARRAY_TASK_COUNT", "1"}}));
  CHECK(retried.index == 2);
  CHECK(retried.count == 4);
  const Shard based = parse_shard("auto/4", env({{"SLURM_ARRAY_TASK_ID", "4"}, {"SLURM_ARRAY_TASK_MIN", "4"}}), 1);
  CHECK(based.index == 3);
  const auto below = catch_error([] { parse_shard("auto/4", env({{"SLURM_ARRAY_TASK_ID", "0"}}), 1); });
  CHECK(contains(below.message, "SLURM_ARRAY_TASK_ID=0 is below --shard-base 1"));
  const auto base_alone = catch_error([] { parse_shard("1/4", env({}), 1); });
  CHECK(contains(base_alone.message, "--shard-base goes with --shard auto/N"));

  // A Kubernetes pod: JOB_COMPLETION_INDEX and no Slurm variable.
  const Shard k8s = parse_shard("auto/5", env({{"JOB_COMPLETION_INDEX", "4"}}));
  CHECK(k8s.index == 4);
  CHECK(k8s.count == 5);

  for (const char* bad : {"8/8", "-1/4", "1/0", "1", "a/b", "1/4/2", "auto/0", "", "/4"}) {
    INFO(bad);
    const auto caught = catch_error([&] { parse_shard(bad, env({})); });
    CHECK(caught.thrown);
    CHECK(caught.kind == ErrorKind::usage);
  }
  const auto no_env = catch_error([] { parse_shard("auto", env({})); });
  CHECK(contains(no_env.message, "SLURM_ARRAY_TASK_ID"));
  const auto no_index = catch_error([] { parse_shard("auto/4", env({})); });
  CHECK(contains(no_index.message, "JOB_COMPLETION_INDEX"));
  const auto too_big = catch_error([] { parse_shard("auto/4", env({{"JOB_COMPLETION_INDEX", "4"}})); });
  CHECK(contains(too_big.message, "shard 4 does not exist"));
  const auto garbage = catch_error([] { parse_shard("auto/4", env({{"JOB_COMPLETION_INDEX", "x"}})); });
  CHECK(contains(garbage.message, "JOB_COMPLETION_INDEX=x"));
}

TEST_CASE("part_path puts the shard before the extension, zero-padded to N's digits") {
  CHECK(part_path("labels.jsonl", Shard{3, 8}) == "labels.part-3-of-8.jsonl");
  CHECK(part_path("out/emb.npy", Shard{3, 16}) == "out/emb.part-03-of-16.npy");
  CHECK(part_path("/a/b.c/out", Shard{0, 100}) == "/a/b.c/out.part-000-of-100");
  CHECK(part_path(".hidden", Shard{1, 2}) == ".hidden.part-1-of-2");
  CHECK(done_marker_path("x.part-1-of-2.jsonl") == "x.part-1-of-2.jsonl.done");
}

TEST_CASE("shard_slice: contiguous slices that cover the list once, sizes within one") {
  for (int total : {0, 1, 7, 100}) {
    for (int n : {1, 3, 8}) {
      const auto paths = numbered(total);
      std::vector<std::string> joined;
      size_t smallest = paths.size(), largest = 0;
      for (int k = 0; k < n; ++k) {
        const auto slice = shard_slice(paths, Shard{k, n});
        joined.insert(joined.end(), slice.begin(), slice.end());
        smallest = std::min(smallest, slice.size());
        largest = std::max(largest, slice.size());
      }
      CHECK(joined == paths);
      CHECK(largest - std::min(smallest, largest) <= 1);
    }
  }
}

TEST_CASE("begin_shard and finish_shard: the marker, a finished shard, a changed input list") {
  TempDir dir("shard-begin");
  const std::string part = (dir / "labels.part-1-of-3.jsonl").string();
  auto paths = numbered(10);
  ShardRun run = begin_shard(Shard{1, 3}, part, "jsonl", k_producer, paths);
  CHECK_FALSE(run.finished);
  CHECK(paths == std::vector<std::string>{"img3.jpg", "img4.jpg", "img5.jpg"});

  // Interrupted: no marker.
  RunSummary summary;
  summary.ok = 1;
  summary.interrupted = true;
  finish_shard(run, summary, {part});
  CHECK_FALSE(std::filesystem::exists(done_marker_path(part)));
  // A retry with another input list would append to a part of the old one.
  CHECK(std::filesystem::exists(part + ".started"));
  auto other = numbered(9);
  const auto started = catch_error([&] { begin_shard(Shard{1, 3}, part, "jsonl", k_producer, other); });
  CHECK(started.kind == ErrorKind::data);
  CHECK(contains(started.message, ".started: this shard was started for another input list (10 inputs, now 9)"));
  auto same = numbered(10);
  CHECK_FALSE(begin_shard(Shard{1, 3}, part, "jsonl", k_producer, same).finished);

  // Resumed and finished: 1 done before (an error), 2 now (1 failed).
  summary = RunSummary{};
  summary.skipped = 1;
  summary.failed_before = 1;
  summary.ok = 1;
  summary.failed = 1;
  write_file(part, "{\"filepath\":\"img3.jpg\"}\n{\"filepath\":\"img4.jpg\"}\n{\"filepath\":\"img5.jpg\"}\n");
  finish_shard(run, summary, {part});
  ShardDone done;
  REQUIRE(read_done_marker(part, done));
  CHECK_FALSE(std::filesystem::exists(part + ".started"));
  CHECK(done.shard.index == 1);
  CHECK(done.shard.count == 3);
  CHECK(done.inputs == 3);
  CHECK(done.all_inputs == 10);
  CHECK(done.ok == 1);
  CHECK(done.failed == 2);
  CHECK(done.inputs_sha256 == inputs_digest(numbered(10)));
  CHECK(done.producer == k_producer);
  REQUIRE(done.files.size() == 1);
  CHECK(done.files[0].path == "labels.part-1-of-3.jsonl");
  CHECK(done.files[0].bytes == 72);

  auto again = numbered(10);
  CHECK(begin_shard(Shard{1, 3}, part, "jsonl", k_producer, again).finished);
  CHECK(finished_shard_summary(begin_shard(Shard{1, 3}, part, "jsonl", k_producer, again = numbered(10))).failed_before == 2);

  // The same shard run again with another model or settings: refused, naming what differs.
  Producer other_model = k_producer;
  other_model["settings"]["top_k"] = 3;
  const auto mixed = catch_error([&] { begin_shard(Shard{1, 3}, part, "jsonl", other_model, again = numbered(10)); });
  CHECK(mixed.kind == ErrorKind::usage);
  CHECK(contains(mixed.message, ".done: this shard was done with another model or other settings (top_k 0 there, 3 now)"));

  auto more = numbered(11);
  const auto changed = catch_error([&] { begin_shard(Shard{1, 3}, part, "jsonl", k_producer, more); });
  CHECK(changed.kind == ErrorKind::data);
  CHECK(contains(changed.message, "another input list (10 inputs, now 11)"));

  write_file(done_marker_path(part), "{not json");
  const auto bad = catch_error([&] { begin_shard(Shard{1, 3}, part, "jsonl", k_producer, again = numbered(10)); });
  CHECK(bad.kind == ErrorKind::io);
  CHECK(contains(bad.message, ".done: not a zoo shard marker"));
}

TEST_CASE("merge_parts: JSON Lines in shard order; missing shards named; mixed lists refused") {
  TempDir dir("shard-merge");
  const std::string out = (dir / "labels.jsonl").string();
  finished_part(out, 0, 3, "{\"filepath\":\"a\"}\n", "jsonl");
  finished_part(out, 2, 3, "{\"filepath\":\"c\"}\n", "jsonl", 1);
  write_file(part_path(out, Shard{1, 3}), "{\"filepath\":\"b\"}\n");  // started, no marker

  const auto missing = catch_error([&] { merge_parts(merge_of(out)); });
  CHECK(missing.kind == ErrorKind::data);
  CHECK(contains(missing.message, "1 of 3 shards"));
  CHECK(contains(missing.message, "1 (started, not finished)"));
  CHECK_FALSE(std::filesystem::exists(out));

  finished_part(out, 1, 3, "{\"filepath\":\"b\"}\n", "jsonl");
  MergeOptions options = merge_of(out);
  options.remove_parts = true;
  const MergeSummary summary = merge_parts(options);
  CHECK(read_text(out) == "{\"filepath\":\"a\"}\n{\"filepath\":\"b\"}\n{\"filepath\":\"c\"}\n");
  CHECK(summary.records == 3);
  CHECK(summary.failed == 1);
  CHECK(summary.removed.size() == 6);
  CHECK_FALSE(std::filesystem::exists(part_path(out, Shard{0, 3})));

  // Parts of 2 and of 3 shards: --shards picks.
  finished_part(out, 0, 2, "x\n", "jsonl");
  finished_part(out, 1, 2, "y\n", "jsonl");
  finished_part(out, 0, 3, "z\n", "jsonl");
  const auto ambiguous = catch_error([&] { merge_parts(merge_of(out)); });
  CHECK(ambiguous.kind == ErrorKind::usage);
  CHECK(contains(ambiguous.message, "2, 3"));
  options = merge_of(out);
  options.shards = 2;
  merge_parts(options);
  CHECK(read_text(out) == "x\ny\n");

  // A part whose last line is cut off.
  finished_part(out, 1, 2, "y", "jsonl");
  CHECK(contains(catch_error([&] { merge_parts(options); }).message, "cut off"));
  // The failed merge left the earlier output as it was, and no temporary file.
  CHECK(read_text(out) == "x\ny\n");
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    CHECK_FALSE(contains(entry.path().filename().string(), ".tmp."));
  }

  // Markers of different input lists.
  finished_part(out, 1, 2, "y\n", "jsonl");
  ShardDone done;
  REQUIRE(read_done_marker(part_path(out, Shard{1, 2}), done));
  done.all_inputs = 5;
  write_done_marker(part_path(out, Shard{1, 2}), done);
  CHECK(contains(catch_error([&] { merge_parts(options); }).message, "another input list"));

  // Markers of another model.
  finished_part(out, 1, 2, "y\n", "jsonl");
  REQUIRE(read_done_marker(part_path(out, Shard{1, 2}), done));
  done.producer["model"] = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
  write_done_marker(part_path(out, Shard{1, 2}), done);
  const auto mixed = catch_error([&] { merge_parts(options); });
  CHECK(mixed.kind == ErrorKind::data);
  CHECK(contains(mixed.message, "made by another model or other settings than"));
  CHECK(contains(mixed.message, "(model sha256:0a1b2c3d4e5f… there, sha256:ffffffffffff… here)"));

  // A part changed after its marker: a line removed, a line edited, emptied.
  finished_part(out, 1, 2, "y\nz\n", "jsonl");
  for (const std::string changed : {"y\n", "y\nZ\n", ""}) {
    write_file(part_path(out, Shard{1, 2}), changed);
    const auto caught = catch_error([&] { merge_parts(options); });
    CHECK(caught.kind == ErrorKind::data);
    CHECK(contains(caught.message, "labels.part-1-of-2.jsonl: changed since its shard finished"));
  }
  CHECK(read_text(out) == "x\ny\n");  // the output of the last good merge, untouched
}

TEST_CASE("merge_parts: CSV parts give one header, rows counted with quoted line breaks") {
  TempDir dir("shard-merge-csv");
  const std::string out = (dir / "labels.csv").string();
  const std::string header = "filepath,frame_number,label,confidence,error\n";
  finished_part(out, 0, 3, header + "\"two\nlines.jpg\",,cat,0.5,\n", "csv");
  finished_part(out, 1, 3, header, "csv");  // a shard with no inputs
  finished_part(out, 2, 3, header + "c.jpg,,dog,0.25,\n", "csv");
  const MergeSummary summary = merge_parts(merge_of(out));
  CHECK(read_text(out) == header + "\"two\nlines.jpg\",,cat,0.5,\nc.jpg,,dog,0.25,\n");
  CHECK(summary.records == 2);
  finished_part(out, 2, 3, "filepath,frame_number,label_1,confidence_1,error\nc.jpg,,dog,0.25,\n", "csv");
  CHECK(contains(catch_error([&] { merge_parts(merge_of(out)); }).message, "differs from the first part's"));
}

TEST_CASE("merge_parts: .npy rows, index and error log; COCO documents renumbered") {
  TempDir dir("shard-npy");
  const std::string out = (dir / "emb.npy").string();
  for (int k = 0; k < 2; ++k) {
    const std::string part = part_path(out, Shard{k, 2});
    {
      zoo::io::NpyWriter writer(part, zoo::io::NpyDtype::float32, 0);
      const std::vector<float> rows = {float(k), 1, float(k), 2};
      writer.append(rows.data(), 2, 2);
      writer.flush();
    }
    write_file((dir / fmt::format("emb.part-{}-of-2.paths.txt", k)).string(), fmt::format("p{}a\np{}b\n", k, k));
    write_file((dir / fmt::format("emb.part-{}-of-2.errors.jsonl", k)).string(), "");
    finished_part(out, k, 2, read_text(part), "npy");
  }
  const MergeSummary summary = merge_parts(merge_of(out));
  CHECK(summary.records == 4);
  const auto array = zoo::io::read_npy(out);
  CHECK(array.header.shape == std::vector<uint64_t>{4, 2});
  CHECK(array.values == std::vector<float>{0, 1, 0, 2, 1, 1, 1, 2});
  CHECK(read_text(dir / "emb.paths.txt") == "p0a\np0b\np1a\np1b\n");

  // An index that does not match its rows.
  write_file((dir / "emb.part-1-of-2.paths.txt").string(), "p1a\n");
  CHECK(contains(catch_error([&] { merge_parts(merge_of(out)); }).message, "has 1 lines for the 2 rows"));

  const std::string coco = (dir / "dets.json").string();
  finished_part(coco, 0, 2,
                R"({"images":[{"id":1,"file_name":"a"},{"id":2,"file_name":"b"}],"categories":[{"id":1,"name":"face"}],)"
                R"("annotations":[{"id":1,"image_id":2,"category_id":1}]})",
                "coco-dataset");
  finished_part(coco, 1, 2,
                R"({"images":[{"id":1,"file_name":"c"}],"categories":[{"id":1,"name":"face"},{"id":2,"name":"eye"}],)"
                R"("annotations":[{"id":1,"image_id":1,"category_id":2}]})",
                "coco-dataset");
  merge_parts(merge_of(coco));
  const auto merged = nlohmann::json::parse(read_text(coco));
  CHECK(merged["images"].size() == 3);
  CHECK(merged["images"][2]["id"] == 3);
  CHECK(merged["images"][2]["file_name"] == "c");
  CHECK(merged["annotations"][1]["id"] == 2);
  CHECK(merged["annotations"][1]["image_id"] == 3);
  CHECK(merged["categories"].size() == 2);

  // coco-results: the truth's ids, so the lists are joined as they are.
  const std::string results = (dir / "results.json").string();
  finished_part(results, 0, 2, R"([{"image_id":7,"category_id":3,"bbox":[1,2,3,4],"score":0.5}])", "coco-results");
  finished_part(results, 1, 2, R"([])", "coco-results");
  merge_parts(merge_of(results));
  CHECK(nlohmann::json::parse(read_text(results)) ==
        nlohmann::json::parse(R"([{"image_id":7,"category_id":3,"bbox":[1,2,3,4],"score":0.5}])"));
}
