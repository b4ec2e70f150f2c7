#include "jobs/merge.hpp"

#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "outputs/format.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace zoo::jobs {
namespace {

using outputs::done_marker_path;
using outputs::part_path;
using outputs::ShardDone;

// The N of the job whose parts are beside OUTPUT (NAME.part-K-of-N.EXT):
// `wanted` if set, else the only N there.
int shard_count(const std::string& output, int wanted) {
  if (wanted > 0) return wanted;
  const std::string folder_name = outputs::split_name(output).folder;
  const fs::path folder = folder_name.empty() ? fs::path(".") : fs::path(folder_name);
  std::set<int> counts;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    if (const int count = outputs::part_count(output, it->path().filename().string()); count > 0) {
      counts.insert(count);
    }
  }
  if (ec) throw Error(ErrorKind::io, "{}: cannot list: {}", folder.string(), ec.message());
  if (counts.empty()) {
    throw Error(ErrorKind::data, "no parts of {} in {} (expected {}): run the shards with -o {} --shard K/N first",
                output, folder.string(), part_path(output, outputs::Shard{0, 2}), output);
  }
  if (counts.size() > 1) {
    std::vector<std::string> listed;
    for (int c : counts) listed.push_back(std::to_string(c));
    throw Error(ErrorKind::usage, "{} has parts of jobs with {} shards: pick one with --shards N", output,
                util::join(listed, ", "));
  }
  return *counts.begin();
}

// Every shard's part (in `parts`) and marker (in `markers`): all done, from
// the same input list, format, model and settings, and each part's files
// as its marker pins them.
void done_parts(const std::string& output, int count, std::vector<std::string>& parts,
                std::vector<ShardDone>& markers) {
  std::vector<std::string> missing;
  for (int k = 0; k < count; ++k) {
    const std::string part = part_path(output, outputs::Shard{k, count});
    ShardDone done;
    if (!outputs::read_done_marker(part, done)) {
      std::error_code exists_ec;
      missing.push_back(fs::exists(part, exists_ec) ? fmt::format("{} (started, not finished)", k) : std::to_string(k));
      continue;
    }
    if (done.shard.index != k || done.shard.count != count) {
      throw Error(ErrorKind::data, "{}: the marker is for shard {} of {}", done_marker_path(part), done.shard.index,
                  done.shard.count);
    }
    if (!markers.empty() &&
        (done.inputs_sha256 != markers[0].inputs_sha256 || done.all_inputs != markers[0].all_inputs ||
         done.format != markers[0].format)) {
      throw Error(ErrorKind::data, "{}: made from another input list or format than {} ({} inputs, {} there)",
                  done_marker_path(part), done_marker_path(parts[0]), done.all_inputs, markers[0].all_inputs);
    }
    if (!markers.empty()) {
      if (const std::string differences =
              outputs::producer_differences(markers[0].producer, done.producer, "there", "here");
          !differences.empty()) {
        throw Error(ErrorKind::data, "{}: made by another model or other settings than {} ({}): merging would "
                    "mix their records; run that shard again like the others",
                    done_marker_path(part), done_marker_path(parts[0]), differences);
      }
    }
    if (done.files.empty()) {
      util::warn(fmt::format("{}: pins no files (a marker of an older zoo): the part is merged unverified",
                             done_marker_path(part)));
    }
    outputs::verify_pinned(done.files, outputs::split_name(part).folder, done_marker_path(part));
    parts.push_back(part);
    markers.push_back(done);
  }
  if (!missing.empty()) {
    throw Error(ErrorKind::data, "{} of {} shards of {} are not done: {} (run them, or run them again: a shard resumes)",
                missing.size(), count, output, util::join(missing, ", "));
  }
}

}  // namespace

MergeSummary merge_parts(const MergeOptions& options) {
  const int count = shard_count(options.output, options.shards);
  std::vector<std::string> parts;
  std::vector<ShardDone> markers;
  done_parts(options.output, count, parts, markers);

  MergeSummary summary;
  summary.shard = outputs::Shard{0, count};
  summary.format = markers[0].format;
  summary.inputs = markers[0].all_inputs;
  for (const auto& done : markers) {
    summary.ok += done.ok;
    summary.failed += done.failed;
  }
  const outputs::OutputFormat* format = outputs::find_output_format(summary.format);
  if (!format) throw Error(ErrorKind::data, "{}: unknown format \"{}\"", done_marker_path(parts[0]), summary.format);
  summary.unit = format->unit;
  outputs::Merged merged = format->merge({options.output, options.index, parts});
  summary.records = merged.records;
  summary.written = merged.written;

  if (options.remove_parts) {
    std::vector<std::string> files = std::move(merged.part_files);
    for (const auto& part : parts) {
      files.push_back(part);
      files.push_back(done_marker_path(part));
    }
    for (const auto& file : files) {
      std::error_code remove_ec;
      if (fs::remove(file, remove_ec)) summary.removed.push_back(file);
    }
  }
  return summary;
}

}  // namespace zoo::jobs
