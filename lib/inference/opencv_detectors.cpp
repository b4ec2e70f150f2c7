#include "inference/opencv_detectors.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <functional>
#include <thread>

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "inference/detector.hpp"
#include "models/model.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace zoo::inference {
namespace {

const char* const k_hog = "opencv_hog_people";
const char* const k_haar = "opencv_haar_cascade";

// Where Debian's opencv-data (and a source build of OpenCV) put the cascades.
const std::vector<std::string> k_cascade_folders = {"/usr/share/opencv4/haarcascades",
                                                    "/usr/local/share/opencv4/haarcascades",
                                                    "/usr/share/opencv/haarcascades"};

double logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Reads entrypoint_args, naming the config file and the key in errors.
class Args {
 public:
  Args(const config::ModelConfig& config, std::vector<std::string> known)
      : m_config(config), m_args(config.entrypoint_args) {
    if (m_args.is_null()) m_args = nlohmann::json::object();
    for (const auto& [key, value] : m_args.items()) {
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        throw Error(ErrorKind::config, "{}: entrypoint_args: unknown argument \"{}\" for {}{}; it takes: {}",
                    m_config.source, key, m_config.entrypoint, util::did_you_mean(key, known), util::join(known, ", "));
      }
    }
  }

  bool has(const std::string& key) const { return m_args.contains(key) && !m_args[key].is_null(); }

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw Error(ErrorKind::config, "{}: entrypoint_args.{}: {}", m_config.source, key, what);
  }

  double number(const std::string& key, double fallback) const {
    if (!has(key)) return fallback;
    if (!m_args[key].is_number()) fail(key, fmt::format("expected a number, got {}", m_args[key].dump()));
    return m_args[key].get<double>();
  }

  int integer(const std::string& key, int fallback, int minimum) const {
    if (!has(key)) return fallback;
    if (!m_args[key].is_number_integer()) fail(key, fmt::format("expected a whole number, got {}", m_args[key].dump()));
    const auto value = m_args[key].get<int64_t>();
    if (value < minimum || value > 1000000) fail(key, fmt::format("expected a whole number >= {}", minimum));
    return int(value);
  }

  bool boolean(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!m_args[key].is_boolean()) fail(key, fmt::format("expected true or false, got {}", m_args[key].dump()));
    return m_args[key].get<bool>();
  }

  // [width, height] or one number for a square.
  cv::Size size(const std::string& key, cv::Size fallback) const {
    if (!has(key)) return fallback;
    const auto& value = m_args[key];
    auto side = [&](const nlohmann::json& v) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 100000) {
        fail(key, fmt::format("expected [width, height] in pixels or one number, got {}", value.dump()));
      }
      return int(v.get<int64_t>());
    };
    if (value.is_array()) {
      if (value.size() != 2) fail(key, fmt::format("expected [width, height], got {}", value.dump()));
      return {side(value[0]), side(value[1])};
    }
    const int n = side(value);
    return {n, n};
  }

  std::string string(const std::string& key) const {
    if (!has(key)) return "";
    if (!m_args[key].is_string()) fail(key, fmt::format("expected a file path, got {}", m_args[key].dump()));
    return m_args[key].get<std::string>();
  }

 private:
  const config::ModelConfig& m_config;
  nlohmann::json m_args;
};

// One detector instance per thread: OpenCV's cascade classifier keeps
// per-call state, so instances are not shared.
class Instance {
 public:
  virtual ~Instance() = default;
  // Appends the raw detections of `image` (8-bit, BGR or gray) to `row`.
  virtual void detect(const cv::Mat& image, std::vector<float>& row) = 0;
};

// Appends OpenCV's boxes as raw detections of class 0, each scored by the
// logistic of its detector weight (0.5 at the decision boundary; a box
// without a weight scores 0.5).
void append_boxes(const std::vector<cv::Rect>& boxes, const std::vector<double>& weights, std::vector<float>& row) {
  for (size_t i = 0; i < boxes.size(); ++i) {
    const cv::Rect& r = boxes[i];
    const double weight = i < weights.size() ? weights[i] : 0.0;
    append_detection(row, float(r.x), float(r.y), float(r.x + r.width), float(r.y + r.height),
                     float(logistic(weight)), 0);
  }
}

struct HogParams {
  double hit_threshold = 0;
  cv::Size win_stride{8, 8};
  cv::Size padding{0, 0};
  double scale = 1.05;
  int group_threshold = 2;
  bool meanshift = false;
};

class HogInstance : public Instance {
 public:
  explicit HogInstance(const HogParams& params) : m_params(params) {
    m_hog.setSVMDetector(cv::HOGDescriptor::getDefaultPeopleDetector());
  }
  void detect(const cv::Mat& image, std::vector<float>& row) override {
    // The window is 64x128: a smaller image holds no window.
    if (image.cols < m_hog.winSize.width || image.rows < m_hog.winSize.height) return;
    std::vector<cv::Rect> found;
    std::vector<double> weights;
    m_hog.detectMultiScale(image, found, weights, m_params.hit_threshold, m_params.win_stride, m_params.padding,
                           m_params.scale, m_params.group_threshold, m_params.meanshift);
    append_boxes(found, weights, row);
  }

 private:
  HogParams m_params;
  cv::HOGDescriptor m_hog;
};

struct HaarParams {
  std::string cascade;  // resolved path
  double scale_factor = 1.1;
  int min_neighbors = 3;
  cv::Size min_size{0, 0};
  cv::Size max_size{0, 0};
  bool equalize_hist = false;
};

class HaarInstance : public Instance {
 public:
  HaarInstance(const HaarParams& params, const std::string& source) : m_params(params) {
    bool loaded = false;
    std::string why = "not a cascade file OpenCV can load";
    try {
      loaded = m_cascade.load(params.cascade);
    } catch (const cv::Exception& e) {
      why = e.err;
    }
    if (!loaded || m_cascade.empty()) {
      throw Error(ErrorKind::config, "{}: entrypoint_args.cascade: {}: {}", source, params.cascade, why);
    }
  }
  void detect(const cv::Mat& image, std::vector<float>& row) override {
    if (image.channels() == 3) {
      cv::cvtColor(image, m_gray, cv::COLOR_BGR2GRAY);
    } else {
      image.copyTo(m_gray);
    }
    if (m_params.equalize_hist) cv::equalizeHist(m_gray, m_gray);
    std::vector<cv::Rect> objects;
    std::vector<int> levels;
    std::vector<double> weights;
    m_cascade.detectMultiScale(m_gray, objects, levels, weights, m_params.scale_factor, m_params.min_neighbors, 0,
                               m_params.min_size, m_params.max_size, true);
    append_boxes(objects, weights, row);
  }

 private:
  HaarParams m_params;
  cv::CascadeClassifier m_cascade;
  cv::Mat m_gray;
};

// Runs the items of a group on one thread per instance.
class ParallelDetector : public OpenCvDetector {
 public:
  ParallelDetector(std::string name, std::string description, std::vector<std::string> classes,
                   std::vector<std::unique_ptr<Instance>> instances)
      : m_name(std::move(name)),
        m_description(std::move(description)),
        m_classes(std::move(classes)),
        m_instances(std::move(instances)) {}

  const std::string& description() const override { return m_description; }
  const std::vector<std::string>& classes() const override { return m_classes; }

  void run(const std::vector<media::PipelineItem>& batch, size_t start, size_t end,
           std::vector<std::vector<float>>& rows) override {
    std::atomic<size_t> next{start};
    std::vector<std::string> failures(end - start);
    auto work = [&](size_t instance) {
      for (;;) {
        const size_t i = next++;
        if (i >= end) return;
        const media::Pixels& pixels = batch[i].image.pixels;
        rows[i].clear();
        try {
          if (pixels.channels != 1 && pixels.channels != 3) {
            failures[i - start] = "the image has no 8-bit pixels";
            continue;
          }
          const cv::Mat image(pixels.height, pixels.width, CV_8UC(pixels.channels),
                              const_cast<uint8_t*>(pixels.data.data()));
          m_instances[instance]->detect(image, rows[i]);
        } catch (const cv::Exception& e) {
          failures[i - start] = e.err;
        } catch (const std::exception& e) {
          failures[i - start] = e.what();
        }
      }
    };
    const size_t threads = std::min(m_instances.size(), end - start);
    std::vector<std::thread> helpers;
    for (size_t t = 1; t < threads; ++t) helpers.emplace_back(work, t);
    work(0);
    for (auto& helper : helpers) helper.join();
    for (const auto& failure : failures) {
      if (!failure.empty()) throw Error(ErrorKind::model, "{} failed: {}", m_name, failure);
    }
  }

 private:
  std::string m_name;
  std::string m_description;
  std::vector<std::string> m_classes;
  std::vector<std::unique_ptr<Instance>> m_instances;
};

std::string resolve_cascade(const Args& args, const config::ModelConfig& config) {
  const std::string written = args.string("cascade");
  if (written.empty()) {
    args.fail("cascade",
              "missing: name the cascade file, e.g. cascade: haarcascade_frontalface_default.xml (Debian package "
              "opencv-data puts them in /usr/share/opencv4/haarcascades)");
  }
  const fs::path path(written);
  std::error_code ec;
  if (path.is_absolute()) {
    if (const std::string problem = util::regular_file_problem(path.string(), "a cascade file"); !problem.empty()) {
      args.fail("cascade", fmt::format("{}: {}", written, problem));
    }
    return written;
  }
  fs::path base = config.source.empty() ? fs::path(".") : fs::path(config.source).parent_path();
  if (base.empty()) base = ".";
  const fs::path beside = base / path;
  if (fs::is_regular_file(beside, ec)) return beside.string();
  if (!path.has_parent_path()) {
    for (const auto& folder : k_cascade_folders) {
      const fs::path candidate = fs::path(folder) / path;
      if (fs::is_regular_file(candidate, ec)) return candidate.string();
    }
  }
  args.fail("cascade", fmt::format("{}: no such file (looked in {}{})", written, base.string(),
                                   path.has_parent_path() ? ""
                                                          : " and " + util::join(k_cascade_folders, ", ") +
                                                                "; Debian package opencv-data installs them"));
}

std::string size_text(cv::Size s) { return fmt::format("[{}, {}]", s.width, s.height); }

}  // namespace

bool is_opencv_entrypoint(const std::string& entrypoint) { return entrypoint == k_hog || entrypoint == k_haar; }

std::vector<std::string> opencv_entrypoint_descriptions() {
  return {
      fmt::format("{:<20} hit_threshold=0 win_stride=[8, 8] padding=[0, 0] scale=1.05 group_threshold=2 "
                  "use_meanshift_grouping=false (OpenCV's HOG people detector; no weights file)",
                  k_hog),
      fmt::format("{:<20} cascade=FILE scale_factor=1.1 min_neighbors=3 min_size=0 max_size=0 equalize_hist=false "
                  "(an OpenCV Haar cascade file; no weights file)",
                  k_haar),
  };
}

std::unique_ptr<OpenCvDetector> load_opencv_detector(const config::ModelConfig& config, int threads) {
  if (!config.weights.empty()) {
    throw Error(ErrorKind::config, "{}: weights: {} takes no weights file{}", config.source, config.entrypoint,
                config.entrypoint == k_haar ? " (the cascade goes in entrypoint_args.cascade)" : "");
  }
  const int count = threads > 0 ? threads : models::hardware_threads();
  std::vector<std::unique_ptr<Instance>> instances;
  std::vector<std::string> classes = config.classes;
  std::string description;
  if (config.entrypoint == k_hog) {
    const Args args(config, {"hit_threshold", "win_stride", "padding", "scale", "group_threshold",
                             "use_meanshift_grouping"});
    HogParams p;
    p.hit_threshold = args.number("hit_threshold", p.hit_threshold);
    p.win_stride = args.size("win_stride", p.win_stride);
    p.padding = args.size("padding", p.padding);
    p.scale = args.number("scale", p.scale);
    p.group_threshold = args.integer("group_threshold", p.group_threshold, 0);
    p.meanshift = args.boolean("use_meanshift_grouping", p.meanshift);
    // The descriptor's blocks move by 8 pixels; OpenCV asserts on other strides.
    if (p.win_stride.width <= 0 || p.win_stride.height <= 0 || p.win_stride.width % 8 || p.win_stride.height % 8) {
      args.fail("win_stride", fmt::format("expected multiples of 8 pixels, got {}", size_text(p.win_stride)));
    }
    if (!(p.scale > 1.0)) args.fail("scale", "expected a number > 1 (the step between image scales)");
    for (int i = 0; i < count; ++i) instances.push_back(std::make_unique<HogInstance>(p));
    if (classes.empty()) classes = {"person"};
    description = fmt::format("{} (OpenCV HOG people detector, scale {}, win_stride {}, hit_threshold {}) on {} threads",
                              k_hog, p.scale, size_text(p.win_stride), p.hit_threshold, count);
  } else if (config.entrypoint == k_haar) {
    const Args args(config, {"cascade", "scale_factor", "min_neighbors", "min_size", "max_size", "equalize_hist"});
    HaarParams p;
    p.cascade = resolve_cascade(args, config);
    p.scale_factor = args.number("scale_factor", p.scale_factor);
    p.min_neighbors = args.integer("min_neighbors", p.min_neighbors, 0);
    p.min_size = args.size("min_size", p.min_size);
    p.max_size = args.size("max_size", p.max_size);
    p.equalize_hist = args.boolean("equalize_hist", p.equalize_hist);
    if (!(p.scale_factor > 1.0)) args.fail("scale_factor", "expected a number > 1 (the step between image scales)");
    for (int i = 0; i < count; ++i) instances.push_back(std::make_unique<HaarInstance>(p, config.source));
    if (classes.empty()) {
      std::string name = fs::path(p.cascade).stem().string();
      for (const char* prefix : {"haarcascade_", "lbpcascade_"}) {
        if (name.rfind(prefix, 0) == 0) name = name.substr(std::string(prefix).size());
      }
      classes = {name};
    }
    description = fmt::format("{} ({}, scale_factor {}, min_neighbors {}, min_size {}) on {} threads", k_haar,
                              p.cascade, p.scale_factor, p.min_neighbors, size_text(p.min_size), count);
  } else {
    throw Error(ErrorKind::config, "{}: entrypoint \"{}\" is not an OpenCV detector", config.source, config.entrypoint);
  }
  return std::make_unique<ParallelDetector>(config.entrypoint, description, std::move(classes), std::move(instances));
}

}  // namespace zoo::inference
