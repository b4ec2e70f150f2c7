#include "jobs/batch_job.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include <fmt/format.h>

#include "jobs/shard.hpp"
#include "io/jsonl_writer.hpp"
#include "media/discover.hpp"
#include "util/error.hpp"
#include "util/file_lock.hpp"
#include "util/log.hpp"

namespace fs = std::filesystem;

namespace zoo::jobs {
namespace {

// Checks the options against the format before anything is read or loaded.
void check_options(const JobOptions& options, const outputs::OutputFormat& format) {
  if (options.shard && options.output == "-") {
    throw Error(ErrorKind::usage, "--shard needs -o FILE: each shard writes its own part of FILE");
  }
  if (options.loop.batch_size < 1) throw Error(ErrorKind::usage, "--batch-size must be at least 1");
  if (options.resume && options.output == "-") {
    throw Error(ErrorKind::usage, "--resume needs an output file (-o FILE): it reads what an earlier run wrote there");
  }
  if (options.resume && !format.resumable) {
    throw Error(ErrorKind::usage, "--resume works with --format {}: --format {} is one document written at the end",
                outputs::label_format_names(true), format.name);
  }
}

// Refuses, before anything is opened for writing, an output file that is
// one of the inputs (the same file by device and inode, whatever names
// reach it): writing it would destroy that input before it is read.
void refuse_outputs_among_inputs(const std::vector<std::string>& outputs, const std::vector<std::string>& inputs) {
  std::map<std::pair<dev_t, ino_t>, std::string> written;
  struct stat st {};
  for (const auto& path : outputs) {
    if (path != "-" && ::stat(path.c_str(), &st) == 0) written.emplace(std::pair{st.st_dev, st.st_ino}, path);
  }
  if (written.empty()) return;  // no output exists yet, so none is an input
  for (const auto& input : inputs) {
    if (::stat(input.c_str(), &st) != 0) continue;
    if (const auto it = written.find({st.st_dev, st.st_ino}); it != written.end()) {
      throw Error(ErrorKind::usage, "{}: this output file is also an input ({}); writing it would destroy that input",
                  it->second, input);
    }
  }
}

// What made the records (outputs/run_record.hpp): the model's digest and
// the settings that shape records.
outputs::Producer job_producer(const Job& job, const JobOptions& options) {
  nlohmann::ordered_json settings = job.settings();
  settings["precision"] = options.load.precision;
  const media::FrameSelection& frames = options.loop.frames;
  settings["frames"] = frames.fps > 0 ? fmt::format("{} per second", frames.fps) : fmt::format("every {}", frames.stride);
  if (options.patches) settings["patches"] = options.patches.settings();
  return {{"model", config::model_digest(job.model_config())}, {"settings", std::move(settings)}};
}

// An unsharded output's run record: checked on --resume (another model or
// other settings would mix their records into the output), written when
// the output starts.
void keep_run_record(const std::string& output, bool resume, const outputs::Producer& producer) {
  if (resume) {
    const outputs::Producer there = outputs::read_run_record(output);
    if (!there.is_null()) {
      if (const std::string differences = outputs::producer_differences(there, producer); !differences.empty()) {
        throw Error(ErrorKind::usage,
                    "{}: written by another model or other settings ({}); resume with the same ones, or choose "
                    "another -o", output, differences);
      }
      return;
    }
    std::error_code ec;
    if (fs::file_size(output, ec) > 0 && !ec) {
      // Written by an older zoo: what made it stays unknown (recording this
      // run's producer would vouch for records it did not make).
      util::warn(fmt::format("{}: no run record ({}) says what wrote it, so it cannot be checked; resuming as asked",
                             output, outputs::run_record_path(output)));
      return;
    }
  }
  outputs::write_run_record(output, producer);
}

// Takes one occurrence of `key` out of `done`: false if there is none.
bool take_one(std::unordered_multiset<std::string>& done, const std::string& key) {
  const auto it = done.find(key);
  if (it == done.end()) return false;
  done.erase(it);
  return true;
}

// Opens the writer, holding `lock` on its output and keeping its run
// record (`producer`; null for a shard's part, whose markers record it);
// with `resume`, drops from `paths` the inputs an earlier run did (video
// frames are skipped one by one as they are read, through
// `loop.skip_frame`) and counts them in `summary`.
outputs::Writer& open_output(Job& job, const std::string& output, bool resume, const outputs::Producer* producer,
                             std::vector<std::string>& paths, inference::BatchLoopOptions& loop,
                             inference::RunSummary& summary, outputs::Resumed& resumed, util::FileLock& lock) {
  outputs::Writer& writer = job.make_writer(output);
  const std::vector<std::string> files = writer.files();
  refuse_outputs_among_inputs(files, paths);
  // One run at a time writes an output: a shard retried while its first
  // try still runs, or one --resume started twice, would interleave their
  // records. The kernel drops the lock when a run dies.
  const std::string& primary = files.front();
  if (primary != "-" && !util::FileLock::try_lock(primary, lock)) {
    throw Error(ErrorKind::io, "{}: another zoo run is writing this file (the same shard or --resume started "
                "twice?); let it finish, or choose another -o", primary);
  }
  if (producer && primary != "-") keep_run_record(primary, resume, *producer);
  resumed = writer.open(resume);
  if (!resume) return writer;
  // An image with a record, or a video with its error record, is done; a
  // record counts for one occurrence of its input in the list.
  const bool any_done = !resumed.done.empty();
  std::vector<std::string> todo;
  for (auto& path : paths) {
    if (take_one(resumed.done, path)) {
      ++summary.skipped;
    } else {
      todo.push_back(std::move(path));
    }
  }
  paths = std::move(todo);
  summary.failed_before = resumed.failed;
  if (any_done) util::info(fmt::format("resume: {} inputs already done ({})", summary.skipped, resumed.held));
  loop.skip_frame = [&resumed, mutex = std::make_shared<std::mutex>()](const std::string& path, int64_t frame_number) {
    std::lock_guard lock(*mutex);  // called on the decode workers
    return take_one(resumed.done, io::record_key(path, frame_number));
  };
  return writer;
}

// Runs the loop on the patches of `table`'s detections; on resume, the
// patches an earlier run did are left out (and counted in `skipped`).
void run_on_patches(const PatchTable& table, const PatchOptions& options, bool resume, outputs::Resumed& resumed,
                    std::atomic<size_t>& skipped, inference::BatchLoopOptions& loop) {
  loop.patch_shape = options.shape;
  loop.patches = [&table, &resumed, &skipped, resume, mutex = std::make_shared<std::mutex>()](
                     const std::string& path, int64_t frame_number) {
    media::PatchList list = table.lookup(path, frame_number);
    if (!resume || frame_number < 0) return list;
    std::lock_guard lock(*mutex);  // called on the decode workers
    std::vector<media::Patch> todo;
    for (auto& patch : list.patches) {
      if (take_one(resumed.done, io::record_key(path, frame_number, patch.detection))) {
        ++skipped;
      } else {
        todo.push_back(std::move(patch));
      }
    }
    list.patches = std::move(todo);
    return list;
  };
}

}  // namespace

std::vector<std::string> gather_inputs(const std::vector<std::string>& inputs, const std::string& files_from) {
  std::vector<std::string> paths = media::discover_inputs(inputs);
  if (!files_from.empty()) {
    auto listed = media::read_list_file(files_from);
    paths.insert(paths.end(), listed.begin(), listed.end());
  }
  if (paths.empty()) throw Error(ErrorKind::usage, "no inputs: give image or video files, folders or --files-from FILE");
  return paths;
}

inference::RunSummary run_batch_job(const JobOptions& options, Job& job, const std::atomic<bool>* interrupt) {
  const outputs::OutputFormat& format = job.format();
  check_options(options, format);
  std::vector<std::string> paths = gather_inputs(options.inputs, options.files_from);

  const std::string output = outputs::sharded_path(options.output, options.shard);
  const outputs::Producer producer = options.output == "-" ? outputs::Producer() : job_producer(job, options);
  bool resume = options.resume;
  ShardRun shard;
  if (options.shard) {
    // A retried shard picks up its part where the last try stopped.
    std::error_code ec;
    if (format.resumable && fs::exists(output, ec)) resume = true;
    shard = begin_shard(options.shard, output, std::string(format.name), producer, paths);
    if (shard.finished) return finished_shard_summary(shard);
  }

  inference::RunSummary summary;
  inference::BatchLoopOptions loop = options.loop;
  std::optional<PatchTable> patches;  // read before any output is opened: a bad file fails first
  if (options.patches) patches.emplace(options.patches);
  outputs::Resumed resumed;
  util::FileLock lock;
  outputs::Writer& writer =
      open_output(job, output, resume, options.shard ? nullptr : &producer, paths, loop, summary, resumed, lock);
  summary.total = paths.size();
  std::atomic<size_t> skipped_patches{0};
  if (patches) {
    summary.unit = "patches";
    util::info(fmt::format("patches: the \"{}\" detections of {} records in {}", patches->field(),
                           patches->records(), options.patches.file));
    run_on_patches(*patches, options.patches, resume, resumed, skipped_patches, loop);
  }

  inference::Predictor& predictor = job.load_model();
  const inference::BatchSink sink = [&writer](const std::vector<media::PipelineItem>& batch,
                                              const std::vector<std::vector<float>>& rows,
                                              std::vector<std::string>& errors) { writer.write(batch, rows, errors); };
  inference::run_batches(paths, job.preprocess(), predictor, loop, interrupt, sink, summary);
  summary.skipped += skipped_patches;
  writer.finish();
  if (options.shard) finish_shard(shard, summary, writer.files());
  return summary;
}

}  // namespace zoo::jobs
