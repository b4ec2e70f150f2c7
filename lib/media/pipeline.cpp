#include "media/pipeline.hpp"

#include <chrono>

#include <opencv2/core.hpp>

namespace zoo::media {

ImagePipeline::ImagePipeline(std::vector<std::string> paths, config::Preprocess pre, DecodeLimits limits,
                             int workers, size_t capacity, Loader loader)
    : m_paths(std::move(paths)),
      m_pre(pre),
      m_limits(limits),
      m_capacity(std::max<size_t>(1, capacity)),
      m_loader(std::move(loader)) {
  // Parallelism comes from our workers; OpenCV's own threads would only
  // compete with them and with Torch.
  cv::setNumThreads(1);
  for (int i = 0; i < std::max(1, workers); ++i) m_workers.emplace_back([this] { work(); });
}

ImagePipeline::~ImagePipeline() {
  stop();
  for (auto& worker : m_workers) worker.join();
}

void ImagePipeline::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopped = true;
  }
  m_space.notify_all();
  m_ready.notify_all();
}

void ImagePipeline::work() {
  for (;;) {
    size_t index;
    {
      std::unique_lock lock(m_mutex);
      m_space.wait(lock, [&] {
        return m_stopped || m_claimed >= m_paths.size() || m_claimed - m_taken < m_capacity;
      });
      if (m_stopped || m_claimed >= m_paths.size()) return;
      index = m_claimed++;
    }
    PipelineItem item;
    item.index = index;
    item.path = m_paths[index];
    const auto start = std::chrono::steady_clock::now();
    try {
      item.image = m_loader ? m_loader(index, item.path) : load_image(item.path, m_pre, m_limits);
    } catch (const std::exception& e) {
      // load_image reports bad inputs itself; this is memory exhaustion or a
      // library bug, still only this input's failure.
      item.image = DecodedImage{};
      item.image.error = std::string("cannot load image: ") + e.what();
    }
    item.decode_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    {
      std::lock_guard lock(m_mutex);
      m_done.emplace(index, std::move(item));
    }
    m_ready.notify_all();
  }
}

std::optional<PipelineItem> ImagePipeline::next() {
  std::unique_lock lock(m_mutex);
  if (m_taken >= m_paths.size()) return std::nullopt;
  m_ready.wait(lock, [&] { return m_stopped || m_done.count(m_taken) > 0; });
  if (m_stopped) return std::nullopt;
  auto node = m_done.extract(m_taken);
  ++m_taken;
  lock.unlock();
  m_space.notify_all();
  return std::move(node.mapped());
}

}  // namespace zoo::media
