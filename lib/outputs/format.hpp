// The output formats of the batch jobs, one entry each in one table
// (format.cpp): what `zoo apply --format` accepts, what a shard's done
// marker records, and how `zoo merge` joins a sharded job's parts. Each
// format is one file in this folder owning its writer (open, resume, write,
// finish) and its merge:
//   jsonl_labels.cpp  FiftyOne-style label records, one JSON object per line
//   csv_labels.cpp    classifier labels as RFC 4180 CSV
//   coco_labels.cpp   detections as one COCO dataset document, written at the end
//   coco_results.cpp  detections as pycocotools' results list, with a truth's ids
//   npy_embeddings.*  zoo embed's rows, with their index and error log
// To add a format: a new file here with its entry, and one line in
// output_formats().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "media/pipeline.hpp"

namespace zoo::outputs {

class Labeler;

// What a writer found of an earlier run when resuming.
struct Resumed {
  // io::record_key of every input and video frame already done, once per
  // record (a list naming a file twice has it done twice)
  std::unordered_multiset<std::string> done;
  size_t failed = 0;                     // how many of them failed
  std::string held;                      // what the output holds, for the log ("12 records in labels.jsonl")
};

// Writes a job's results, batch by batch. Not thread-safe.
class Writer {
 public:
  virtual ~Writer() = default;

  // The files open() writes ("-" is stdout), for checks made before it;
  // the first is the output a run locks (and may create, empty, first).
  virtual std::vector<std::string> files() const = 0;

  // Called once, before write(). With `resume`, keeps what an earlier run
  // wrote (a torn last line or row cut off, with a warning) and says what is
  // done; otherwise starts the output afresh and nothing is done. Throws
  // zoo::Error(io) for files that cannot be read or written, (usage) for an
  // output another model or setting wrote.
  virtual Resumed open(bool resume) = 0;

  // Writes one batch and flushes it: rows[i] for the items with an empty
  // errors[i], an error record for the others. May fail an item by setting
  // errors[i]. Throws zoo::Error to end the run.
  virtual void write(const std::vector<media::PipelineItem>& batch, const std::vector<std::vector<float>>& rows,
                     std::vector<std::string>& errors) = 0;

  // Called once when the loop has ended, interrupted or not: writes what is
  // written whole (the COCO document).
  virtual void finish() {}
};

// zoo merge's request to a format: join `parts` (shard 0 first, every one
// done) into `output`, replacing it whole.
struct MergeRequest {
  std::string output;
  std::string index;               // zoo embed: the --index the shards were given ("" = beside the output)
  std::vector<std::string> parts;  // NAME.part-K-of-N.EXT, K = 0 .. N-1
};

struct Merged {
  uint64_t records = 0;                 // what the output holds, in the format's unit
  std::vector<std::string> written;     // the files written
  std::vector<std::string> part_files;  // the parts' own side files (index, error log), for --remove-parts
};

struct OutputFormat {
  std::string_view name;  // the --format value; what a done marker records
  std::string_view unit;  // what merge counts: "records", "rows", "images"
  bool resumable;         // false: written whole at the end (no --resume; a retried shard starts over)
  // zoo apply formats: checks the model and settings fit (zoo::Error(usage)
  // naming the option) and opens a writer of `labeler`'s labels to `path`
  // ("-" = stdout). Null for formats of other jobs.
  void (*check)(const Labeler& labeler);
  std::unique_ptr<Writer> (*open_labels)(const std::string& path, const Labeler& labeler);
  // Joins a sharded job's parts. Throws zoo::Error(data) for a part that is
  // cut off or does not fit the others, (io) for files that cannot be read
  // or written.
  Merged (*merge)(const MergeRequest& request);
};

// The entries, one per file of this folder.
const OutputFormat& jsonl_labels_format();
const OutputFormat& csv_labels_format();
const OutputFormat& coco_labels_format();
const OutputFormat& coco_results_format();
const OutputFormat& npy_embeddings_format();

// Every format.
const std::vector<const OutputFormat*>& output_formats();

// The format named `name`, or nullptr.
const OutputFormat* find_output_format(std::string_view name);

// The names of the formats zoo apply writes, or of those it can resume
// (`resumable`), in table order.
std::vector<std::string> label_formats(bool resumable = false);

// The same for messages: "jsonl, csv, coco-results or coco-dataset".
std::string label_format_names(bool resumable = false);

// For the formats written whole when the run ends (the COCO ones):
// `text` and a newline to `path` atomically (util::write_file_atomic), or
// to stdout for "-". Throws zoo::Error(io) when it cannot be written.
void write_document(const std::string& path, const std::string& text);

// A part of such a format, parsed. Throws zoo::Error(data) "PART: not
// WHAT: ..." for a part that is not JSON.
nlohmann::ordered_json read_document(const std::string& part, std::string_view what);

// Writes the merged document `text` (and a newline) whole to
// request.output; `records` is what it holds.
Merged write_merged_document(const MergeRequest& request, const std::string& text, uint64_t records);

// Says on stderr that `bytes` bytes of a torn last line or row were cut
// off `path`, when there were any.
void warn_torn(const std::string& path, size_t bytes);

}  // namespace zoo::outputs
