// InputPipeline: the inputs of zoo apply and zoo embed — image files and
// videos — decoded and preprocessed on worker threads and handed out in
// input order: one item per image, one per selected frame of a video (in
// frame order), then one error item for a video that could not be read to
// its end. A video is read by one worker, frame by frame; other workers go
// on with the inputs after it. Memory is bounded: at most about twice
// `capacity` items (plus one per worker) are decoded and not yet taken,
// whatever the length of the videos.
#pragma once

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
