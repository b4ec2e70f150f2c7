#include "report/report.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <utility>
#include <vector>

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

// `image` shrunk to a longer side of `size` (never grown), as a JPEG file.
void save_thumbnail(cv::Mat image, int size, const fs::path& file) {
  const double scale = double(size) / std::max(image.cols, image.rows);
  if (scale < 1) cv::resize(image, image, cv::Size(), scale, scale, cv::INTER_AREA);
  std::vector<uint8_t> bytes;
  cv::imencode(".jpg", image, bytes, {cv::IMWRITE_JPEG_QUALITY, 82});
  util::write_file_atomic(file.string(), std::string(bytes.begin(), bytes.end()));
}

// The thumbnail of one record: the image (or frame) with its labels drawn.
void write_thumbnail(cv::Mat image, const Record& r, const std::string& labels_dir, int size, const fs::path& file) {
  draw::draw_record(image, r.record, labels_dir, r.where);
  save_thumbnail(image, size, file);
}

std::string now_text() {
  const std::time_t t = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  return text;
}

// A JSON text to place inside a <script>: "</" escaped so that no string in
// it can close the script.
std::string script_safe(std::string text) {
  for (size_t at = text.find("</"); at != std::string::npos; at = text.find("</", at + 3)) text.replace(at, 2, "<\\/");
  return text;
}

json read_json_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return json();
  try {
    return util::parse_json<json>(util::read_file(path.string()));
  } catch (const json::exception& e) {
    throw Error(ErrorKind::data, "{}: not JSON: {}", path.string(), e.what());
  }
}

// `page_template` with each {{NAME}} of `values` replaced, and {{STYLE}}
// by the shared style.
std::string fill_page(const char* page_template, std::vector<std::pair<std::string, std::string>> values) {
  std::string page = page_template;
  values.insert(values.begin(), {"STYLE", page_style()});  // first: no value is searched again
  for (const auto& [name, value] : values) {
    const std::string placeholder = "{{" + name + "}}";
    for (size_t at = page.find(placeholder); at != std::string::npos; at = page.find(placeholder, at + value.size())) {
      page.replace(at, placeholder.size(), value);
    }
  }
  return page;
}

// Writes a page with a PAGE_files folder: `data` as `variable` in
// PAGE_files/data.js, then the page (last, so a page always finds its
// data), its {{FILES}} replaced by the folder's URL.
template <class Json>
void write_page_with_data(const fs::path& out, const std::string& files_name, const char* page_template,
                          const std::string& variable, const Json& data) {
  const fs::path files = out.parent_path() / files_name;
  util::write_file_atomic((files / "data.js").string(),
                          "window." + variable + " = " + script_safe(util::dump_json(data)) + ";\n");
  util::write_file_atomic(out.string(), fill_page(page_template, {{"FILES", url_part(files_name)}}));
}

}  // namespace

ReportSummary write_labels_report(const ReportOptions& options) {
  std::ifstream in(options.labels);
  if (!in) throw Error(ErrorKind::io, "{}: cannot read the labels", options.labels);
  const std::string labels_dir = draw::labels_folder(options.labels);

  std::vector<Record> records;
  std::map<std::string, size_t> class_ids;
  std::vector<std::string> class_names;
  eval::for_each_label_line<json>(in, options.labels, [&](const eval::LabelLine<json>& line) {
    Record r;
    r.where = line.where;
    r.record = line.record;
    r.path = line.filepath;
    r.frame = line.frame;
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
  write_page_with_data(out, files_name, labels_page_template(), "ZOO_REPORT", data);
  return summary;
}


size_t write_eval_report(const std::string& report_json, const std::string& out_path, const std::string& title) {
  // In the report's own order (support, predicted, correct, precision, ...).
  const nlohmann::ordered_json report = util::parse_json<nlohmann::ordered_json>(report_json);
  const fs::path out(out_path);
  const std::string files_name = out.stem().string() + "_files";
  const fs::path files = out.parent_path() / files_name;
  std::error_code ec;
  fs::create_directories(files / "thumbs", ec);
  if (ec) throw Error(ErrorKind::io, "{}: cannot create: {}", (files / "thumbs").string(), ec.message());
  std::vector<std::string> paths;
  for (const auto& m : report.value("mistakes", nlohmann::ordered_json::array())) {
    if (m.contains("filepath") && m["filepath"].is_string()) paths.push_back(m["filepath"].get<std::string>());
  }
  if (report.contains("baseline") && report["baseline"].is_object()) {
    for (const char* key : {"fixed", "broken"}) {
      for (const auto& p : report["baseline"].value(key, nlohmann::ordered_json::array())) {
        if (p.is_string()) paths.push_back(p.get<std::string>());
      }
    }
  }
  constexpr size_t k_max_thumbnails = 5000;
  constexpr int k_size = 240;
  json thumbs = json::object();
  size_t made = 0;
  for (const auto& path : paths) {
    if (thumbs.contains(path) || thumbs.size() >= k_max_thumbnails) continue;
    const std::string name = util::sha256_hex(fmt::format("{}\n{}", fs::absolute(path).string(), k_size)).substr(0, 24) + ".jpg";
    const fs::path file = files / "thumbs" / name;
    if (!fs::exists(file, ec)) {
      const cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
      if (image.empty()) continue;  // listed without a picture
      save_thumbnail(image, k_size, file);
      ++made;
    }
    thumbs[path] = name;
  }
  const nlohmann::ordered_json data = {{"title", title.empty() ? "zoo eval: " + report.value("labels", std::string("?")) : title},
                     {"created", now_text()},
                     {"files", url_part(files_name)},
                     {"thumbs", thumbs},
                     {"report", report}};
  write_page_with_data(out, files_name, eval_page_template(), "ZOO_EVAL", data);
  return made;
}

TrainReportSummary write_train_report(const std::string& run_dir, const std::string& out, const std::string& title) {
  const fs::path dir(run_dir);
  const fs::path events_path = dir / "events.jsonl";
  std::ifstream in(events_path);
  if (!in) {
    throw Error(ErrorKind::io, "{}: cannot read {} (zoo report OUTDIR takes a zoo train output folder)", run_dir,
                events_path.string());
  }
  TrainReportSummary summary;
  json epochs = json::array();
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json event;
    try {
      event = util::parse_json<json>(line);
    } catch (const json::exception&) {
      // A line torn by a crash is the last one; anything else is damage.
      if (in.peek() == EOF) break;
      throw Error(ErrorKind::data, "{}:{}: not a JSON object", events_path.string(), number);
    }
    if (!event.is_object()) throw Error(ErrorKind::data, "{}:{}: not a JSON object", events_path.string(), number);
    const std::string status = event.value("status", std::string());
    if (status == "epoch" && event.contains("epoch") && event.contains("data") && event["data"].is_object()) {
      json row = event["data"];
      row["epoch"] = event["epoch"];
      // A resumed run repeats no epoch; if one is, the later row wins.
      if (!epochs.empty() && epochs.back()["epoch"] == row["epoch"]) epochs.erase(epochs.size() - 1);
      epochs.push_back(row);
    } else if (!status.empty() && status != "start" && status != "epoch" && status != "running") {
      summary.status = status;
    }
  }
  summary.epochs = epochs.size();
  const json data = {{"title", title.empty() ? "zoo training report: " + fs::path(run_dir).lexically_normal().filename().string()
                                             : title},
                     {"dir", run_dir},
                     {"created", now_text()},
                     {"status", summary.status.empty() ? "running or stopped" : summary.status},
                     {"epochs", epochs},
                     {"metrics", read_json_file(dir / "metrics.json")},
                     {"train", read_json_file(dir / "train.json")}};
  util::write_file_atomic(out, fill_page(train_page_template(), {{"DATA", script_safe(util::dump_json(data))}}));
  return summary;
}

}  // namespace zoo::report
