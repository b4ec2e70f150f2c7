#include "inference/spatial_labels.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "inference/classifier.hpp"
#include "inference/detector.hpp"
#include "util/base64.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/sha256.hpp"

namespace fs = std::filesystem;

namespace zoo::inference {
namespace {

std::string label_of(int64_t index, const std::vector<std::string>& classes) {
  return index >= 0 && size_t(index) < classes.size() ? classes[size_t(index)] : std::to_string(index);
}

const models::Output& output_named(const models::NamedOutputs& outputs, const std::string& name,
                                   std::initializer_list<int64_t> trailing, int64_t rows) {
  const auto found = outputs.find(name);
  if (found == outputs.end()) {
    std::vector<std::string> names;
    for (const auto& [key, _] : outputs) names.push_back(key);
    throw Error(ErrorKind::model, "the model returned no \"{}\" (it returned: {})", name, fmt::join(names, ", "));
  }
  const auto& shape = found->second.shape;
  bool ok = shape.size() == 1 + trailing.size() && (rows < 0 || shape[0] == rows);
  size_t i = 1;
  for (int64_t size : trailing) {
    if (!ok) break;
    if (size >= 0 && shape[i] != size) ok = false;
    ++i;
  }
  if (!ok) {
    std::vector<std::string> want = {rows < 0 ? std::string("N") : std::to_string(rows)};
    for (int64_t size : trailing) want.push_back(size < 0 ? "?" : std::to_string(size));
    throw Error(ErrorKind::model, "model output \"{}\" has shape [{}], expected [{}]", name, fmt::join(shape, ", "),
                fmt::join(want, ", "));
  }
  return found->second;
}

// Calls use(index, box, score, label) for the detections of a detector row
// that pass the threshold and have an area inside the image (as
// detector.cpp's detections_json keeps them).
template <typename Use>
void for_each_kept(const std::vector<float>& dets, const media::InputGeometry& geometry,
                   const DetectorOptions& options, Use&& use) {
  const double thresh = options.confidence_thresh.value_or(-1.0);
  for (size_t at = 0, index = 0; at + k_detection_values <= dets.size(); at += k_detection_values, ++index) {
    const float score = dets[at + 4];
    if (!(score >= thresh)) continue;
    const RelativeBox box = relative_box(dets[at], dets[at + 1], dets[at + 2], dets[at + 3], geometry);
    if (box.width <= 0 || box.height <= 0) continue;
    use(index, box, score, static_cast<int64_t>(std::lround(dets[at + 5])));
  }
}

nlohmann::ordered_json detection_json(const RelativeBox& box, float score, int64_t label,
                                      const DetectorOptions& options) {
  return nlohmann::ordered_json{{"_cls", "Detection"},
                                {"label", label_of(label, options.classes)},
                                {"bounding_box",
                                 {json_float(float(box.x)), json_float(float(box.y)), json_float(float(box.width)),
                                  json_float(float(box.height))}},
                                {"confidence", json_float(score)}};
}

nlohmann::ordered_json detections_of(nlohmann::ordered_json detections) {
  return nlohmann::ordered_json{{"_cls", "Detections"}, {"detections", std::move(detections)}};
}

size_t count_of(const std::vector<float>& row, size_t at, const char* what) {
  if (row.size() <= at || !(row[at] >= 0)) throw Error(ErrorKind::model, "malformed {} row", what);
  return size_t(row[at]);
}

// Where each of the n detections' masks starts in an instance segmenter row.
std::vector<size_t> mask_offsets(const std::vector<float>& row, size_t n) {
  std::vector<size_t> mask_at(n);
  size_t at = 1 + n * k_detection_values;
  for (size_t i = 0; i < n; ++i) {
    if (at + 2 > row.size()) throw Error(ErrorKind::model, "malformed instance row");
    mask_at[i] = at;
    at += 2 + size_t(row[at]) * size_t(row[at + 1]);
  }
  if (at != row.size()) throw Error(ErrorKind::model, "malformed instance row");
  return mask_at;
}

}  // namespace

std::optional<SpatialKind> spatial_kind(const std::string& output_processor) {
  if (output_processor == "detector") return SpatialKind::detector;
  if (output_processor == "instance_segmenter") return SpatialKind::instance_segmenter;
  if (output_processor == "keypoints") return SpatialKind::keypoints;
  if (output_processor == "segmenter") return SpatialKind::segmenter;
  return std::nullopt;
}

void row_from_named_outputs(const models::NamedOutputs& outputs, SpatialKind kind, double mask_thresh,
                            std::vector<float>& row) {
  row.clear();
  if (kind == SpatialKind::segmenter) {
    throw Error(ErrorKind::config, "output_processor segmenter takes a batch model's [N, classes, H, W] output, "
                "not an input: list model's dicts");
  }
  const auto& boxes = output_named(outputs, "boxes", {4}, -1);
  const int64_t n = boxes.shape[0];
  const auto& labels = output_named(outputs, "labels", {}, n);
  const auto& scores = output_named(outputs, "scores", {}, n);
  const models::Output* masks = nullptr;
  const models::Output* points = nullptr;
  const models::Output* point_scores = nullptr;
  int64_t k = 0;
  if (kind == SpatialKind::instance_segmenter) {
    masks = &output_named(outputs, "masks", {1, -1, -1}, n);
  } else if (kind == SpatialKind::keypoints) {
    points = &output_named(outputs, "keypoints", {-1, 3}, n);
    k = points->shape[1];
    point_scores = &output_named(outputs, "keypoints_scores", {k}, n);
  }
  if (kind != SpatialKind::detector) row.push_back(float(n));
  if (kind == SpatialKind::keypoints) row.push_back(float(k));
  for (int64_t i = 0; i < n; ++i) {
    const float* b = boxes.values.data() + i * 4;
    append_detection(row, b[0], b[1], b[2], b[3], scores.values[size_t(i)], int(std::lround(labels.values[size_t(i)])));
  }
  if (masks) {
    const int64_t h = masks->shape[2];
    const int64_t w = masks->shape[3];
    for (int64_t i = 0; i < n; ++i) {
      // As FiftyOne: soft_mask[int(round(y1)):int(round(y2)), int(round(x1)):int(round(x2))] > mask_thresh,
      // Python's round() being half to even (nearbyint's default mode).
      const float* b = boxes.values.data() + i * 4;
      auto clamp = [](double v, int64_t hi) { return std::clamp<int64_t>(int64_t(std::nearbyint(v)), 0, hi); };
      const int64_t x1 = clamp(b[0], w), y1 = clamp(b[1], h), x2 = clamp(b[2], w), y2 = clamp(b[3], h);
      const int64_t mw = std::max<int64_t>(0, x2 - x1), mh = std::max<int64_t>(0, y2 - y1);
      row.push_back(float(mh));
      row.push_back(float(mw));
      const float* plane = masks->values.data() + i * h * w;
      for (int64_t y = y1; y < y1 + mh; ++y) {
        for (int64_t x = x1; x < x1 + mw; ++x) row.push_back(plane[y * w + x] > mask_thresh ? 1.f : 0.f);
      }
    }
  }
  if (points) {
    for (int64_t i = 0; i < n * k; ++i) {
      row.push_back(points->values[size_t(i * 3)]);
      row.push_back(points->values[size_t(i * 3 + 1)]);
      row.push_back(float(1.0 / (1.0 + std::exp(-double(point_scores->values[size_t(i)])))));
    }
  }
}

void segmentation_rows(const models::Output& output, size_t n, std::vector<std::vector<float>>& rows) {
  const auto& shape = output.shape;
  if (shape.size() != 4 || shape[0] != int64_t(n) || shape[1] < 1) {
    throw Error(ErrorKind::model, "segmenter output has shape [{}], expected [batch, classes, height, width]",
                fmt::join(shape, ", "));
  }
  const size_t classes = size_t(shape[1]);
  const size_t pixels = size_t(shape[2] * shape[3]);
  for (size_t i = 0; i < n; ++i) {
    auto& row = rows[i];
    row.assign(2 + pixels, 0.f);
    row[0] = float(shape[2]);
    row[1] = float(shape[3]);
    const float* base = output.values.data() + i * classes * pixels;
    for (size_t p = 0; p < pixels; ++p) {
      size_t best = 0;
      float best_value = base[p];
      for (size_t c = 1; c < classes; ++c) {
        const float v = base[c * pixels + p];
        if (v > best_value) {
          best_value = v;
          best = c;
        }
      }
      row[2 + p] = float(best);
    }
  }
}

void detector_rows(const models::Output& output, size_t n, std::optional<double> nms,
                   std::vector<std::vector<float>>& rows) {
  if (output.shape.size() != 3 || output.shape[0] != int64_t(n) || output.shape[2] != int64_t(k_detection_values)) {
    throw Error(ErrorKind::model, "a batch model's detector output has shape [{}], expected [batch, detections, "
                "6]: x1, y1, x2, y2 in input pixels, score, class", fmt::join(output.shape, ", "));
  }
  const size_t k = size_t(output.shape[1] * output.shape[2]);
  for (size_t i = 0; i < n; ++i) {
    rows[i].assign(output.values.begin() + long(i * k), output.values.begin() + long((i + 1) * k));
    if (nms) suppress_overlaps(rows[i], *nms);
  }
}

void keypoint_rows(const models::Output& output, size_t n, int width, int height,
                   std::vector<std::vector<float>>& rows) {
  if (output.shape.size() != 4 || output.shape[0] != int64_t(n) || output.shape[3] != 3 || width <= 0) {
    throw Error(ErrorKind::model, "a batch model's keypoints output has shape [{}], expected [batch, people, "
                "keypoints, 3] (y, x, score; 0-1 of the input, whose image_size the config must fix)",
                fmt::join(output.shape, ", "));
  }
  const size_t people = size_t(output.shape[1]), k = size_t(output.shape[2]);
  for (size_t i = 0; i < n; ++i) {
    std::vector<float>& row = rows[i];
    row = {float(people), float(k)};
    const float* image = output.values.data() + i * people * k * 3;
    for (size_t p = 0; p < people; ++p) {
      float x1 = 1e9f, y1 = 1e9f, x2 = -1e9f, y2 = -1e9f, score = 0;
      for (size_t j = 0; j < k; ++j) {
        const float* point = image + (p * k + j) * 3;
        x1 = std::min(x1, point[1] * float(width));
        x2 = std::max(x2, point[1] * float(width));
        y1 = std::min(y1, point[0] * float(height));
        y2 = std::max(y2, point[0] * float(height));
        score += point[2] / float(k);
      }
      append_detection(row, x1, y1, x2, y2, score, 0);
    }
    for (size_t p = 0; p < people; ++p) {
      for (size_t j = 0; j < k; ++j) {
        const float* point = image + (p * k + j) * 3;
        row.insert(row.end(), {point[1] * float(width), point[0] * float(height), point[2]});
      }
    }
  }
}

std::vector<std::array<float, 2>> anchor_centres(const AnchorGrid& grid) {
  std::vector<std::array<float, 2>> centres;
  for (size_t s = 0; s < grid.strides.size(); ++s) {
    const int stride = grid.strides[s];
    const int rows = (grid.height + stride - 1) / stride, cols = (grid.width + stride - 1) / stride;
    for (int gy = 0; gy < rows; ++gy) {
      for (int gx = 0; gx < cols; ++gx) {
        for (int a = 0; a < grid.per_cell[s]; ++a) {
          centres.push_back({float(stride) * (float(gx) + 0.5f), float(stride) * (float(gy) + 0.5f)});
        }
      }
    }
  }
  return centres;
}

void anchor_rows(const models::Output& output, size_t n, const AnchorGrid& grid, double min_score,
                 std::optional<double> nms, bool points, std::vector<std::vector<float>>& rows) {
  const std::vector<std::array<float, 2>> anchors = anchor_centres(grid);
  const auto& shape = output.shape;
  if (shape.size() != 3 || shape[0] != int64_t(n) || shape[1] != int64_t(anchors.size()) || shape[2] < 5 ||
      (shape[2] - 5) % 2 != 0) {
    throw Error(ErrorKind::model, "an SSD output against anchors has shape [{}], expected [batch, {}, 5 + 2 x "
                "points] ({} anchors from strides [{}] with [{}] per cell on the {}x{} input)",
                fmt::join(shape, ", "), anchors.size(), anchors.size(), fmt::join(grid.strides, ", "),
                fmt::join(grid.per_cell, ", "), grid.width, grid.height);
  }
  const size_t count = anchors.size(), values = size_t(shape[2]), k = (values - 5) / 2;
  for (size_t i = 0; i < n; ++i) {
    const float* image = output.values.data() + i * count * values;
    std::vector<float> boxes;
    std::vector<size_t> source;  // the anchor of each box
    for (size_t a = 0; a < count; ++a) {
      const float* raw = image + a * values;
      const double score = 1.0 / (1.0 + std::exp(-double(raw[0])));
      if (!(score >= min_score)) continue;
      const float cx = anchors[a][0] + raw[1], cy = anchors[a][1] + raw[2];
      append_detection(boxes, cx - raw[3] / 2, cy - raw[4] / 2, cx + raw[3] / 2, cy + raw[4] / 2, float(score), 0);
      source.push_back(a);
    }
    std::vector<size_t> kept;
    if (nms) {
      kept = kept_after_overlaps(boxes, *nms);
    } else {
      for (size_t b = 0; b < source.size(); ++b) kept.push_back(b);
      std::stable_sort(kept.begin(), kept.end(), [&](size_t x, size_t y) {
        return boxes[x * k_detection_values + 4] > boxes[y * k_detection_values + 4];
      });
    }
    std::vector<float>& row = rows[i];
    row.clear();
    if (points) row = {float(kept.size()), float(k)};
    for (size_t b : kept) {
      row.insert(row.end(), boxes.begin() + long(b * k_detection_values),
                 boxes.begin() + long((b + 1) * k_detection_values));
    }
    if (!points) continue;
    for (size_t b : kept) {
      const float* raw = image + source[b] * values;
      const auto& anchor = anchors[source[b]];
      for (size_t j = 0; j < k; ++j) {
        row.insert(row.end(), {anchor[0] + raw[5 + 2 * j], anchor[1] + raw[6 + 2 * j], boxes[b * k_detection_values + 4]});
      }
    }
  }
}

std::vector<float> detection_part(const std::vector<float>& row, SpatialKind kind) {
  if (kind == SpatialKind::detector) return row;
  if (kind == SpatialKind::segmenter) return {};
  const size_t n = count_of(row, 0, "detection");
  const size_t start = kind == SpatialKind::keypoints ? 2 : 1;
  if (row.size() < start + n * k_detection_values) throw Error(ErrorKind::model, "malformed detection row");
  return std::vector<float>(row.begin() + long(start), row.begin() + long(start + n * k_detection_values));
}

MaskWriter::MaskWriter(std::string dir) : m_dir(std::move(dir)) {
  if (m_dir.empty()) return;
  std::error_code ec;
  fs::create_directories(m_dir, ec);
  if (ec || !fs::is_directory(m_dir)) {
    throw Error(ErrorKind::io, "--masks-dir {}: cannot create the folder: {}", m_dir, ec ? ec.message() : "not a folder");
  }
  m_dir = fs::absolute(m_dir).lexically_normal().string();
}

void MaskWriter::attach(nlohmann::ordered_json& label, const std::vector<uint16_t>& pixels, int width, int height,
                        const std::string& name) const {
  const bool wide = std::any_of(pixels.begin(), pixels.end(), [](uint16_t v) { return v > 255; });
  cv::Mat mat(height, width, wide ? CV_16UC1 : CV_8UC1);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const uint16_t v = pixels[size_t(y) * size_t(width) + size_t(x)];
      if (wide) {
        mat.at<uint16_t>(y, x) = v;
      } else {
        mat.at<uint8_t>(y, x) = uint8_t(v);
      }
    }
  }
  std::vector<uint8_t> png;
  if (!cv::imencode(".png", mat, png)) throw Error(ErrorKind::io, "cannot encode a {}x{} mask as PNG", width, height);
  if (m_dir.empty()) {
    label["mask_png"] = util::base64_encode(std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
    return;
  }
  const std::string path = (fs::path(m_dir) / (name + ".png")).string();
  util::write_file_atomic(path, std::string(png.begin(), png.end()));
  label["mask_path"] = path;
}

std::string mask_file_stem(const std::string& path, int64_t frame_number) {
  std::string stem = fs::path(path).stem().string();
  if (stem.empty()) stem = "input";
  stem += "-" + util::sha256_hex(path).substr(0, 8);
  if (frame_number > 0) stem += fmt::format("-f{}", frame_number);
  return stem;
}

namespace {

using Json = nlohmann::ordered_json;

// For each pixel of the original image along one axis, the model-input
// pixel its centre falls on: the resize, then the crop, undone (nearest
// neighbour).
std::vector<int64_t> input_pixels(int size, int resized, int offset) {
  std::vector<int64_t> out(size_t(std::max(size, 0)));
  for (int i = 0; i < size; ++i) out[size_t(i)] = int64_t(std::floor((i + 0.5) * resized / size)) - offset;
  return out;
}

// A segmenter row as a Segmentation of the original image: nearest
// neighbour back through the resize, then the crop; outside the crop is
// class 0.
Json segmentation_label(const std::vector<float>& row, const media::InputGeometry& g, const MaskWriter& masks,
                        const std::string& stem) {
  if (row.size() < 2) throw Error(ErrorKind::model, "malformed segmentation row");
  const int64_t h = int64_t(row[0]), w = int64_t(row[1]);
  if (int64_t(row.size()) != 2 + h * w) throw Error(ErrorKind::model, "malformed segmentation row");
  std::vector<uint16_t> mask(size_t(g.width) * size_t(g.height), 0);
  const std::vector<int64_t> xs = input_pixels(g.width, g.resized_width, g.offset_x);
  const std::vector<int64_t> ys = input_pixels(g.height, g.resized_height, g.offset_y);
  for (int y = 0; y < g.height; ++y) {
    const int64_t iy = ys[size_t(y)];
    if (iy < 0 || iy >= h) continue;
    for (int x = 0; x < g.width; ++x) {
      const int64_t ix = xs[size_t(x)];
      if (ix < 0 || ix >= w) continue;
      mask[size_t(y) * size_t(g.width) + size_t(x)] = uint16_t(row[size_t(2 + iy * w + ix)]);
    }
  }
  Json label{{"_cls", "Segmentation"}};
  masks.attach(label, mask, g.width, g.height, stem);
  return label;
}

// An instance segmenter row as Detections, each with its mask.
Json instance_detections(const std::vector<float>& row, const std::vector<float>& dets, const media::InputGeometry& g,
                         const SpatialOptions& options, const MaskWriter& masks, const std::string& stem) {
  auto detections = Json::array();
  const std::vector<size_t> mask_at = mask_offsets(row, dets.size() / k_detection_values);
  size_t kept = 0;
  for_each_kept(dets, g, options.detector, [&](size_t i, const RelativeBox& box, float score, int64_t label) {
    auto detection = detection_json(box, score, label, options.detector);
    const size_t m = mask_at[i];
    const int mh = int(row[m]), mw = int(row[m + 1]);
    if (mh > 0 && mw > 0) {
      std::vector<uint16_t> pixels(size_t(mh) * size_t(mw));
      for (size_t p = 0; p < pixels.size(); ++p) pixels[p] = row[m + 2 + p] > 0.5f ? 255 : 0;
      masks.attach(detection, pixels, mw, mh, fmt::format("{}-{}", stem, kept));
    }
    ++kept;
    detections.push_back(std::move(detection));
  });
  return detections_of(std::move(detections));
}

// A keypoints row as its Detections and Keypoints.
std::pair<Json, Json> keypoint_labels(const std::vector<float>& row, const std::vector<float>& dets,
                                      const media::InputGeometry& g, const SpatialOptions& options) {
  const size_t n = dets.size() / k_detection_values;
  auto detections = Json::array();
  const size_t k = count_of(row, 1, "keypoint");
  const size_t points_at = 2 + n * k_detection_values;
  if (row.size() != points_at + n * k * 3) throw Error(ErrorKind::model, "malformed keypoint row");
  auto keypoints = nlohmann::ordered_json::array();
  for_each_kept(dets, g, options.detector, [&](size_t i, const RelativeBox& box, float score, int64_t label) {
    detections.push_back(detection_json(box, score, label, options.detector));
    auto points = nlohmann::ordered_json::array();
    auto confidence = nlohmann::ordered_json::array();
    for (size_t j = 0; j < k; ++j) {
      const float* p = row.data() + points_at + (i * k + j) * 3;
      const bool missing = options.keypoint_thresh && !(p[2] >= *options.keypoint_thresh);
      if (missing || g.resized_width <= 0 || g.resized_height <= 0) {
        points.push_back({nullptr, nullptr});  // NaN: JSON has no NaN
      } else {
        points.push_back({json_float(float((p[0] + g.offset_x) / g.resized_width)),
                          json_float(float((p[1] + g.offset_y) / g.resized_height))});
      }
      confidence.push_back(json_float(p[2]));
    }
    keypoints.push_back(nlohmann::ordered_json{{"_cls", "Keypoint"},
                                               {"label", label_of(label, options.detector.classes)},
                                               {"points", std::move(points)},
                                               {"confidence", std::move(confidence)}});
  });
  return {detections_of(std::move(detections)), Json{{"_cls", "Keypoints"}, {"keypoints", std::move(keypoints)}}};
}

}  // namespace

std::vector<std::pair<std::string, nlohmann::ordered_json>> spatial_labels(const std::vector<float>& row,
                                                                           SpatialKind kind,
                                                                           const media::InputGeometry& g,
                                                                           const SpatialOptions& options,
                                                                           const MaskWriter& masks,
                                                                           const std::string& stem) {
  if (kind == SpatialKind::segmenter) return {{"", segmentation_label(row, g, masks, stem)}};
  const std::vector<float> dets = detection_part(row, kind);
  if (kind == SpatialKind::instance_segmenter) return {{"", instance_detections(row, dets, g, options, masks, stem)}};
  if (kind == SpatialKind::keypoints) {
    auto [detections, keypoints] = keypoint_labels(row, dets, g, options);
    return {{"_detections", std::move(detections)}, {"_keypoints", std::move(keypoints)}};
  }
  auto detections = Json::array();
  for_each_kept(dets, g, options.detector, [&](size_t, const RelativeBox& box, float score, int64_t label) {
    detections.push_back(detection_json(box, score, label, options.detector));
  });
  return {{"", detections_of(std::move(detections))}};
}

std::string coco_rle_counts(const std::vector<uint8_t>& mask, int width, int height) {
  std::vector<int64_t> counts;
  uint8_t current = 0;
  int64_t run = 0;
  for (int x = 0; x < width; ++x) {
    for (int y = 0; y < height; ++y) {
      const uint8_t v = mask[size_t(y) * size_t(width) + size_t(x)] ? 1 : 0;
      if (v != current) {
        counts.push_back(run);
        run = 0;
        current = v;
      }
      ++run;
    }
  }
  counts.push_back(run);
  std::string out;
  for (size_t i = 0; i < counts.size(); ++i) {
    int64_t x = counts[i];
    if (i > 2) x -= counts[i - 2];
    for (bool more = true; more;) {
      char c = char(x & 0x1f);
      x >>= 5;  // arithmetic: a negative difference ends in -1
      more = (c & 0x10) ? x != -1 : x != 0;
      if (more) c |= 0x20;
      out += char(c + 48);
    }
  }
  return out;
}

std::vector<CocoDetection> coco_detections(const std::vector<float>& row, SpatialKind kind,
                                           const media::InputGeometry& g, const SpatialOptions& options) {
  if (kind == SpatialKind::segmenter) throw Error(ErrorKind::usage, "a segmenter has no detections");
  const std::vector<float> dets = detection_part(row, kind);
  const size_t n = dets.size() / k_detection_values;
  const std::vector<size_t> mask_at = kind == SpatialKind::instance_segmenter ? mask_offsets(row, n)
                                                                              : std::vector<size_t>(n);
  const size_t k = kind == SpatialKind::keypoints ? count_of(row, 1, "keypoint") : 0;
  const size_t points_at = 2 + n * k_detection_values;
  if (kind == SpatialKind::keypoints && row.size() != points_at + n * k * 3) {
    throw Error(ErrorKind::model, "malformed keypoint row");
  }
  // Model-input pixel -> original pixel (the resize and crop undone), and
  // each original pixel's model-input pixel.
  const double sx = g.resized_width > 0 ? double(g.width) / g.resized_width : 0;
  const double sy = g.resized_height > 0 ? double(g.height) / g.resized_height : 0;
  std::vector<int64_t> xs, ys;
  if (kind == SpatialKind::instance_segmenter) {
    xs = input_pixels(g.width, g.resized_width, g.offset_x);
    ys = input_pixels(g.height, g.resized_height, g.offset_y);
  }
  std::vector<CocoDetection> out;
  for_each_kept(dets, g, options.detector, [&](size_t i, const RelativeBox& box, float score, int64_t label) {
    CocoDetection d;
    d.label = label;
    d.score = score;
    d.bbox = {box.x * g.width, box.y * g.height, box.width * g.width, box.height * g.height};
    if (kind == SpatialKind::instance_segmenter) {
      // The box-cropped mask starts at the box's corner rounded half to
      // even (row_from_named_outputs); each original pixel takes the mask
      // pixel its centre falls on.
      const size_t m = mask_at[i];
      const int mh = int(row[m]), mw = int(row[m + 1]);
      const float* d0 = dets.data() + i * k_detection_values;
      const int64_t mx = int64_t(std::nearbyint(std::min(d0[0], d0[2]))), my = int64_t(std::nearbyint(std::min(d0[1], d0[3])));
      std::vector<uint8_t> full(size_t(g.width) * size_t(g.height), 0);
      for (int y = 0; y < g.height && mh > 0; ++y) {
        const int64_t iy = ys[size_t(y)] - std::max<int64_t>(my, 0);
        if (iy < 0 || iy >= mh) continue;
        for (int x = 0; x < g.width; ++x) {
          const int64_t ix = xs[size_t(x)] - std::max<int64_t>(mx, 0);
          if (ix < 0 || ix >= mw) continue;
          full[size_t(y) * size_t(g.width) + size_t(x)] = row[m + 2 + size_t(iy) * size_t(mw) + size_t(ix)] > 0.5f;
        }
      }
      d.rle = coco_rle_counts(full, g.width, g.height);
    } else if (kind == SpatialKind::keypoints) {
      for (size_t j = 0; j < k; ++j) {
        const float* p = row.data() + points_at + (i * k + j) * 3;
        const bool missing = (options.keypoint_thresh && !(p[2] >= *options.keypoint_thresh)) || sx <= 0 || sy <= 0 ||
                             !std::isfinite(p[0]) || !std::isfinite(p[1]);
        if (missing) {
          d.keypoints.insert(d.keypoints.end(), {0.0, 0.0, 0.0});
        } else {
          d.keypoints.insert(d.keypoints.end(), {(p[0] + g.offset_x) * sx, (p[1] + g.offset_y) * sy, 2.0});
          ++d.num_keypoints;
        }
      }
    }
    out.push_back(std::move(d));
  });
  return out;
}

}  // namespace zoo::inference
