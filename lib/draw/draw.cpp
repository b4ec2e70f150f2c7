#include "draw/draw.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "eval/label_lines.hpp"
#include "util/base64.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace zoo::draw {
namespace {

// COCO's 17-keypoint skeleton (0-based), as FiftyOne's default skeleton.
constexpr std::array<std::array<int, 2>, 19> k_coco_skeleton = {{{15, 13}, {13, 11}, {16, 14}, {14, 12}, {11, 12},
                                                                {5, 11},  {6, 12},  {5, 6},   {5, 7},   {6, 8},
                                                                {7, 9},   {8, 10},  {1, 2},   {0, 1},   {0, 2},
                                                                {1, 3},   {2, 4},   {3, 5},   {4, 6}}};

// Sizes that stay legible from a 64-pixel thumbnail to a 4K frame.
struct Style {
  double font_scale;
  int text_thickness;
  int line;
  explicit Style(const cv::Mat& image) {
    const double side = std::min(image.cols, image.rows);
    font_scale = std::max(0.35, side / 900.0);
    text_thickness = std::max(1, static_cast<int>(std::lround(font_scale * 1.6)));
    line = std::max(1, static_cast<int>(std::lround(side / 320.0)));
  }
};

cv::Scalar scalar(const std::array<uint8_t, 3>& bgr) { return cv::Scalar(bgr[0], bgr[1], bgr[2]); }

// Text on a filled box of `color`, in black or white, whichever reads
// better; `anchor` is the box's top-left corner, moved inside the image.
void label_box(cv::Mat& image, const std::string& text, cv::Point anchor, const std::array<uint8_t, 3>& color,
               const Style& style) {
  int baseline = 0;
  const cv::Size size = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, style.font_scale, style.text_thickness, &baseline);
  const int pad = std::max(2, style.line);
  const int w = size.width + 2 * pad;
  const int h = size.height + baseline + 2 * pad;
  anchor.x = std::clamp(anchor.x, 0, std::max(0, image.cols - w));
  anchor.y = std::clamp(anchor.y, 0, std::max(0, image.rows - h));
  cv::rectangle(image, cv::Rect(anchor.x, anchor.y, w, h), scalar(color), cv::FILLED);
  const double luma = 0.114 * color[0] + 0.587 * color[1] + 0.299 * color[2];
  const cv::Scalar ink = luma > 140 ? cv::Scalar(0, 0, 0) : cv::Scalar(255, 255, 255);
  cv::putText(image, text, cv::Point(anchor.x + pad, anchor.y + pad + size.height), cv::FONT_HERSHEY_SIMPLEX,
              style.font_scale, ink, style.text_thickness, cv::LINE_AA);
}

std::string number(double value) { return fmt::format("{:.2f}", value); }

// A box [x, y, w, h] relative to the image, in pixels.
cv::Rect box_pixels(const json& box, const cv::Mat& image, const std::string& where) {
  if (!box.is_array() || box.size() != 4 || !std::all_of(box.begin(), box.end(), [](const json& v) { return v.is_number(); })) {
    throw Error(ErrorKind::data, "{}: \"bounding_box\" is not [x, y, width, height]", where);
  }
  const double x = box[0].get<double>() * image.cols, y = box[1].get<double>() * image.rows;
  const double w = box[2].get<double>() * image.cols, h = box[3].get<double>() * image.rows;
  return cv::Rect(static_cast<int>(std::lround(x)), static_cast<int>(std::lround(y)),
                  std::max(1, static_cast<int>(std::lround(w))), std::max(1, static_cast<int>(std::lround(h))));
}

// A label's mask: mask_png (base64 PNG) or mask_path (a PNG file).
cv::Mat read_mask(const json& label, const std::string& labels_dir, const std::string& where) {
  std::string png;
  if (label.contains("mask_png") && label["mask_png"].is_string()) {
    const auto bytes = util::base64_decode(label["mask_png"].get<std::string>());
    if (!bytes) throw Error(ErrorKind::data, "{}: \"mask_png\" is not base64", where);
    png = *bytes;
  } else if (label.contains("mask_path") && label["mask_path"].is_string()) {
    fs::path path = label["mask_path"].get<std::string>();
    if (path.is_relative()) path = fs::path(labels_dir) / path;
    png = util::read_file(path.string());
  } else {
    return {};
  }
  const std::vector<uint8_t> buffer(png.begin(), png.end());
  cv::Mat mask = cv::imdecode(buffer, cv::IMREAD_UNCHANGED | cv::IMREAD_ANYDEPTH);
  if (mask.empty()) throw Error(ErrorKind::data, "{}: the mask is not a PNG image", where);
  if (mask.channels() > 1) cv::extractChannel(mask, mask, 0);
  return mask;
}

// Blends `color` into `image` where `mask` is set, at `alpha`.
void tint(cv::Mat& image, const cv::Mat& mask, const cv::Rect& where, const std::array<uint8_t, 3>& color, double alpha) {
  const cv::Rect clipped = where & cv::Rect(0, 0, image.cols, image.rows);
  if (clipped.empty()) return;
  cv::Mat fitted;
  cv::resize(mask, fitted, where.size(), 0, 0, cv::INTER_NEAREST);
  for (int y = clipped.y; y < clipped.y + clipped.height; ++y) {
    auto* row = image.ptr<cv::Vec3b>(y);
    for (int x = clipped.x; x < clipped.x + clipped.width; ++x) {
      const int my = y - where.y, mx = x - where.x;
      const bool set = fitted.depth() == CV_16U ? fitted.at<uint16_t>(my, mx) > 0 : fitted.at<uint8_t>(my, mx) > 0;
      if (!set) continue;
      for (int c = 0; c < 3; ++c) {
        row[x][c] = cv::saturate_cast<uint8_t>((1 - alpha) * row[x][c] + alpha * color[c]);
      }
    }
  }
}

void draw_detection(cv::Mat& image, const json& d, const std::string& labels_dir, const std::string& where,
                    const Style& style, const std::string& caption_override = "") {
  const std::string label = d.value("label", std::string("?"));
  const auto color = class_color(label);
  const cv::Rect box = box_pixels(d.value("bounding_box", json()), image, where);
  if (const cv::Mat mask = read_mask(d, labels_dir, where); !mask.empty()) tint(image, mask, box, color, 0.45);
  cv::rectangle(image, box, scalar(color), style.line, cv::LINE_8);
  std::string text = caption_override;
  if (text.empty()) {
    text = label;
    if (d.contains("confidence") && d["confidence"].is_number()) text += " " + number(d["confidence"].get<double>());
  }
  int baseline = 0;
  const int text_h = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, style.font_scale, style.text_thickness, &baseline).height +
                     baseline + 2 * std::max(2, style.line);
  // Above the box, or inside its top when there is no room above.
  const int y = box.y - text_h >= 0 ? box.y - text_h : box.y;
  label_box(image, text, cv::Point(box.x, y), color, style);
}

void draw_keypoints(cv::Mat& image, const json& k, const std::string& where, const Style& style) {
  const auto color = class_color(k.value("label", std::string("?")));
  const json& points = k.value("points", json::array());
  if (!points.is_array()) throw Error(ErrorKind::data, "{}: \"points\" is not a list", where);
  std::vector<std::optional<cv::Point>> at;
  for (const auto& p : points) {
    if (p.is_array() && p.size() == 2 && p[0].is_number() && p[1].is_number() && std::isfinite(p[0].get<double>()) &&
        std::isfinite(p[1].get<double>())) {
      at.emplace_back(cv::Point(static_cast<int>(std::lround(p[0].get<double>() * image.cols)),
                                static_cast<int>(std::lround(p[1].get<double>() * image.rows))));
    } else {
      at.emplace_back(std::nullopt);  // not found (null or NaN)
    }
  }
  if (at.size() == 17) {
    for (const auto& [a, b] : k_coco_skeleton) {
      if (at[a] && at[b]) cv::line(image, *at[a], *at[b], scalar(color), style.line, cv::LINE_AA);
    }
  }
  for (const auto& p : at) {
    if (!p) continue;
    cv::circle(image, *p, style.line + 2, cv::Scalar(255, 255, 255), cv::FILLED, cv::LINE_AA);
    cv::circle(image, *p, style.line + 1, scalar(color), cv::FILLED, cv::LINE_AA);
  }
}

void draw_segmentation(cv::Mat& image, const json& s, const std::string& labels_dir, const std::string& where,
                       const Style& style) {
  const cv::Mat mask = read_mask(s, labels_dir, where);
  if (mask.empty()) throw Error(ErrorKind::data, "{}: a Segmentation without mask_png or mask_path", where);
  cv::Mat fitted;
  cv::resize(mask, fitted, image.size(), 0, 0, cv::INTER_NEAREST);
  fitted.convertTo(fitted, CV_32S);
  std::set<int> present;
  for (int y = 0; y < image.rows; ++y) {
    auto* row = image.ptr<cv::Vec3b>(y);
    const auto* values = fitted.ptr<int>(y);
    for (int x = 0; x < image.cols; ++x) {
      if (values[x] == 0) continue;  // background, as FiftyOne
      present.insert(values[x]);
      const auto color = class_color(std::to_string(values[x]));
      for (int c = 0; c < 3; ++c) row[x][c] = cv::saturate_cast<uint8_t>(0.5 * row[x][c] + 0.5 * color[c]);
    }
  }
  // The legend: one box per class present, bottom-left upwards.
  int baseline = 0;
  const int step = cv::getTextSize("0", cv::FONT_HERSHEY_SIMPLEX, style.font_scale, style.text_thickness, &baseline).height +
                   baseline + 2 * std::max(2, style.line);
  int y = image.rows - step;
  for (const int value : present) {
    label_box(image, fmt::format("class {}", value), cv::Point(0, y), class_color(std::to_string(value)), style);
    y -= step;
  }
}

// A classification-like label as caption text, or "".
std::string caption_of(const json& label) {
  const std::string kind = label.value("_cls", std::string());
  if (kind == "Classification") {
    std::string text = label.value("label", std::string("?"));
    if (label.contains("confidence") && label["confidence"].is_number()) text += " " + number(label["confidence"].get<double>());
    return text;
  }
  if (kind == "Regression" && label.contains("value") && label["value"].is_number()) {
    std::string text = fmt::format("{:.4g}", label["value"].get<double>());
    if (label.contains("confidence") && label["confidence"].is_number()) text += " (" + number(label["confidence"].get<double>()) + ")";
    return text;
  }
  return "";
}

std::string caption_label(const json& label) {
  return label.value("_cls", std::string()) == "Classification" ? label.value("label", std::string("?")) : "value";
}

}  // namespace

std::array<uint8_t, 3> class_color(const std::string& label) {
  uint32_t hash = 2166136261u;
  for (unsigned char c : label) hash = (hash ^ c) * 16777619u;
  // Hue from the hash (OpenCV's 0-180), saturation and value high.
  cv::Mat hsv(1, 1, CV_8UC3, cv::Scalar(hash % 180, 200 + (hash >> 8) % 56, 200 + (hash >> 16) % 56));
  cv::Mat bgr;
  cv::cvtColor(hsv, bgr, cv::COLOR_HSV2BGR);
  const auto pixel = bgr.at<cv::Vec3b>(0, 0);
  return {pixel[0], pixel[1], pixel[2]};
}

void draw_record(cv::Mat& image, const json& record, const std::string& labels_dir, const std::string& where) {
  const Style style(image);
  // A patch record: the model's answer for one detection, beside it.
  if (record.contains("patch") && record["patch"].is_object()) {
    std::string caption;
    std::string label = "?";
    for (const auto& [key, value] : record.items()) {
      if (key == "patch" || !value.is_object() || !value.contains("_cls")) continue;
      if (std::string text = caption_of(value); !text.empty()) {
        caption = std::move(text);
        label = caption_label(value);
      }
    }
    json box = record["patch"];
    box["label"] = label;
    draw_detection(image, box, labels_dir, where, style, caption.empty() ? record["patch"].value("label", "") : caption);
    return;
  }
  int caption_y = 0;
  for (const auto& [key, value] : record.items()) {
    if (!value.is_object() || !value.contains("_cls") || !value["_cls"].is_string()) continue;
    const std::string kind = value["_cls"].get<std::string>();
    const std::string at = fmt::format("{} ({})", where, key);
    if (kind == "Detections") {
      for (const auto& d : value.value("detections", json::array())) draw_detection(image, d, labels_dir, at, style);
    } else if (kind == "Detection") {
      draw_detection(image, value, labels_dir, at, style);
    } else if (kind == "Keypoints") {
      for (const auto& k : value.value("keypoints", json::array())) draw_keypoints(image, k, at, style);
    } else if (kind == "Keypoint") {
      draw_keypoints(image, value, at, style);
    } else if (kind == "Segmentation") {
      draw_segmentation(image, value, labels_dir, at, style);
    } else {
      std::vector<json> captions;
      if (kind == "Classifications") {
        for (const auto& c : value.value("classifications", json::array())) captions.push_back(c);
      } else {
        captions.push_back(value);
      }
      for (const auto& c : captions) {
        const std::string text = caption_of(c);
        if (text.empty()) continue;
        label_box(image, text, cv::Point(0, caption_y), class_color(caption_label(c)), style);
        int baseline = 0;
        caption_y += cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, style.font_scale, style.text_thickness, &baseline).height +
                     baseline + 2 * std::max(2, style.line);
      }
    }
  }
}

namespace {

struct Item {
  std::string path;
  bool video = false;
  std::vector<std::pair<std::string, json>> records;  // where, record (images)
  std::map<int64_t, std::vector<std::pair<std::string, json>>> frames;  // videos
};

bool selected(const std::string& path, const std::vector<std::string>& inputs) {
  if (inputs.empty()) return true;
  const fs::path p = fs::path(path).lexically_normal();
  for (const auto& input : inputs) {
    const fs::path in = fs::path(input).lexically_normal();
    if (p == in) return true;
    const auto rel = p.lexically_relative(in);
    if (!rel.empty() && *rel.begin() != ".." && rel != ".") return true;
  }
  return false;
}

// The folder every one of `folders` is in (absolute, normalised).
fs::path common_folder(const std::vector<fs::path>& folders) {
  std::optional<fs::path> common;
  for (const auto& path : folders) {
    const fs::path folder = fs::absolute(path).lexically_normal();
    if (!common) {
      common = folder;
      continue;
    }
    fs::path shared;
    auto a = common->begin(), b = folder.begin();
    for (; a != common->end() && b != folder.end() && *a == *b; ++a, ++b) shared /= *a;
    common = shared;
  }
  return common.value_or(fs::current_path());
}

std::string image_extension(const std::string& path, const std::string& format) {
  if (format == "png") return ".png";
  if (format == "jpg") return ".jpg";
  std::string ext = util::to_lower(fs::path(path).extension().string());
  static const std::set<std::string> writable = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"};
  return writable.count(ext) ? ext : ".png";
}

// The drawing of `path` under target.out_dir: at its path relative to the
// root, or, for a file outside the root, at its whole absolute path.
fs::path output_path(const DrawTarget& target, const std::string& path, bool video) {
  const fs::path absolute = fs::absolute(path).lexically_normal();
  fs::path rel = absolute.lexically_relative(target.root);
  if (rel.empty() || *rel.begin() == "..") rel = absolute.relative_path();
  fs::path out = fs::path(target.out_dir) / rel;
  out.replace_extension(video ? ".avi" : image_extension(path, target.image_format));
  return out;
}

void make_parent(const fs::path& out) {
  std::error_code ec;
  fs::create_directories(out.parent_path(), ec);
  if (ec) throw Error(ErrorKind::io, "{}: cannot create the folder: {}", out.parent_path().string(), ec.message());
}

}  // namespace

std::string labels_folder(const std::string& labels) {
  const std::string folder = fs::path(labels).parent_path().string();
  return folder.empty() ? "." : folder;
}

std::string input_root(const std::vector<std::string>& inputs, bool listed) {
  std::vector<fs::path> folders;
  for (const auto& input : inputs) {
    std::error_code ec;
    folders.push_back(fs::is_directory(input, ec) ? fs::path(input) : fs::absolute(input).parent_path());
  }
  if (listed || folders.empty()) folders.push_back(fs::current_path());
  return common_folder(folders).string();
}

// A video being written: frames are read from the input up to the one to
// draw, and written to the part file.
struct Drawer::Video {
  cv::VideoCapture in;
  cv::VideoWriter writer;
  fs::path part;
  int64_t read = 0;  // frames read so far
  double fps = 25;
  cv::Mat frame;

  // Reads the next frame into `frame`: false at the end.
  bool next() {
    if (!in.read(frame)) return false;
    ++read;
    return true;
  }

  void write() {
    if (!writer.isOpened()) {
      make_parent(part);
      if (!writer.open(part.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), fps, frame.size())) {
        throw Error(ErrorKind::io, "{}: OpenCV cannot write a Motion-JPEG video", part.string());
      }
    }
    writer.write(frame);
  }

  ~Video() {
    if (!writer.isOpened()) return;
    writer.release();  // abandoned: the part goes
    std::error_code ec;
    fs::remove(part, ec);
  }
};

Drawer::Drawer(DrawTarget target) : m_target(std::move(target)) {}

Drawer::~Drawer() { abandon(); }

void Drawer::start(const std::string& path, bool video) {
  m_path = path;
  m_video = video;
  m_out = output_path(m_target, path, video).string();
  std::error_code ec;
  m_pass = m_keep_drawn && fs::exists(m_out, ec);
  m_frame = 0;
  m_records.clear();
}

void Drawer::fail(const std::string& reason) {
  m_summary.failed.push_back(fmt::format("{}: {}", m_path, reason));
  m_pass = true;
  m_records.clear();
  m_frame = 0;
  m_writing.reset();
}

void Drawer::add(const eval::LabelLine<json>& line) {
  if (line.error) {
    ++m_summary.error_records;
    return;
  }
  if (line.filepath != m_path) {
    end_file();
    start(line.filepath, line.frame > 0);
  }
  if (m_pass) return;
  try {
    if (m_video != (line.frame > 0)) {
      throw Error(ErrorKind::data, "{}: a record {} \"frame_number\" among the records {} one", line.where,
                  m_video ? "without" : "with", m_video ? "with" : "without");
    }
    if (m_video && line.frame != m_frame) {
      if (line.frame < m_frame) {
        throw Error(ErrorKind::data, "{}: frame {} after frame {}: a video's records are drawn in frame order",
                    line.where, line.frame, m_frame);
      }
      write_pending_frame();
      m_frame = line.frame;
    }
    m_records.emplace_back(line.where, line.record);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::io) throw;
    fail(e.what());
  }
}

void Drawer::write_pending_frame() {
  if (m_frame == 0) return;
  if (!m_writing) {
    m_writing = std::make_unique<Video>();
    Video& v = *m_writing;
    if (!v.in.open(m_path)) throw Error(ErrorKind::data, "cannot open the video");
    const double fps = v.in.get(cv::CAP_PROP_FPS);
    if (fps > 0 && fps < 1000) v.fps = fps;
    const fs::path out = m_out;
    v.part = out.parent_path() / ("." + out.stem().string() + ".part.avi");
  }
  Video& v = *m_writing;
  while (v.read < m_frame) {
    if (!v.next()) {
      throw Error(ErrorKind::data, "the labels have frame {}, but only {} frames could be decoded", m_frame, v.read);
    }
    if (v.read == m_frame) {
      for (const auto& [where, record] : m_records) draw_record(v.frame, record, m_target.labels_dir, where);
    }
    v.write();
  }
  m_records.clear();
}

void Drawer::end_file() {
  if (m_path.empty()) return;
  try {
    if (!m_pass && m_video) {
      write_pending_frame();
      Video& v = *m_writing;
      while (v.next()) v.write();
      v.writer.release();
      std::error_code ec;
      fs::rename(v.part, m_out, ec);
      if (ec) throw Error(ErrorKind::io, "{}: cannot move into place: {}", m_out, ec.message());
      ++m_summary.videos;
      m_summary.frames += size_t(v.read);
    } else if (!m_pass) {
      cv::Mat image = cv::imread(m_path, cv::IMREAD_COLOR);  // EXIF orientation applied
      if (image.empty()) throw Error(ErrorKind::data, "cannot read or decode the image");
      for (const auto& [where, record] : m_records) draw_record(image, record, m_target.labels_dir, where);
      std::vector<uint8_t> bytes;
      const std::vector<int> params = {cv::IMWRITE_JPEG_QUALITY, 92};
      if (!cv::imencode(fs::path(m_out).extension().string(), image, bytes, params)) {
        throw Error(ErrorKind::io, "{}: cannot encode the image", m_out);
      }
      make_parent(m_out);
      util::write_file_atomic(m_out, std::string(bytes.begin(), bytes.end()));
      ++m_summary.images;
    }
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::io) {
      abandon();
      throw;
    }
    fail(e.what());
  }
  abandon();  // nothing is left in progress
}

void Drawer::abandon() {
  m_writing.reset();
  m_path.clear();
  m_records.clear();
  m_frame = 0;
}

DrawSummary draw_labels(const DrawOptions& options) {
  std::ifstream in(options.labels);
  if (!in) throw Error(ErrorKind::io, "{}: cannot read the labels", options.labels);
  DrawTarget target;
  target.out_dir = options.out_dir;
  target.image_format = options.image_format;
  target.labels_dir = labels_folder(options.labels);
  size_t error_records = 0;
  std::vector<Item> items;
  std::map<std::string, size_t> index;
  eval::for_each_label_line<json>(in, options.labels, [&](const eval::LabelLine<json>& line) {
    if (line.error) {
      ++error_records;
      return;
    }
    if (!selected(line.filepath, options.inputs)) return;
    auto [it, added] = index.emplace(line.filepath, items.size());
    if (added) items.push_back(Item{line.filepath, false, {}, {}});
    Item& item = items[it->second];
    if (line.frame > 0) {
      item.video = true;
      item.frames[line.frame].emplace_back(line.where, line.record);
    } else {
      item.records.emplace_back(line.where, line.record);
    }
  });
  if (items.empty()) {
    throw Error(ErrorKind::data, "{}: no record{} to draw", options.labels,
                options.inputs.empty() ? "" : " of the inputs given");
  }
  if (options.inputs.empty()) {
    std::vector<fs::path> folders;
    for (const auto& item : items) folders.push_back(fs::absolute(item.path).parent_path());
    target.root = common_folder(folders).string();
  } else {
    target.root = input_root(options.inputs);
  }
  Drawer drawer(target);
  util::Progress progress(options.progress, items.size(), "file");
  size_t done = 0;
  for (const auto& item : items) {
    for (const auto& [where, record] : item.records) drawer.add({record, where, 0, item.path, 0, std::nullopt});
    for (const auto& [frame, records] : item.frames) {
      for (const auto& [where, record] : records) drawer.add({record, where, 0, item.path, frame, std::nullopt});
    }
    drawer.end_file();
    progress.update(++done);
  }
  progress.finish();
  DrawSummary summary = drawer.summary();
  summary.error_records = error_records;
  return summary;
}

}  // namespace zoo::draw
