// zoo draw: each image (or video) of a labels file written again with its
// labels on it, as Ultralytics saves its predictions: boxes with class and
// confidence, instance masks as translucent fills, keypoints with the COCO
// skeleton, semantic masks as a colour overlay with a legend, and
// classifications and regressions as captions. Colours are fixed per class
// name (the same class is the same colour in every image and run); text
// scales with the image. Images are decoded with their EXIF orientation
// applied, as zoo apply's coordinates are. Reads any FiftyOne-style JSON
// Lines of zoo apply's schema.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/label_lines.hpp"
#include "util/progress.hpp"

namespace cv {
class Mat;
}

namespace zoo::draw {

// A class's colour, as B, G, R: a hue from the name's FNV-1a hash, full
// saturation, bright; the same name always gives the same colour.
std::array<uint8_t, 3> class_color(const std::string& label);

// The folder a labels file's relative mask_path values are read from: the
// file's own folder ("." for a file in the current one).
std::string labels_folder(const std::string& labels);

// Draws every label of `record` (each field holding an object with "_cls":
// predictions, predictions_detections, ...; a patch record's prediction
// beside its patch) on `image` (BGR, the oriented image the record's
// coordinates are relative to). Masks given as mask_path are read relative
// to `labels_dir`. Throws zoo::Error(data) naming `where` for a label it
// cannot read.
void draw_record(cv::Mat& image, const nlohmann::json& record, const std::string& labels_dir, const std::string& where);

struct DrawOptions {
  std::string labels;               // the JSON Lines file
  std::vector<std::string> inputs;  // only these files or folders ("" = every record's file)
  std::string out_dir;
  std::string image_format = "keep";  // keep (the input's: .jpg, .png, ...; else .png), png or jpg
  util::ProgressMode progress = util::ProgressMode::automatic;
};

struct DrawSummary {
  size_t images = 0;        // images written
  size_t videos = 0;        // videos written
  size_t frames = 0;        // video frames written (labelled or copied)
  size_t error_records = 0; // records that are errors (nothing to draw)
  std::vector<std::string> failed;  // "PATH: reason" for inputs that could not be drawn
};

// The folder a drawing's path is taken relative to: the one `inputs`
// share (a folder stands for itself, a file for its parent), absolute;
// the current directory joins them when the inputs are also listed in a
// file (`listed`, zoo apply --files-from), and stands alone when there
// are none.
std::string input_root(const std::vector<std::string>& inputs, bool listed = false);

// Where and how a Drawer writes.
struct DrawTarget {
  std::string out_dir;
  std::string root;                   // each drawing at its input's path relative to this (input_root)
  std::string labels_dir = ".";       // the folder mask_path values are relative to
  std::string image_format = "keep";  // as DrawOptions
};

// Draws records as they come, in the labels' order: the records of one
// file next to each other, a video's frames in increasing order (what zoo
// apply writes). A file is drawn when a record of another file arrives,
// or at end_file(); a video is written frame by frame as its labelled
// frames arrive, the frames between them copied through. Every file
// appears whole or not at all: images are written atomically, a video in
// progress is a hidden ".NAME.part.avi" moved into place when it ends.
// Inputs that cannot be drawn (unreadable, a bad label) are counted in
// summary().failed and their other records passed over; a file that
// cannot be written throws zoo::Error(io). Not thread-safe.
class Drawer {
 public:
  explicit Drawer(DrawTarget target);
  ~Drawer();  // abandon()
  Drawer(const Drawer&) = delete;
  Drawer& operator=(const Drawer&) = delete;

  // One record; an error record is only counted.
  void add(const eval::LabelLine<nlohmann::json>& line);

  // Draws the file in progress whole: the image, or the rest of the video
  // (its remaining frames copied through).
  void end_file();

  // Drops the file in progress undrawn (a run stopped before all its
  // records were written): a video's part file is removed.
  void abandon();

  // While set, a file whose drawing already exists is left as it is and
  // its records passed over (the records an earlier run wrote, read back
  // on resume).
  void keep_drawn(bool keep) { m_keep_drawn = keep; }

  const DrawSummary& summary() const { return m_summary; }

 private:
  struct Video;
  void start(const std::string& path, bool video);
  void write_pending_frame();
  void fail(const std::string& reason);

  DrawTarget m_target;
  DrawSummary m_summary;
  bool m_keep_drawn = false;
  std::string m_path;  // the file in progress ("" = none)
  bool m_video = false;
  bool m_pass = false;  // its records are passed over: drawn before, or failed
  std::string m_out;
  int64_t m_frame = 0;  // a video's pending frame (0 = none)
  std::vector<std::pair<std::string, nlohmann::json>> m_records;  // where, record: the image's or the pending frame's
  std::unique_ptr<Video> m_writing;
};

// Draws every image and video of the labels into out_dir, each at its path
// relative to input_root(inputs) when inputs are given, else to the folder
// all the labelled files share (images keep their format unless
// image_format says; videos become Motion-JPEG .avi files, every frame
// copied through and the labelled ones drawn). The records of a file are
// drawn together wherever they are in the labels. Each file is written
// whole or not at all.
DrawSummary draw_labels(const DrawOptions& options);

}  // namespace zoo::draw
