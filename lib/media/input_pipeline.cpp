#include "media/input_pipeline.hpp"

#include <opencv2/core.hpp>

#include "util/timer.hpp"

namespace zoo::media {
using util::Clock;
using util::seconds_since;

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
    result = read_video(path, m_options.frames, m_options.preprocess, m_options.limits, callbacks);
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
