// Video inputs: recognising video files, choosing frames (--frame-stride,
// --fps) and decoding them one by one with OpenCV's VideoCapture (FFmpeg),
// so a video is never held in memory whole. Runs on worker threads.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "media/image.hpp"

namespace zoo::media {

// True for the file extensions zoo treats as videos (case-insensitive):
// avi, mp4, m4v, mkv, mov, webm, mpg, mpeg, mpe, ts, mts, m2ts, flv, wmv,
// asf, ogv, 3gp, 3g2, mjpeg, mjpg, y4m.
bool has_video_extension(const std::string& path);

// True when the first bytes of `bytes` are the signature of a video
// container: RIFF/AVI, ISO media (ftyp: mp4, mov, 3gp), Matroska/WebM,
// FLV, ASF/WMV, Ogg, MPEG program stream, YUV4MPEG2.
bool has_video_signature(const std::string& bytes);

// Whether the input `path` is read as a video: a video extension, or no
// image extension and a video signature in the file's first bytes. A path
// that cannot be read is not a video (it becomes an image error record).
bool is_video_input(const std::string& path);

// Silences FFmpeg's own messages (every damaged macroblock of a corrupt
// video) unless OPENCV_FFMPEG_LOGLEVEL is set: the run reports a bad video
// once, in its error record. Sets an environment variable, so call it on
// the main thread before any thread reads a video or the environment.
void quiet_video_decoder_logs();

// Which frames of a video are taken. Frame numbers are 1-based, as in
// FiftyOne.
struct FrameSelection {
  int64_t stride = 1;  // every Nth frame: 1, 1+N, 1+2N, ...
  double fps = 0;      // > 0: instead of the stride, the first frame at or after every 1/fps seconds
                       // (every frame when the video's own rate is not higher)
};

// Whether frame `number` (1-based) is taken, for a video of `video_fps`
// frames per second (<= 0 when unknown: then every frame is taken for an
// fps selection).
bool frame_selected(int64_t number, const FrameSelection& selection, double video_fps);

// What read_video calls while it reads a video. Called on the reading
// thread.
struct VideoCallbacks {
  // Once, when the video is open: the container's frame count (0 when
  // unknown) and frame rate (0 when unknown). May be empty.
  std::function<void(int64_t frames, double fps)> opened;
  // Frames to leave out (done by an earlier run): true skips frame
  // `frame_number`, which is then grabbed but not decoded to pixels or
  // preprocessed. May be empty.
  std::function<bool(int64_t frame_number)> skip;
  // Each selected frame that is not skipped, preprocessed. Returns false to
  // stop reading (the run stops).
  std::function<bool(int64_t frame_number, DecodedImage frame)> frame;
};

struct VideoResult {
  std::string error;             // why the video could not be read to its end; "" when it could
  int64_t frames_read = 0;       // frames decoded from the start (selected or not)
  int64_t frames_announced = 0;  // the container's frame count (0 when unknown)
  bool stopped = false;          // `frame` asked to stop
};

// Decodes `path` in order; hands every selected, not skipped frame,
// preprocessed with `pre` and `limits`, to `callbacks.frame` before
// decoding on (so at most one decoded frame is held here). A video that
// cannot be opened, or that ends before the frame count its container
// announces (truncated or corrupt), gives `error`; the frames decoded before
// have been handed out. Never throws for bad files.
VideoResult read_video(const std::string& path, const FrameSelection& selection, const config::Preprocess& pre,
                       const DecodeLimits& limits, const VideoCallbacks& callbacks);

// The number of frames `selection` takes from a video of `frames` frames at
// `video_fps` (for progress totals).
int64_t selected_frame_count(int64_t frames, const FrameSelection& selection, double video_fps);

}  // namespace zoo::media
