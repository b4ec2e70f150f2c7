#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "media/input_pipeline.hpp"
#include "media/video.hpp"
#include "test_support.hpp"

using namespace zoo::media;
using zoo::config::Preprocess;
using zoo::config::Size;
using zoo::test::read_bytes;
using zoo::test::TempDir;
using zoo::test::write_bytes;
using zoo::test::write_file;

namespace {

const std::string k_data_dir = "/usr/share/doc/opencv-doc/examples/data";
const std::string k_megamind = k_data_dir + "/Megamind.avi";  // 720x528, 270 frames, 23.976 fps
const std::string k_vtest = k_data_dir + "/vtest.avi";        // 768x576, 795 frames, 10 fps
const std::string k_baboon = k_data_dir + "/baboon.jpg";

Preprocess small() {
  Preprocess p;
  p.image_size = Size{32, 24};
  return p;
}

// Reads `path` with `selection`, returning the frame numbers handed out
// (and the result).
std::vector<int64_t> frames_of(const std::string& path, const FrameSelection& selection, VideoResult& result,
                               const std::function<bool(int64_t)>& skip = {}, int64_t stop_after = -1) {
  std::vector<int64_t> numbers;
  VideoCallbacks callbacks;
  callbacks.skip = skip;
  callbacks.frame = [&](int64_t number, DecodedImage frame) {
    INFO(path, " frame ", number, ": ", frame.error);
    CHECK(frame.error.empty());
    CHECK(frame.input.width == 32);
    CHECK(frame.input.height == 24);
    numbers.push_back(number);
    return stop_after < 0 || int64_t(numbers.size()) < stop_after;
  };
  result = read_video(path, selection, small(), DecodeLimits{}, callbacks);
  return numbers;
}

std::vector<int64_t> range(int64_t first, int64_t last, int64_t step) {
  std::vector<int64_t> out;
  for (int64_t n = first; n <= last; n += step) out.push_back(n);
  return out;
}

}  // namespace

TEST_SUITE("media::video") {
  TEST_CASE("--frame-stride takes frames 1, 1+N, 1+2N and the count matches") {
    quiet_video_decoder_logs();  // the truncated videos below would fill the test log
    FrameSelection every;
    CHECK(frame_selected(1, every, 25));
    CHECK(frame_selected(2, every, 25));
    CHECK_FALSE(frame_selected(0, every, 25));
    FrameSelection third;
    third.stride = 3;
    std::vector<int64_t> taken;
    for (int64_t n = 1; n <= 10; ++n) {
      if (frame_selected(n, third, 25)) taken.push_back(n);
    }
    CHECK(taken == std::vector<int64_t>{1, 4, 7, 10});
    CHECK(selected_frame_count(10, third, 25) == 4);
    CHECK(selected_frame_count(9, third, 25) == 3);
    CHECK(selected_frame_count(0, third, 25) == 0);
  }

  TEST_CASE("--fps takes the first frame at or after every 1/fps seconds") {
    FrameSelection one;
    one.fps = 1;
    std::vector<int64_t> taken;
    for (int64_t n = 1; n <= 31; ++n) {
      if (frame_selected(n, one, 10)) taken.push_back(n);  // 10 fps: t = (n-1)/10
    }
    CHECK(taken == std::vector<int64_t>{1, 11, 21, 31});
    CHECK(selected_frame_count(31, one, 10) == 4);
    taken.clear();
    for (int64_t n = 1; n <= 60; ++n) {
      if (frame_selected(n, one, 24000.0 / 1001)) taken.push_back(n);
    }
    CHECK(taken == std::vector<int64_t>{1, 25, 49});  // 23.976 fps: frame 25 shows t = 1.001 s
    // At or above the video's rate, and when the rate is unknown: every frame.
    one.fps = 30;
    CHECK(frame_selected(2, one, 25));
    CHECK(selected_frame_count(100, one, 25) == 100);
    one.fps = 2;
    CHECK(frame_selected(2, one, 0));
    // Brute force agrees with the count for odd rates.
    for (double video_fps : {7.0, 23.976, 29.97, 59.94}) {
      for (double fps : {0.3, 1.0, 2.5, 6.9}) {
        FrameSelection s;
        s.fps = fps;
        int64_t count = 0;
        for (int64_t n = 1; n <= 1000; ++n) count += frame_selected(n, s, video_fps);
        CAPTURE(video_fps);
        CAPTURE(fps);
        CHECK(count == selected_frame_count(1000, s, video_fps));
      }
    }
  }

  TEST_CASE("videos are recognised by extension or by their first bytes, and HEIF/AVIF stills are not videos") {
    CHECK(has_video_extension("a/clip.MP4"));
    CHECK(has_video_extension("x.webm"));
    CHECK_FALSE(has_video_extension("x.jpg"));
    CHECK(has_video_signature(std::string("RIFF\x10\0\0\0AVI LIST", 16)));
    CHECK(has_video_signature(std::string("\0\0\0\x1c" "ftypisom", 12)));
    CHECK(has_video_signature(std::string("\x1a\x45\xdf\xa3\x9f\x42\x86\x81", 8)));
    CHECK_FALSE(has_video_signature(std::string("\0\0\0\x1c" "ftypheic", 12)));
    CHECK_FALSE(has_video_signature(std::string("\0\0\0\x1c" "ftypavif", 12)));
    CHECK_FALSE(has_video_signature(std::string("\xff\xd8\xff\xe0", 4)));
    CHECK_FALSE(has_video_signature("RIFF\x10\0\0\0WEBPVP8 "));

    TempDir dir("video-detect");
    write_bytes(dir / "clip", read_bytes(k_megamind));
    CHECK(is_video_input((dir / "clip").string()));
    write_file(dir / "notes", "plain text");
    CHECK_FALSE(is_video_input((dir / "notes").string()));
    CHECK_FALSE(is_video_input(k_baboon));
    CHECK(is_video_input((dir / "missing.avi").string()));  // read as a video: its error says why
  }

  TEST_CASE("a real video gives its selected frames in order, preprocessed, and no error") {
    FrameSelection s;
    s.stride = 100;
    VideoResult result;
    const auto numbers = frames_of(k_megamind, s, result);
    CHECK(numbers == std::vector<int64_t>{1, 101, 201});
    CHECK(result.error == "");
    CHECK(result.frames_read == 270);
    CHECK(result.frames_announced == 270);

    // The frame size is the original one.
    VideoCallbacks callbacks;
    int width = 0, height = 0;
    double rate = 0;
    callbacks.opened = [&](int64_t, double fps) { rate = fps; };
    callbacks.frame = [&](int64_t, DecodedImage frame) {
      width = frame.width;
      height = frame.height;
      return false;
    };
    const VideoResult first = read_video(k_megamind, {}, small(), DecodeLimits{}, callbacks);
    CHECK(first.stopped);
    CHECK(first.error == "");
    CHECK(width == 720);
    CHECK(height == 528);
    CHECK(rate == doctest::Approx(23.976).epsilon(0.001));
  }

  TEST_CASE("skipped frames are not handed out, and a stop ends the reading at once") {
    FrameSelection s;
    s.stride = 50;
    VideoResult result;
    const auto numbers = frames_of(k_megamind, s, result, [](int64_t n) { return n <= 101; });
    CHECK(numbers == std::vector<int64_t>{151, 201, 251});
    CHECK(result.error == "");
    const auto two = frames_of(k_megamind, s, result, {}, 2);
    CHECK(two == std::vector<int64_t>{1, 51});
    CHECK(result.stopped);
    CHECK(result.frames_read == 51);
  }

  TEST_CASE("a truncated video gives the frames before the cut, then an error") {
    TempDir dir("video-truncated");
    auto bytes = read_bytes(k_vtest);
    bytes.resize(1500000);
    const std::string path = (dir / "cut.avi").string();
    write_bytes(path, bytes);
    FrameSelection s;
    s.stride = 10;
    VideoResult result;
    const auto numbers = frames_of(path, s, result);
    INFO(result.error);
    REQUIRE(numbers.size() > 5);
    CHECK(numbers == range(1, numbers.back(), 10));
    CHECK(result.frames_read < 795);
    CHECK(zoo::test::contains(result.error, "truncated"));
    CHECK(zoo::test::contains(result.error, "of the 795"));
  }

  TEST_CASE("missing, empty, folder and non-video files give an error and no frame") {
    TempDir dir("video-bad");
    write_file(dir / "empty.mp4", "");
    write_file(dir / "text.avi", "this is not a video\n");
    std::filesystem::create_directories(dir / "folder.mkv");
    const std::vector<std::pair<std::string, std::string>> cases = {
        {(dir / "missing.avi").string(), "no such file"},
        {(dir / "empty.mp4").string(), "empty file"},
        {(dir / "folder.mkv").string(), "is a directory"},
        {(dir / "text.avi").string(), "cannot open video"},
    };
    for (const auto& [path, why] : cases) {
      VideoResult result;
      const auto numbers = frames_of(path, {}, result);
      CAPTURE(path);
      CAPTURE(result.error);
      CHECK(numbers.empty());
      CHECK(zoo::test::contains(result.error, why));
    }
  }
}

TEST_SUITE("media::InputPipeline") {
  TEST_CASE("images and video frames come out in input order, whatever the workers and a capacity of one") {
    TempDir dir("pipeline-mixed");
    auto bytes = read_bytes(k_vtest);
    bytes.resize(1500000);
    const std::string cut = (dir / "cut.avi").string();
    write_bytes(cut, bytes);
    const std::vector<std::string> paths = {k_megamind, k_baboon, cut, k_baboon, k_megamind, (dir / "gone.jpg").string()};
    for (int workers : {1, 3}) {
      for (size_t capacity : {size_t(1), size_t(4)}) {
        CAPTURE(workers);
        CAPTURE(capacity);
        InputPipelineOptions options;
        options.preprocess = small();
        options.frames.stride = 60;
        options.workers = workers;
        options.capacity = capacity;
        // Resume: the first video's frames up to 61 are done.
        options.skip_frame = [&](const std::string& path, int64_t n) { return path == k_megamind && n <= 61; };
        InputPipeline pipeline(paths, options);
        std::vector<std::string> got;
        while (auto item = pipeline.next()) {
          const std::string file = std::filesystem::path(item->path).filename().string();
          got.push_back(fmt::format("{}{}{}", file, item->frame_number > 0 ? fmt::format("#{}", item->frame_number) : "",
                                    item->image.error.empty() ? "" : " error"));
        }
        std::vector<std::string> want = {"Megamind.avi#121", "Megamind.avi#181", "Megamind.avi#241", "baboon.jpg"};
        size_t cut_frames = 0;
        for (const auto& name : got) cut_frames += name.rfind("cut.avi#", 0) == 0;
        for (size_t k = 0; k < cut_frames; ++k) want.push_back(fmt::format("cut.avi#{}", 1 + 60 * k));
        want.insert(want.end(), {"cut.avi error", "baboon.jpg", "Megamind.avi#121", "Megamind.avi#181",
                                 "Megamind.avi#241", "gone.jpg error"});
        CHECK(cut_frames >= 3);
        CHECK(got == want);
        CHECK(pipeline.skipped_frames() == 4);  // frames 1 and 61 of both copies of Megamind.avi
      }
    }
  }

  TEST_CASE("stop() ends a pipeline in the middle of a long video") {
    InputPipelineOptions options;
    options.preprocess = small();
    options.workers = 2;
    options.capacity = 2;
    InputPipeline pipeline({k_vtest, k_vtest}, options);
    for (int i = 0; i < 5; ++i) REQUIRE(pipeline.next().has_value());
    pipeline.stop();
    CHECK_FALSE(pipeline.next().has_value());
  }
}
