// ImagePipeline: decodes and preprocesses a list of images on worker
// threads and hands them out in input order. At most `capacity` images are
// in flight (claimed by a worker or waiting to be taken), so memory does not
// grow with the number of inputs.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/model_config.hpp"
#include "media/image.hpp"

namespace zoo::media {

struct PipelineItem {
  size_t index = 0;        // position in the input list
  std::string path;
  int64_t frame_number = 0;  // a video frame: its number, 1-based; 0 for an image (see InputPipeline)
  DecodedImage image;      // image.error set when the input failed
  double decode_seconds = 0;  // worker time spent on this item
};

class ImagePipeline {
 public:
  // Loads item `index` (its path given); called on worker threads, so it
  // must be thread-safe. Must not throw for bad inputs (set image.error).
  using Loader = std::function<DecodedImage(size_t index, const std::string& path)>;

  // Starts `workers` threads (>= 1) over `paths`. `capacity` >= 1. Without
  // a loader, items are load_image(path, pre, limits).
  ImagePipeline(std::vector<std::string> paths, config::Preprocess pre, DecodeLimits limits, int workers,
                size_t capacity, Loader loader = {});
  // Stops the workers and joins them.
  ~ImagePipeline();

  ImagePipeline(const ImagePipeline&) = delete;
  ImagePipeline& operator=(const ImagePipeline&) = delete;

  // The next item in input order, blocking until it is ready; nullopt after
  // the last one or after stop(). Call from one thread only.
  std::optional<PipelineItem> next();

  // Makes workers stop claiming new items; next() then returns nullopt.
  void stop();

  size_t size() const { return m_paths.size(); }

 private:
  void work();

  const std::vector<std::string> m_paths;
  const config::Preprocess m_pre;
  const DecodeLimits m_limits;
  const size_t m_capacity;
  const Loader m_loader;

  std::mutex m_mutex;
  std::condition_variable m_ready;  // an item was finished
  std::condition_variable m_space;  // an item was taken, or stop
  size_t m_claimed = 0;             // items handed to workers
  size_t m_taken = 0;               // items returned by next()
  bool m_stopped = false;
  std::map<size_t, PipelineItem> m_done;
  std::vector<std::thread> m_workers;
};

}  // namespace zoo::media
