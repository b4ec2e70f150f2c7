#include "media/input_pipeline.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <opencv2/core.hpp>

#include "util/timer.hpp"

namespace zoo::media {
using util::Clock;
using util::seconds_since;

namespace {

// The decode of an image whose patches are cut out: whole, at its own
// size and channels, as 8-bit pixels.
config::Preprocess original_preprocess(const config::Preprocess& pre) {
  config::Preprocess original;
  original.channels = pre.channels;
  return original;
}

DecodeLimits original_limits(DecodeLimits limits) {
  limits.reduced_decode = false;
  limits.keep_pixels = true;
  return limits;
}

}  // namespace

std::array<int, 4> patch_rectangle(const Patch& patch, int width, int height, const PatchShape& shape) {
  double w = patch.width * width, h = patch.height * height;
  const double cx = patch.x * width + w / 2, cy = patch.y * height + h / 2;
  if (shape.square) w = h = std::max(w, h);
  w *= 1 + shape.alpha;
  h *= 1 + shape.alpha;
  const int x1 = std::clamp(int(std::lround(cx - w / 2)), 0, width);
  const int y1 = std::clamp(int(std::lround(cy - h / 2)), 0, height);
  const int x2 = std::clamp(int(std::lround(cx + w / 2)), 0, width);
  const int y2 = std::clamp(int(std::lround(cy + h / 2)), 0, height);
  return {x1, y1, std::max(0, x2 - x1), std::max(0, y2 - y1)};
}

InputPipeline::InputPipeline(std::vector<std::string> paths, InputPipelineOptions options)
    : m_paths(std::move(paths)), m_options(std::move(options)) {
  // Parallelism comes from our workers; OpenCV's own threads would only
  // compete with them and with the model.
  cv::setNumThreads(1);
  // Before any worker starts: it sets an environment variable.
  quiet_video_decoder_logs();
  m_expected = m_paths.size();
  const int workers = std::max(1, m_options.workers);
  for (int i = 0; i < workers; ++i) m_workers.emplace_back([this] { work(); });
}

InputPipeline::~InputPipeline() {
  stop();
  for (auto& worker : m_workers) worker.join();
}

void InputPipeline::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopped = true;
  }
  m_space.notify_all();
  m_ready.notify_all();
}

void InputPipeline::work() {
  const size_t capacity = std::max<size_t>(1, m_options.capacity);
  for (;;) {
    size_t index;
    {
      std::unique_lock lock(m_mutex);
      m_space.wait(lock, [&] { return m_stopped || m_claimed >= m_paths.size() || m_buffered + m_active < capacity; });
      if (m_stopped || m_claimed >= m_paths.size()) return;
      index = m_claimed++;
      m_sources[index];
      ++m_active;
    }
    const std::string& path = m_paths[index];
    if (!m_options.loader && is_video_input(path)) {
      read_one_video(index, path);
      continue;
    }
    if (m_options.patches) {
      const auto start = Clock::now();
      const PatchList list = m_options.patches(path, 0);
      DecodedImage original;
      if (list.error.empty() && !list.patches.empty()) {
        try {
          original = load_image(path, original_preprocess(m_options.preprocess), original_limits(m_options.limits));
        } catch (const std::exception& e) {
          original.error = std::string("cannot load image: ") + e.what();
        }
      }
      push_patches(index, path, 0, original, list, seconds_since(start));
      push(index, std::nullopt, true);
      continue;
    }
    PipelineItem item;
    item.index = index;
    item.path = path;
    const auto start = Clock::now();
    try {
      item.image = m_options.loader ? m_options.loader(index, path)
                                    : load_image(path, m_options.preprocess, m_options.limits);
    } catch (const std::exception& e) {
      // load_image reports bad inputs itself; this is memory exhaustion or a
      // library bug, still only this input's failure.
      item.image = DecodedImage{};
      item.image.error = std::string("cannot load image: ") + e.what();
    }
    item.decode_seconds = seconds_since(start);
    push(index, std::move(item), true);
  }
}

void InputPipeline::read_one_video(size_t index, const std::string& path) {
  if (m_options.patches) {
    // Frame -1 asks whether the video has patches at all.
    const PatchList whole = m_options.patches(path, -1);
    if (!whole.error.empty()) {
      push_patches(index, path, 0, DecodedImage{}, whole, 0);
      push(index, std::nullopt, true);
      return;
    }
  }
  auto decode_start = Clock::now();
  VideoCallbacks callbacks;
  callbacks.opened = [&](int64_t frames, double fps) {
    const int64_t selected = selected_frame_count(frames, m_options.frames, fps);
    if (selected > 1) m_expected += size_t(selected - 1);  // the source already counts as one
  };
  callbacks.skip = [&](int64_t number) {
    if (!m_options.skip_frame || !m_options.skip_frame(path, number)) return false;
    ++m_skipped;
    return true;
  };
  callbacks.frame = [&](int64_t number, DecodedImage frame) {
    if (m_options.patches) {
      push_patches(index, path, number, frame, m_options.patches(path, number), seconds_since(decode_start));
      const bool go_on = wait_for_frame_space(index);
      decode_start = Clock::now();
      return go_on;
    }
    PipelineItem item;
    item.index = index;
    item.path = path;
    item.frame_number = number;
    item.image = std::move(frame);
    item.decode_seconds = seconds_since(decode_start);
    push(index, std::move(item), false);
    const bool go_on = wait_for_frame_space(index);
    decode_start = Clock::now();
    return go_on;
  };
  VideoResult result;
  try {
    result = m_options.patches
                 ? read_video(path, m_options.frames, original_preprocess(m_options.preprocess),
                              original_limits(m_options.limits), callbacks)
                 : read_video(path, m_options.frames, m_options.preprocess, m_options.limits, callbacks);
  } catch (const std::exception& e) {
    result.error = std::string("cannot read video: ") + e.what();
  }
  if (result.error.empty() || result.stopped) {
    push(index, std::nullopt, true);
    return;
  }
  PipelineItem failure;
  failure.index = index;
  failure.path = path;
  failure.image.error = result.error;
  push(index, std::move(failure), true);
}

void InputPipeline::push_patches(size_t index, const std::string& path, int64_t frame_number,
                                 const DecodedImage& original, const PatchList& list, double decode_seconds) {
  auto item_of = [&](int64_t detection) {
    PipelineItem item;
    item.index = index;
    item.path = path;
    item.frame_number = frame_number;
    item.detection = detection;
    return item;
  };
  const std::string& error = !list.error.empty() ? list.error : original.error;
  if (!error.empty()) {
    PipelineItem failure = item_of(-1);
    failure.image.error = error;
    failure.decode_seconds = decode_seconds;
    push(index, std::move(failure), false);
    return;
  }
  // The source counted as one item (a frame: as one of the video's).
  if (list.patches.empty()) {
    --m_expected;
    return;
  }
  m_expected += list.patches.size() - 1;
  const Pixels& pixels = original.pixels;
  const cv::Mat whole(pixels.height, pixels.width, CV_8UC(pixels.channels), const_cast<uint8_t*>(pixels.data.data()));
  for (const Patch& patch : list.patches) {
    const auto start = Clock::now();
    PipelineItem item = item_of(patch.detection);
    item.detection_label = patch.label;
    const auto [x, y, w, h] = patch_rectangle(patch, pixels.width, pixels.height, m_options.patch_shape);
    if (w == 0 || h == 0) {
      item.image.error = fmt::format("detection {}: its box [{:g}, {:g}, {:g}, {:g}] has no pixels in the {}x{} image",
                                     patch.detection, patch.x, patch.y, patch.width, patch.height, pixels.width,
                                     pixels.height);
    } else {
      cv::Mat crop = whole(cv::Rect(x, y, w, h)).clone();
      item.image = prepare_image(crop, m_options.preprocess, m_options.limits);
    }
    item.decode_seconds = seconds_since(start) + (&patch == &list.patches.front() ? decode_seconds : 0.0);
    push(index, std::move(item), false);
  }
}

bool InputPipeline::wait_for_frame_space(size_t index) {
  const size_t capacity = std::max<size_t>(1, m_options.capacity);
  std::unique_lock lock(m_mutex);
  m_space.wait(lock, [&] {
    if (m_stopped) return true;
    // The video being taken may always fill its own queue: the consumer
    // waits for it. A video further on waits for space so that it cannot
    // take the room the earlier inputs need.
    if (index == m_head) return m_sources[index].items.size() < capacity;
    return m_buffered + m_active <= capacity;
  });
  return !m_stopped;
}

void InputPipeline::push(size_t index, std::optional<PipelineItem> item, bool last) {
  {
    std::lock_guard lock(m_mutex);
    Source& source = m_sources[index];
    if (item) {
      source.items.push_back(std::move(*item));
      ++m_buffered;
    }
    if (last) {
      source.finished = true;
      --m_active;
    }
  }
  m_ready.notify_all();
  if (last) m_space.notify_all();
}

std::optional<PipelineItem> InputPipeline::next() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    if (m_stopped || m_head >= m_paths.size()) return std::nullopt;
    auto it = m_sources.find(m_head);
    if (it != m_sources.end()) {
      Source& source = it->second;
      if (!source.items.empty()) {
        PipelineItem item = std::move(source.items.front());
        source.items.pop_front();
        --m_buffered;
        lock.unlock();
        m_space.notify_all();
        return item;
      }
      if (source.finished) {
        m_sources.erase(it);
        ++m_head;
        m_space.notify_all();
        continue;
      }
    }
    m_ready.wait(lock);
  }
}

}  // namespace zoo::media
