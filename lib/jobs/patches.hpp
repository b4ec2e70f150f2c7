// zoo apply and zoo embed on patches (FiftyOne's patches views): another
// model's detections, read from its JSON Lines labels, name the regions
// of each input the model runs on instead of the whole image.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "media/input_pipeline.hpp"

namespace zoo::jobs {

// --patches and the options that go with it.
struct PatchOptions {
  std::string file;                 // JSON Lines of detections ("" = the model runs on whole images)
  std::string field;                // the records' Detections field ("" = their only one)
  std::vector<std::string> labels;  // only detections with one of these labels (empty = all)
  media::PatchShape shape;          // how a box becomes the pixels cut out

  explicit operator bool() const { return !file.empty(); }
  // What shapes the records, for the run record (--resume and zoo merge
  // refuse to mix two runs' records): the file's digest and the options.
  nlohmann::ordered_json settings() const;
};

// The detections of a --patches file by input.
class PatchTable {
 public:
  // Reads `options.file`: FiftyOne-style records, one JSON object per line,
  // {"filepath", "frame_number" (video frames), FIELD: {"_cls":
  // "Detections", "detections": [{"label", "bounding_box": [x, y, w, h]
  // relative}, ...]}}, as zoo apply writes them; records with "error" fail
  // their input. Throws zoo::Error(data) naming FILE:LINE for a line that
  // is not such a record, (usage) when the field is not given and the
  // records have none or several Detections fields, (io) when the file
  // cannot be read.
  explicit PatchTable(const PatchOptions& options);

  // The patches of image `path` (frame 0) or of a video frame, in the
  // order of the record's detections, those of other labels left out. An
  // input the file has no record for fails; so does a video (asked with
  // frame -1) with no frame records; a frame without a record has no
  // patches. Thread-safe.
  media::PatchList lookup(const std::string& path, int64_t frame_number) const;

  const std::string& field() const { return m_field; }
  size_t records() const { return m_records; }

 private:
  struct Entry {
    std::string error;
    std::vector<media::Patch> patches;
  };
  std::string m_file;
  std::string m_field;
  std::unordered_map<std::string, Entry> m_entries;  // by canonical path, "#FRAME" for frames
  std::unordered_set<std::string> m_videos;          // canonical paths with frame records
  size_t m_records = 0;
};

}  // namespace zoo::jobs
