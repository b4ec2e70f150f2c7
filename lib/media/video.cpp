#include "media/video.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>
#include <opencv2/videoio/registry.hpp>

#include "media/discover.hpp"
#include "util/files.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace zoo::media {
namespace {

bool starts_with_at(const std::string& bytes, size_t at, const char* text, size_t size) {
  return bytes.size() >= at + size && std::memcmp(bytes.data() + at, text, size) == 0;
}

// Why `path` cannot be a readable video, from the file system alone; ""
// when it may be one.
// Why the video cannot be read, before OpenCV opens it by name: anything
// but a regular file (a FIFO would block it), an empty or unreadable file.
std::string file_problem(const std::string& path) {
  std::string error;
  const int fd = util::open_regular_file(path, "a video file", error);
  if (fd < 0) return error;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size == 0) error = "empty file (0 bytes)";
  ::close(fd);
  return error;
}

}  // namespace

void quiet_video_decoder_logs() {
  // Read by OpenCV's FFmpeg backend when it first loads (AV_LOG_QUIET = -8).
  ::setenv("OPENCV_FFMPEG_LOGLEVEL", "-8", 0);
}

bool has_video_extension(const std::string& path) {
  static const std::set<std::string> extensions = {
      ".avi", ".mp4", ".m4v", ".mkv", ".mov", ".webm", ".mpg",  ".mpeg", ".mpe", ".ts",  ".mts",
      ".m2ts", ".flv", ".wmv", ".asf", ".ogv", ".3gp", ".3g2", ".mjpeg", ".mjpg", ".y4m"};
  return extensions.count(util::to_lower(fs::path(path).extension().string())) > 0;
}

bool has_video_signature(const std::string& b) {
  if (starts_with_at(b, 0, "RIFF", 4) && starts_with_at(b, 8, "AVI ", 4)) return true;
  if (starts_with_at(b, 4, "ftyp", 4)) {
    // HEIF/AVIF still images are ISO media files too.
    static const char* still[] = {"heic", "heix", "heim", "heis", "mif1", "msf1", "avif", "avis"};
    for (const char* brand : still) {
      if (starts_with_at(b, 8, brand, 4)) return false;
    }
    return true;
  }
  // Old QuickTime files start with their top-level atoms.
  if (starts_with_at(b, 4, "moov", 4) || starts_with_at(b, 4, "mdat", 4) || starts_with_at(b, 4, "wide", 4)) {
    return true;
  }
  if (starts_with_at(b, 0, "\x1a\x45\xdf\xa3", 4)) return true;          // Matroska, WebM
  if (starts_with_at(b, 0, "FLV\x01", 4)) return true;                   // Flash video
  if (starts_with_at(b, 0, "\x30\x26\xb2\x75\x8e\x66\xcf\x11", 8)) return true;  // ASF, WMV
  if (starts_with_at(b, 0, "OggS", 4)) return true;                      // Ogg (Theora)
  if (starts_with_at(b, 0, "\x00\x00\x01\xba", 4)) return true;          // MPEG program stream
  if (starts_with_at(b, 0, "\x00\x00\x01\xb3", 4)) return true;          // MPEG video elementary stream
  if (starts_with_at(b, 0, "YUV4MPEG2", 9)) return true;
  if (b.size() > 376 && b[0] == 0x47 && b[188] == 0x47 && b[376] == 0x47) return true;  // MPEG transport stream
  return false;
}

bool is_video_input(const std::string& path) {
  if (has_video_extension(path)) return true;
  if (has_image_extension(path)) return false;
  // Opened without blocking: a FIFO is not a video (and not read).
  std::string error;
  const int fd = util::open_regular_file(path, "a file", error);
  if (fd < 0) return false;
  std::string head(512, '\0');
  const ssize_t got = ::read(fd, head.data(), head.size());
  ::close(fd);
  head.resize(got > 0 ? size_t(got) : 0);
  return has_video_signature(head);
}

bool frame_selected(int64_t number, const FrameSelection& selection, double video_fps) {
  if (number < 1) return false;
  if (selection.fps > 0) {
    if (video_fps <= 0 || selection.fps >= video_fps) return true;
    // Frame n shows time (n-1)/video_fps; take the first frame at or after
    // each multiple of 1/fps.
    const auto slot = [&](int64_t n) {
      return static_cast<int64_t>(std::floor(double(n - 1) * selection.fps / video_fps + 1e-9));
    };
    return number == 1 || slot(number) != slot(number - 1);
  }
  const int64_t stride = std::max<int64_t>(1, selection.stride);
  return (number - 1) % stride == 0;
}

int64_t selected_frame_count(int64_t frames, const FrameSelection& selection, double video_fps) {
  if (frames <= 0) return 0;
  if (selection.fps > 0) {
    if (video_fps <= 0 || selection.fps >= video_fps) return frames;
    return static_cast<int64_t>(std::floor(double(frames - 1) * selection.fps / video_fps + 1e-9)) + 1;
  }
  const int64_t stride = std::max<int64_t>(1, selection.stride);
  return (frames + stride - 1) / stride;
}

VideoResult read_video(const std::string& path, const FrameSelection& selection, const config::Preprocess& pre,
                       const DecodeLimits& limits, const VideoCallbacks& callbacks) {
  VideoResult result;
  result.error = file_problem(path);
  if (!result.error.empty()) return result;

  try {
    cv::VideoCapture capture;
    // FFmpeg reads every common container; naming it keeps OpenCV from
    // trying other backends (GStreamer, image sequences) on a bad file.
    const int backend = cv::videoio_registry::hasBackend(cv::CAP_FFMPEG) ? cv::CAP_FFMPEG : cv::CAP_ANY;
    if (!capture.open(path, backend) || !capture.isOpened()) {
      result.error = "cannot open video: not a video file FFmpeg can read (or its header is cut off)";
      return result;
    }
    const double announced = capture.get(cv::CAP_PROP_FRAME_COUNT);
    result.frames_announced = std::isfinite(announced) && announced > 0 ? static_cast<int64_t>(std::llround(announced)) : 0;
    double fps = capture.get(cv::CAP_PROP_FPS);
    if (!std::isfinite(fps) || fps <= 0) fps = 0;
    const double width = capture.get(cv::CAP_PROP_FRAME_WIDTH);
    const double height = capture.get(cv::CAP_PROP_FRAME_HEIGHT);
    if (width * height > double(limits.max_pixels)) {
      result.error = fmt::format("video frames too large: {}x{} pixels (limit {}, see --max-pixels)", width, height,
                                 limits.max_pixels);
      return result;
    }
    if (callbacks.opened) callbacks.opened(result.frames_announced, fps);

    cv::Mat frame;
    for (int64_t number = 1;; ++number) {
      if (!capture.grab()) break;
      result.frames_read = number;
      if (!frame_selected(number, selection, fps)) continue;
      if (callbacks.skip && callbacks.skip(number)) continue;
      DecodedImage image;
      frame.release();  // prepare_image may have left a view into the last frame
      if (!capture.retrieve(frame) || frame.empty()) {
        image.error = "cannot decode frame";
      } else {
        image = prepare_image(frame, pre, limits);
      }
      if (!callbacks.frame(number, std::move(image))) {
        result.stopped = true;
        return result;
      }
    }
  } catch (const cv::Exception& e) {
    result.error = fmt::format("cannot decode video after frame {}: {}", result.frames_read, e.err);
    return result;
  }
  if (result.frames_read == 0) {
    result.error = "cannot decode any frame: corrupt or unsupported video";
  } else if (result.frames_read < result.frames_announced) {
    result.error = fmt::format("video ends after frame {} of the {} its header announces: truncated or corrupt",
                               result.frames_read, result.frames_announced);
  }
  return result;
}

}  // namespace zoo::media
