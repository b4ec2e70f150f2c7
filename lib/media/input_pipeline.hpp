// InputPipeline: the inputs of zoo apply and zoo embed — image files and
// videos — decoded and preprocessed on worker threads and handed out in
// input order: one item per image, one per selected frame of a video (in
// frame order), then one error item for a video that could not be read to
// its end. A video is read by one worker, frame by frame; other workers go
// on with the inputs after it. Memory is bounded: at most about twice
// `capacity` items (plus one per worker) are decoded and not yet taken,
// whatever the length of the videos.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/model_config.hpp"
#include "media/image.hpp"
#include "media/pipeline.hpp"
#include "media/video.hpp"

namespace zoo::media {

// A region of an image to run the model on instead of the whole image:
// another model's detection (FiftyOne's patches).
struct Patch {
  int64_t detection = 0;  // its index in the image's detections
  double x = 0;           // bounding box relative to the image: top-left corner and size
  double y = 0;
  double width = 0;
  double height = 0;
  std::string label;      // the detection's label, JSON text, carried to the output
};

// The patches of one image or frame, or why it has none to give.
struct PatchList {
  std::string error;             // set: the input fails with this
  std::vector<Patch> patches;    // none: the input gives no items
};

// How a patch's box becomes the pixels cut out (FiftyOne's
// extract_patch options).
struct PatchShape {
  double alpha = 0;     // grow (or shrink, when negative) the box's width and height by this fraction
  bool square = false;  // first widen the box's shorter side to its longer one (in pixels)
};

// The pixel rectangle of `patch` in a width x height image with `shape`,
// clipped to the image: x, y, width, height, rounded to whole pixels.
// Width or height 0 when nothing of it is inside.
std::array<int, 4> patch_rectangle(const Patch& patch, int width, int height, const PatchShape& shape);

struct InputPipelineOptions {
  config::Preprocess preprocess;
  DecodeLimits limits;
  FrameSelection frames;   // which frames of videos are taken
  int workers = 1;         // decode threads (>= 1)
  size_t capacity = 1;     // items decoded ahead of the consumer (>= 1)
  // Set: every input is an image, loaded by this (called on worker
  // threads: must be thread-safe; must not throw for bad inputs, but set
  // image.error) instead of load_image; videos are not recognised. zoo
  // train's augmentation. Empty: load_image, and videos frame by frame.
  std::function<DecodedImage(size_t index, const std::string& path)> loader;
  // Frames done by an earlier run (resume): true leaves frame `frame_number`
  // of the video `path` out. Called on worker threads: must be thread-safe.
  // May be empty.
  std::function<bool(const std::string& path, int64_t frame_number)> skip_frame;
  // Set: an image, or a selected frame of a video, is decoded whole and
  // becomes one item per patch this gives for it (path, frame number, 0 for
  // an image), cut out with `patch_shape` and then preprocessed; an error
  // item when it gives an error (without decoding the image). Before a
  // video is read it is asked with frame number -1: an error fails the
  // video unread. Called on worker threads: must be thread-safe. Not with
  // `loader`.
  std::function<PatchList(const std::string& path, int64_t frame_number)> patches;
  PatchShape patch_shape;
};

class InputPipeline {
 public:
  // Starts the workers over `paths` (videos are recognised by is_video_input).
  InputPipeline(std::vector<std::string> paths, InputPipelineOptions options);
  // Stops the workers and joins them.
  ~InputPipeline();

  InputPipeline(const InputPipeline&) = delete;
  InputPipeline& operator=(const InputPipeline&) = delete;

  // The next item in input order, blocking until it is ready; nullopt after
  // the last one or after stop(). PipelineItem::frame_number is the frame
  // (1-based) for a video frame, 0 for an image and for a video's error
  // item. Call from one thread only.
  std::optional<PipelineItem> next();

  // Makes workers stop; next() then returns nullopt.
  void stop();

  // The number of items the run is expected to give: one per image plus the
  // selected frames of the videos opened so far, as their headers announce
  // them (an estimate: it grows as workers open videos). Thread-safe.
  size_t expected_items() const { return m_expected.load(); }

  // Frames left out by skip_frame so far. Thread-safe.
  size_t skipped_frames() const { return m_skipped.load(); }

 private:
  struct Source {
    std::deque<PipelineItem> items;  // decoded, not yet taken
    bool finished = false;           // the worker has pushed its last item
  };

  void work();
  void read_one_video(size_t index, const std::string& path);
  // Pushes an item per patch of `original` (decoded whole, as 8-bit
  // pixels) for source `index`; counts them in the expected items.
  void push_patches(size_t index, const std::string& path, int64_t frame_number, const DecodedImage& original,
                    const PatchList& list, double decode_seconds);
  // Waits until a video worker of source `index` may decode one more frame;
  // false when stopped.
  bool wait_for_frame_space(size_t index);
  // Queues `item` (if any) for source `index`; `last` ends the source.
  void push(size_t index, std::optional<PipelineItem> item, bool last);

  const std::vector<std::string> m_paths;
  const InputPipelineOptions m_options;

  std::mutex m_mutex;
  std::condition_variable m_ready;  // an item was pushed, or stop
  std::condition_variable m_space;  // an item was taken, the head moved on, or stop
  size_t m_claimed = 0;             // sources handed to workers
  size_t m_head = 0;                // the source next() takes from
  size_t m_buffered = 0;            // items in the queues
  size_t m_active = 0;              // sources claimed and not finished
  bool m_stopped = false;
  std::map<size_t, Source> m_sources;  // claimed and not wholly taken
  std::atomic<size_t> m_expected{0};
  std::atomic<size_t> m_skipped{0};
  std::vector<std::thread> m_workers;
};

}  // namespace zoo::media
