#include "report/report.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "draw/draw.hpp"
#include "eval/label_lines.hpp"
#include "report/page.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/json_text.hpp"
#include "util/sha256.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace zoo::report {
namespace {

constexpr int k_histogram_bins = 20;

struct Record {
  std::string where;
  json record;
  std::string path;
  int64_t frame = 0;
  std::string thumb;  // file name in thumbs/, "" = none
  json labels = json::array();  // [[class index, confidence or null], ...]
  json error;                   // null, or the message
};

// Every (class, confidence) a record's labels give.
void collect(const json& label, std::vector<std::pair<std::string, json>>& out) {
  const std::string kind = label.value("_cls", std::string());
  auto add = [&](const json& l) {
    if (!l.is_object() || !l.contains("label") || !l["label"].is_string()) return;
    json conf = l.contains("confidence") && l["confidence"].is_number() ? l["confidence"] : json();
    out.emplace_back(l["label"].get<std::string>(), conf);
  };
  if (kind == "Detections") {
    for (const auto& d : label.value("detections", json::array())) add(d);
  } else if (kind == "Classifications") {
    for (const auto& c : label.value("classifications", json::array())) add(c);
  } else if (kind == "Keypoints") {
    for (const auto& k : label.value("keypoints", json::array())) add(k);
  } else if (kind == "Classification" || kind == "Detection" || kind == "Keypoint") {
    add(label);
  }
}

// "#rrggbb" of draw::class_color.
std::string css_color(const std::string& label) {
  const auto bgr = draw::class_color(label);
  return fmt::format("#{:02x}{:02x}{:02x}", bgr[2], bgr[1], bgr[0]);
}

// A path component for a URL: every byte but [A-Za-z0-9._-] percent-encoded.
std::string url_part(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '-') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// The thumbnail of one record: the image (or frame) with its labels drawn,
// its longer side `size`.
void write_thumbnail(cv::Mat image, const Record& r, const std::string& labels_dir, int size, const fs::path& file) {
  draw::draw_record(image, r.record, labels_dir, r.where);
  const double scale = double(size) / std::max(image.cols, image.rows);
  if (scale < 1) cv::resize(image, image, cv::Size(), scale, scale, cv::INTER_AREA);
  std::vector<uint8_t> bytes;
  cv::imencode(".jpg", image, bytes, {cv::IMWRITE_JPEG_QUALITY, 82});
  util::write_file_atomic(file.string(), std::string(bytes.begin(), bytes.end()));
}

std::string now_text() {
  const std::time_t t = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  return text;
}

}  // namespace

ReportSummary write_labels_report(const ReportOptions& options) {
  std::ifstream in(options.labels);
  if (!in) throw Error(ErrorKind::io, "{}: cannot read the labels", options.labels);
  std::string labels_dir = fs::path(options.labels).parent_path().string();
  if (labels_dir.empty()) labels_dir = ".";

  std::vector<Record> records;
  std::map<std::string, size_t> class_ids;
  std::vector<std::string> class_names;
  eval::for_each_label_line<json>(in, options.labels, [&](const eval::LabelLine<json>& line) {
    Record r{line.where, line.record, line.filepath, line.frame};
    if (line.error) {
      r.error = *line.error;
    } else {
      std::vector<std::pair<std::string, json>> found;
      for (const auto& [key, value] : line.record.items()) {
        if (key != "patch" && value.is_object()) collect(value, found);
      }
      for (const auto& [name, conf] : found) {
        auto [it, added] = class_ids.emplace(name, class_names.size());
        if (added) class_names.push_back(name);
        r.labels.push_back(json::array({it->second, conf}));
      }
    }
    records.push_back(std::move(r));
  });

  ReportSummary summary;
  summary.records = records.size();
  const fs::path out(options.out);
  const std::string files_name = out.stem().string() + "_files";
  const fs::path files = out.parent_path() / files_name;
  summary.files_dir = files.string();
  std::error_code ec;
  fs::create_directories(files / "thumbs", ec);
  if (ec) throw Error(ErrorKind::io, "{}: cannot create: {}", (files / "thumbs").string(), ec.message());

  // Thumbnails, each named by what it shows; videos read once, in order.
  util::Progress progress(options.progress, records.size(), "img");
  std::map<std::string, std::vector<size_t>> video_frames;
  size_t done = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    Record& r = records[i];
    if (!r.error.is_null()) {
      ++summary.errors;
      continue;
    }
    r.thumb = util::sha256_hex(fmt::format("{}\n{}\n{}\n{}", r.path, r.frame, options.thumbnail_size, r.record.dump()))
                  .substr(0, 24) + ".jpg";
    if (fs::exists(files / "thumbs" / r.thumb, ec)) {
      ++summary.thumbnails_reused;
      progress.update(++done);
      continue;
    }
    if (r.frame > 0) {
      video_frames[r.path].push_back(i);
      continue;
    }
    cv::Mat image = cv::imread(r.path, cv::IMREAD_COLOR);
    if (image.empty()) {
      r.thumb.clear();
      ++summary.thumbnails_failed;
    } else {
      write_thumbnail(image, r, labels_dir, options.thumbnail_size, files / "thumbs" / r.thumb);
      ++summary.thumbnails_made;
    }
    progress.update(++done);
  }
  for (auto& [path, indexes] : video_frames) {
    std::sort(indexes.begin(), indexes.end(), [&](size_t a, size_t b) { return records[a].frame < records[b].frame; });
    cv::VideoCapture video(path);
    cv::Mat frame;
    int64_t number = 0;
    for (size_t index : indexes) {
      Record& r = records[index];
      bool ok = video.isOpened();
      while (ok && number < r.frame) {
        ok = video.read(frame);
        if (ok) ++number;
      }
      if (ok && number == r.frame) {
        write_thumbnail(frame.clone(), r, labels_dir, options.thumbnail_size, files / "thumbs" / r.thumb);
        ++summary.thumbnails_made;
      } else {
        r.thumb.clear();
        ++summary.thumbnails_failed;
      }
      progress.update(++done);
    }
  }
  progress.finish();

  // The index: compact rows, paths listed once.
  json paths = json::array();
  std::map<std::string, size_t> path_ids;
  json items = json::array();
  json errors = json::array();
  std::vector<int64_t> class_labels(class_names.size(), 0), class_images(class_names.size(), 0);
  std::vector<int64_t> histogram(k_histogram_bins, 0);
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    auto [it, added] = path_ids.emplace(r.path, paths.size());
    if (added) paths.push_back(r.path);
    std::vector<bool> seen(class_names.size(), false);
    for (const auto& l : r.labels) {
      const size_t c = l[0].get<size_t>();
      ++class_labels[c];
      if (!seen[c]) ++class_images[c];
      seen[c] = true;
      if (l[1].is_number()) {
        const double conf = std::clamp(l[1].get<double>(), 0.0, 1.0);
        ++histogram[std::min(k_histogram_bins - 1, static_cast<int>(conf * k_histogram_bins))];
      }
    }
    if (!r.error.is_null()) errors.push_back(i);
    items.push_back(json::array({r.thumb, it->second, r.frame, r.labels, r.error}));
  }
  json classes = json::array();
  for (size_t c = 0; c < class_names.size(); ++c) {
    classes.push_back({{"name", class_names[c]},
                       {"labels", class_labels[c]},
                       {"images", class_images[c]},
                       {"color", css_color(class_names[c])}});
  }
  summary.classes = class_names.size();
  const json data = {{"title", options.title.empty() ? "zoo report: " + fs::path(options.labels).filename().string()
                                                     : options.title},
                     {"labels", options.labels},
                     {"created", now_text()},
                     {"files", url_part(files_name)},
                     {"page_size", 60},
                     {"classes", classes},
                     {"histogram", histogram},
                     {"paths", paths},
                     {"errors", errors},
                     {"items", items}};
  // A JSON text is a JavaScript expression; "</" is escaped so no string in
  // it can close the script.
  std::string text = util::dump_json(data);
  for (size_t at = text.find("</"); at != std::string::npos; at = text.find("</", at + 3)) text.replace(at, 2, "<\\/");
  util::write_file_atomic((files / "data.js").string(), "window.ZOO_REPORT = " + text + ";\n");

  std::string page = labels_page_template();
  const std::string placeholder = "{{FILES}}";
  for (size_t at = page.find(placeholder); at != std::string::npos; at = page.find(placeholder, at)) {
    page.replace(at, placeholder.size(), url_part(files_name));
  }
  util::write_file_atomic(out.string(), page);
  return summary;
}

}  // namespace zoo::report
