#include "media/image.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "util/files.hpp"

namespace fs = std::filesystem;

namespace zoo::media {
namespace {

int be16(const std::vector<uint8_t>& b, size_t pos) { return (b[pos] << 8) | b[pos + 1]; }

uint32_t be32(const std::vector<uint8_t>& b, size_t pos) {
  return (uint32_t(b[pos]) << 24) | (uint32_t(b[pos + 1]) << 16) | (uint32_t(b[pos + 2]) << 8) | b[pos + 3];
}

ImageHeader read_jpeg_header(const std::vector<uint8_t>& b) {
  ImageHeader header;
  header.format = "jpeg";
  header.truncated = true;  // until the EOI marker is seen
  const size_t size = b.size();
  size_t pos = 2;
  while (pos < size) {
    if (b[pos] != 0xFF) {
      // Stray bytes before a marker: libjpeg skips them with a warning.
      while (pos < size && b[pos] != 0xFF) ++pos;
      continue;
    }
    while (pos < size && b[pos] == 0xFF) ++pos;  // fill bytes
    if (pos >= size) return header;
    const uint8_t marker = b[pos++];
    if (marker == 0xD9) {  // EOI
      header.truncated = false;
      return header;
    }
    if ((marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) continue;  // no length
    if (pos + 2 > size) return header;
    const size_t length = be16(b, pos);
    if (length < 2 || pos + length > size) return header;
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof && length >= 7) {
      header.height = be16(b, pos + 3);
      header.width = be16(b, pos + 5);
    }
    pos += length;
    if (marker == 0xDA) {
      // Entropy-coded data: runs until a marker other than stuffing (FF00)
      // or a restart marker (FFD0-FFD7).
      while (pos + 1 < size) {
        if (b[pos] == 0xFF) {
          const uint8_t next = b[pos + 1];
          if (next == 0x00 || (next >= 0xD0 && next <= 0xD7)) {
            pos += 2;
            continue;
          }
          if (next == 0xFF) {
            ++pos;
            continue;
          }
          break;  // a real marker: back to the segment loop
        }
        ++pos;
      }
      if (pos + 1 >= size) return header;
    }
  }
  return header;
}

ImageHeader read_png_header(const std::vector<uint8_t>& b) {
  ImageHeader header;
  header.format = "png";
  if (b.size() >= 24 && std::memcmp(&b[12], "IHDR", 4) == 0) {
    header.width = static_cast<int>(std::min<uint32_t>(be32(b, 16), INT32_MAX));
    header.height = static_cast<int>(std::min<uint32_t>(be32(b, 20), INT32_MAX));
  }
  // Walk the chunks (length, type, data, CRC) to IEND; a chunk running past
  // the end of the file means the file was cut. Bytes after IEND are ignored,
  // as decoders do.
  header.truncated = true;
  size_t pos = 8;
  while (pos + 8 <= b.size()) {
    const uint64_t length = be32(b, pos);
    if (std::memcmp(&b[pos + 4], "IEND", 4) == 0) {
      header.truncated = false;
      break;
    }
    pos += 12 + length;
  }
  return header;
}

// Reads a whole file; on failure returns false with a message naming why.
// Anything but a regular file (a FIFO, a device) is refused without being
// read, so it cannot block the run.
bool read_file(const std::string& path, std::vector<uint8_t>& out, std::string& error) {
  const int fd = util::open_regular_file(path, "an image file", error);
  if (fd < 0) return false;
  struct stat st {};
  const bool sized = ::fstat(fd, &st) == 0;
  if (sized && st.st_size == 0) error = "empty file (0 bytes)";
  if (sized && st.st_size > 0) {
    out.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t got = ::read(fd, out.data() + done, out.size() - done);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        error = got < 0 ? fmt::format("read error: {}", std::strerror(errno)) : "read error: the file got shorter";
        break;
      }
      done += size_t(got);
    }
  } else if (!sized) {
    error = "cannot read file";
  }
  ::close(fd);
  return error.empty();
}

// Writes the (already resized and cropped) 8-bit image into CHW floats,
// BGR -> RGB, scaled to [0,1] and normalised.
void to_tensor(const cv::Mat& image, const config::Preprocess& pre, Tensor3& out) {
  const int channels = image.channels();
  out.channels = channels;
  out.height = image.rows;
  out.width = image.cols;
  const size_t plane = size_t(image.rows) * image.cols;
  out.data.resize(plane * channels);
  float scale[3], bias[3];
  for (int c = 0; c < channels; ++c) {
    scale[c] = 1.0f / (255.0f * pre.std[c]);
    bias[c] = -pre.mean[c] / pre.std[c];
  }
  float* dst = out.data.data();
  for (int y = 0; y < image.rows; ++y) {
    const uint8_t* row = image.ptr<uint8_t>(y);
    const size_t offset = size_t(y) * image.cols;
    if (channels == 3) {
      for (int x = 0; x < image.cols; ++x) {
        // OpenCV holds BGR; channel 0 of the tensor is red.
        dst[offset + x] = row[3 * x + 2] * scale[0] + bias[0];
        dst[plane + offset + x] = row[3 * x + 1] * scale[1] + bias[1];
        dst[2 * plane + offset + x] = row[3 * x] * scale[2] + bias[2];
      }
    } else {
      for (int x = 0; x < image.cols; ++x) dst[offset + x] = row[x] * scale[0] + bias[0];
    }
  }
}

// Copies the (already resized and cropped) 8-bit image as packed HWC bytes.
void to_pixels(const cv::Mat& image, Pixels& out) {
  out.channels = image.channels();
  out.height = image.rows;
  out.width = image.cols;
  const size_t row_bytes = size_t(image.cols) * image.channels();
  out.data.resize(row_bytes * image.rows);
  for (int y = 0; y < image.rows; ++y) std::memcpy(out.data.data() + y * row_bytes, image.ptr<uint8_t>(y), row_bytes);
}

// torchvision's CenterCrop of a `size` image to `crop`: the zero padding
// on the leading side when the crop is larger, and the crop's first pixel
// in the padded image (rounded half to even, as Python's round()).
struct CropPlacement {
  int pad = 0;
  int start = 0;
};

CropPlacement center_crop_placement(int size, int crop) {
  const int pad = std::max(0, crop - size);
  return {pad / 2, static_cast<int>(std::nearbyint((size + pad - crop) / 2.0))};
}

}  // namespace

void resize_and_crop(cv::Mat& image, int width, int height, const config::Preprocess& pre);
void random_resized_crop(cv::Mat& image, const config::Augment& augment, config::Size out, std::mt19937_64& rng);
void augment_image(cv::Mat& image, const config::Augment& augment, std::mt19937_64& rng);
void deskew(cv::Mat& image);

ImageHeader read_image_header(const std::vector<uint8_t>& bytes) {
  if (bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) return read_jpeg_header(bytes);
  static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), png_signature, 8) == 0) return read_png_header(bytes);
  return {};
}

config::Size resized_size(int width, int height, const config::Preprocess& pre) {
  // FiftyOne's _build_transforms: image_size, else image_dim, else
  // image_min_dim then image_max_dim.
  if (pre.image_size) return *pre.image_size;
  if (pre.image_dim > 0) {
    // torchvision's Resize(int): the short side becomes image_dim, the long
    // side follows, truncated.
    const int dim = pre.image_dim;
    if (width <= height) return {dim, std::max(1, static_cast<int>(double(dim) * height / width))};
    return {std::max(1, static_cast<int>(double(dim) * width / height)), dim};
  }
  // FiftyOne's MinResize / MaxResize: scale by alpha, round half to even.
  auto scale = [&](double alpha) {
    width = std::max(1, static_cast<int>(std::nearbyint(alpha * width)));
    height = std::max(1, static_cast<int>(std::nearbyint(alpha * height)));
  };
  if (pre.image_min_dim > 0 && std::min(width, height) < pre.image_min_dim) {
    scale(double(pre.image_min_dim) / std::min(width, height));
  }
  if (pre.image_max_dim > 0 && std::max(width, height) > pre.image_max_dim) {
    scale(double(pre.image_max_dim) / std::max(width, height));
  }
  return {width, height};
}

int reduction_for(int width, int height, const config::Preprocess& pre) {
  if (width <= 0 || height <= 0) return 1;
  const auto target = resized_size(width, height, pre);
  // The decoded image may still be rotated by its EXIF orientation. Resizes
  // that keep the aspect ratio turn with it, so comparing short side with
  // short side and long with long is exact; a fixed non-square image_size
  // does not, so then both sides must cover the larger target side.
  int need_short = std::min(target.width, target.height);
  int need_long = std::max(target.width, target.height);
  if (pre.image_size && pre.image_size->width != pre.image_size->height) need_short = need_long;
  const int short_side = std::min(width, height);
  const int long_side = std::max(width, height);
  for (int r : {8, 4, 2}) {
    // libjpeg rounds scaled sizes up.
    if ((short_side + r - 1) / r >= need_short && (long_side + r - 1) / r >= need_long) return r;
  }
  return 1;
}

DecodedImage load_image(const std::string& path, const config::Preprocess& pre, const DecodeLimits& limits,
                        const config::Augment* augment, uint64_t seed) {
  DecodedImage result;
  std::vector<uint8_t> bytes;
  if (!read_file(path, bytes, result.error)) return result;

  const ImageHeader header = read_image_header(bytes);
  if (header.width > 0 && int64_t(header.width) * header.height > limits.max_pixels) {
    result.error = fmt::format("image too large to decode safely: {}x{} = {} pixels (limit {}, see --max-pixels)",
                               header.width, header.height, int64_t(header.width) * header.height, limits.max_pixels);
    return result;
  }
  if (header.truncated) {
    result.error = fmt::format("truncated {} file: data ends before the end-of-image marker",
                               header.format == "jpeg" ? "JPEG" : "PNG");
    return result;
  }

  int reduction = 1;
  // A random crop needs the full image: no reduced decode for augmented loads.
  if (limits.reduced_decode && header.format == "jpeg" && !(augment && augment->random_resized_crop)) reduction = reduction_for(header.width, header.height, pre);
  int flags = pre.channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR;
  if (reduction == 2) flags = pre.channels == 1 ? cv::IMREAD_REDUCED_GRAYSCALE_2 : cv::IMREAD_REDUCED_COLOR_2;
  if (reduction == 4) flags = pre.channels == 1 ? cv::IMREAD_REDUCED_GRAYSCALE_4 : cv::IMREAD_REDUCED_COLOR_4;
  if (reduction == 8) flags = pre.channels == 1 ? cv::IMREAD_REDUCED_GRAYSCALE_8 : cv::IMREAD_REDUCED_COLOR_8;

  cv::Mat image;
  try {
    const cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8UC1, bytes.data());
    if (header.format == "jpeg") {
      image = cv::imdecode(encoded, flags);  // always 8 bits
    } else {
      // Floating-point images (TIFF) hold [0, 1]: OpenCV's own conversion
      // to 8 bits does not scale them (0.5 became 188, not 128). 16-bit
      // images keep OpenCV's conversion (the high byte).
      image = cv::imdecode(encoded, flags | cv::IMREAD_ANYDEPTH);
      if (image.depth() == CV_32F || image.depth() == CV_64F) {
        image.convertTo(image, CV_8U, 255.0);
      } else if (!image.empty() && image.depth() != CV_8U) {
        image = cv::imdecode(encoded, flags);
      }
    }
  } catch (const cv::Exception& e) {
    result.error = fmt::format("cannot decode image: {}", e.err);
    return result;
  }
  if (image.empty()) {
    result.error = header.format.empty() ? "cannot decode image: not a supported image format"
                                         : fmt::format("cannot decode image: corrupt {} data", header.format);
    return result;
  }
  if (int64_t(image.cols) * image.rows > limits.max_pixels) {
    result.error = fmt::format("image too large: {}x{} pixels (limit {}, see --max-pixels)", image.cols, image.rows,
                               limits.max_pixels);
    return result;
  }

  // The original size, after EXIF orientation.
  result.width = image.cols;
  result.height = image.rows;
  result.reduction = reduction;
  if (reduction > 1) {
    const int reduced_w = (header.width + reduction - 1) / reduction;
    const int reduced_h = (header.height + reduction - 1) / reduction;
    const bool rotated = image.cols == reduced_h && image.rows == reduced_w && reduced_w != reduced_h;
    result.width = rotated ? header.height : header.width;
    result.height = rotated ? header.width : header.height;
  }

  if (pre.deskew) deskew(image);
  std::mt19937_64 rng(seed);
  if (augment && augment->random_resized_crop) {
    // The crop replaces resize + center crop; its output has the model's
    // input size.
    config::Size out{image.cols, image.rows};
    if (pre.center_crop) {
      out = *pre.center_crop;
    } else if (pre.image_size || pre.image_dim || pre.image_min_dim || pre.image_max_dim) {
      out = resized_size(image.cols, image.rows, pre);
    }
    random_resized_crop(image, *augment, out, rng);
  } else {
    resize_and_crop(image, result.width, result.height, pre);
  }
  if (augment) augment_image(image, *augment, rng);
  if (limits.keep_pixels) {
    to_pixels(image, result.pixels);
  } else {
    to_tensor(image, pre, result.input);
  }
  return result;
}

DecodedImage prepare_image(cv::Mat& image, const config::Preprocess& pre, const DecodeLimits& limits) {
  DecodedImage result;
  if (image.empty() || image.depth() != CV_8U || (image.channels() != 1 && image.channels() != 3)) {
    result.error = "cannot decode frame: not an 8-bit gray or BGR image";
    return result;
  }
  if (int64_t(image.cols) * image.rows > limits.max_pixels) {
    result.error = fmt::format("frame too large: {}x{} pixels (limit {}, see --max-pixels)", image.cols, image.rows,
                               limits.max_pixels);
    return result;
  }
  if (pre.channels == 1 && image.channels() == 3) {
    cv::cvtColor(image, image, cv::COLOR_BGR2GRAY);
  } else if (pre.channels == 3 && image.channels() == 1) {
    cv::cvtColor(image, image, cv::COLOR_GRAY2BGR);
  }
  result.width = image.cols;
  result.height = image.rows;
  if (pre.deskew) deskew(image);
  resize_and_crop(image, result.width, result.height, pre);
  if (limits.keep_pixels) {
    to_pixels(image, result.pixels);
  } else {
    to_tensor(image, pre, result.input);
  }
  return result;
}

InputGeometry input_geometry(int width, int height, const config::Preprocess& pre) {
  InputGeometry g;
  g.width = width;
  g.height = height;
  const config::Size resized = resized_size(width, height, pre);
  g.resized_width = resized.width;
  g.resized_height = resized.height;
  if (pre.center_crop) {
    // As resize_and_crop: pad to the crop size if needed, then crop.
    const CropPlacement x = center_crop_placement(resized.width, pre.center_crop->width);
    const CropPlacement y = center_crop_placement(resized.height, pre.center_crop->height);
    g.offset_x = x.start - x.pad;
    g.offset_y = y.start - y.pad;
  }
  return g;
}

void resize_and_crop(cv::Mat& image, int width, int height, const config::Preprocess& pre) {
  const config::Size target = resized_size(width, height, pre);
  if (target.width != image.cols || target.height != image.rows) {
    // Area averaging where shrinking by 2x or more (it avoids aliasing);
    // bilinear otherwise: after a DCT-reduced decode the rest of the shrink
    // is under 2x, where bilinear is close in quality and 5-10x faster.
    const bool area = target.width * 2 <= image.cols || target.height * 2 <= image.rows;
    const int filter = area ? cv::INTER_AREA : pre.bicubic ? cv::INTER_CUBIC : cv::INTER_LINEAR;
    cv::resize(image, image, cv::Size(target.width, target.height), 0, 0, filter);
  }
  if (pre.center_crop) {
    const int crop_w = pre.center_crop->width;
    const int crop_h = pre.center_crop->height;
    const CropPlacement x = center_crop_placement(image.cols, crop_w);
    const CropPlacement y = center_crop_placement(image.rows, crop_h);
    if (crop_w > image.cols || crop_h > image.rows) {
      // As torchvision's CenterCrop: pad with zeros when the image is smaller.
      const int pad_w = std::max(0, crop_w - image.cols);
      const int pad_h = std::max(0, crop_h - image.rows);
      cv::copyMakeBorder(image, image, y.pad, pad_h - y.pad, x.pad, pad_w - x.pad, cv::BORDER_CONSTANT,
                         cv::Scalar::all(0));
    }
    image = image(cv::Rect(x.start, y.start, crop_w, crop_h));
  }
}

void random_resized_crop(cv::Mat& image, const config::Augment& augment, config::Size out, std::mt19937_64& rng) {
  // torchvision's RandomResizedCrop.get_params: up to 10 tries of a random
  // area and log-uniform aspect ratio, else a centre crop at the clamped ratio.
  const double area = double(image.cols) * image.rows;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const double log_lo = std::log(augment.crop_ratio[0]);
  const double log_hi = std::log(augment.crop_ratio[1]);
  cv::Rect crop(0, 0, image.cols, image.rows);
  bool found = false;
  for (int attempt = 0; attempt < 10 && !found; ++attempt) {
    const double target_area = area * (augment.crop_scale[0] + unit(rng) * (augment.crop_scale[1] - augment.crop_scale[0]));
    const double ratio = std::exp(log_lo + unit(rng) * (log_hi - log_lo));
    const int w = static_cast<int>(std::round(std::sqrt(target_area * ratio)));
    const int h = static_cast<int>(std::round(std::sqrt(target_area / ratio)));
    if (w > 0 && h > 0 && w <= image.cols && h <= image.rows) {
      const int top = static_cast<int>(unit(rng) * (image.rows - h + 1));
      const int left = static_cast<int>(unit(rng) * (image.cols - w + 1));
      crop = cv::Rect(std::min(left, image.cols - w), std::min(top, image.rows - h), w, h);
      found = true;
    }
  }
  if (!found) {
    const double in_ratio = double(image.cols) / image.rows;
    int w = image.cols, h = image.rows;
    if (in_ratio < augment.crop_ratio[0]) {
      h = std::max(1, static_cast<int>(std::round(w / augment.crop_ratio[0])));
    } else if (in_ratio > augment.crop_ratio[1]) {
      w = std::max(1, static_cast<int>(std::round(h * augment.crop_ratio[1])));
    }
    crop = cv::Rect((image.cols - w) / 2, (image.rows - h) / 2, w, h);
  }
  cv::Mat region = image(crop);
  const bool area_resize = out.width * 2 <= region.cols || out.height * 2 <= region.rows;
  cv::resize(region, image, cv::Size(out.width, out.height), 0, 0, area_resize ? cv::INTER_AREA : cv::INTER_LINEAR);
}

// OpenCV's digits sample: shear the image so that its second-order moments
// show no slant (mu11 = 0), keeping the size.
void deskew(cv::Mat& image) {
  cv::Mat gray = image;
  if (image.channels() == 3) cv::cvtColor(image, gray, cv::COLOR_BGR2GRAY);
  const cv::Moments m = cv::moments(gray);
  if (std::abs(m.mu02) < 1e-2) return;
  const double skew = m.mu11 / m.mu02;
  const cv::Mat shear = (cv::Mat_<double>(2, 3) << 1, skew, -0.5 * image.rows * skew, 0, 1, 0);
  cv::Mat out;
  cv::warpAffine(image, out, shear, image.size(), cv::WARP_INVERSE_MAP | cv::INTER_LINEAR, cv::BORDER_CONSTANT,
                 cv::Scalar::all(0));
  image = out;
}

void augment_image(cv::Mat& image, const config::Augment& augment, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  if (augment.hflip && unit(rng) < 0.5) cv::flip(image, image, 1);
  if (augment.rotate > 0) {
    const double angle = (unit(rng) * 2 - 1) * augment.rotate;
    const cv::Point2f centre((image.cols - 1) / 2.0f, (image.rows - 1) / 2.0f);
    const cv::Mat rotation = cv::getRotationMatrix2D(centre, angle, 1.0);
    cv::warpAffine(image, image, rotation, image.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  }
  if (augment.random_affine) {
    // Rotation and scale about the centre, then an x shear about the
    // centre, then the shift (continuous, where torchvision rounds it to
    // whole pixels).
    const double angle = (unit(rng) * 2 - 1) * augment.affine_degrees;
    const double scale = augment.affine_scale[0] + unit(rng) * (augment.affine_scale[1] - augment.affine_scale[0]);
    const double shear = (unit(rng) * 2 - 1) * augment.affine_shear;
    const double tx = (unit(rng) * 2 - 1) * augment.affine_translate[0] * image.cols;
    const double ty = (unit(rng) * 2 - 1) * augment.affine_translate[1] * image.rows;
    const double cx = (image.cols - 1) / 2.0, cy = (image.rows - 1) / 2.0;
    cv::Mat m = cv::getRotationMatrix2D(cv::Point2f(float(cx), float(cy)), angle, scale);
    const double k = std::tan(shear * CV_PI / 180.0);
    const cv::Mat shear_m = (cv::Mat_<double>(2, 3) << 1, k, -k * cy, 0, 1, 0);
    cv::Mat full = cv::Mat::eye(3, 3, CV_64F);
    m.copyTo(full.rowRange(0, 2));
    m = shear_m * full;
    m.at<double>(0, 2) += tx;
    m.at<double>(1, 2) += ty;
    cv::warpAffine(image, image, m, image.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  }
  if (augment.elastic_alpha > 0) {
    // Simard et al. (2003): a random displacement field, smoothed by a
    // Gaussian, scaled by alpha.
    cv::Mat dx(image.size(), CV_32F), dy(image.size(), CV_32F);
    for (int y = 0; y < image.rows; ++y) {
      for (int x = 0; x < image.cols; ++x) {
        dx.at<float>(y, x) = float(unit(rng) * 2 - 1);
        dy.at<float>(y, x) = float(unit(rng) * 2 - 1);
      }
    }
    cv::GaussianBlur(dx, dx, cv::Size(0, 0), augment.elastic_sigma);
    cv::GaussianBlur(dy, dy, cv::Size(0, 0), augment.elastic_sigma);
    cv::Mat map_x(image.size(), CV_32F), map_y(image.size(), CV_32F);
    for (int y = 0; y < image.rows; ++y) {
      for (int x = 0; x < image.cols; ++x) {
        map_x.at<float>(y, x) = float(x + augment.elastic_alpha * dx.at<float>(y, x));
        map_y.at<float>(y, x) = float(y + augment.elastic_alpha * dy.at<float>(y, x));
      }
    }
    cv::Mat warped;
    cv::remap(image, warped, map_x, map_y, cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar::all(0));
    image = warped;
  }
  // color_jitter: brightness, contrast, saturation factors, applied in a
  // fixed order (torchvision shuffles it; a fixed order keeps runs simple).
  auto factor = [&](double strength) { return 1.0 + (unit(rng) * 2 - 1) * strength; };
  if (augment.brightness > 0) image.convertTo(image, -1, factor(augment.brightness), 0);
  if (augment.contrast > 0) {
    const double f = factor(augment.contrast);
    cv::Mat gray;
    if (image.channels() == 3) {
      cv::cvtColor(image, gray, cv::COLOR_BGR2GRAY);
    } else {
      gray = image;
    }
    const double mean = cv::mean(gray)[0];
    image.convertTo(image, -1, f, (1 - f) * mean);
  }
  if (augment.saturation > 0 && image.channels() == 3) {
    const double f = factor(augment.saturation);
    cv::Mat gray, gray3;
    cv::cvtColor(image, gray, cv::COLOR_BGR2GRAY);
    cv::cvtColor(gray, gray3, cv::COLOR_GRAY2BGR);
    cv::addWeighted(image, f, gray3, 1 - f, 0, image);
  }
}

}  // namespace zoo::media

