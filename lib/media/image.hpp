// Image decoding and preprocessing: file bytes -> the model's float input
// (CHW, RGB or gray, resized, cropped, normalised). Runs on worker threads;
// no Torch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/model_config.hpp"

namespace cv {
class Mat;
}

namespace zoo::media {

// What a header says about an image, read without decoding it.
struct ImageHeader {
  std::string format;  // "jpeg", "png", or "" when not parsed
  int width = 0;
  int height = 0;
  bool truncated = false;  // JPEG: entropy-coded data ends before the EOI marker
};

// Parses JPEG (SOFn) and PNG (IHDR) headers; other formats give format "".
// A JPEG is also scanned to its end to detect truncation (libjpeg silently
// fills a truncated image with grey, so decoding alone cannot tell).
ImageHeader read_image_header(const std::vector<uint8_t>& bytes);

// A preprocessed image ready for batching.
struct Tensor3 {
  int channels = 0;
  int height = 0;
  int width = 0;
  std::vector<float> data;  // CHW, channels*height*width values
};

// 8-bit pixels, HWC, BGR (3 channels) or gray (1): what OpenCV's
// detectors take instead of a float tensor.
struct Pixels {
  int channels = 0;
  int height = 0;
  int width = 0;
  std::vector<uint8_t> data;  // height*width*channels bytes, rows packed
};

// PIL's default limit on an image's pixels (Image.MAX_IMAGE_PIXELS): larger
// images are refused unread, as decompression bombs.
constexpr int64_t k_default_max_pixels = 178956970;

struct DecodeLimits {
  int64_t max_pixels = k_default_max_pixels;  // refuse images with more pixels than this
  bool reduced_decode = true;      // decode large JPEGs at 1/2, 1/4 or 1/8 when the model input is small
  bool keep_pixels = false;        // resize and crop as configured, then keep 8-bit pixels (DecodedImage::pixels)
                                   // instead of making the normalised tensor (DecodedImage::input)
};

// The result of decoding one file. On failure `error` says why and the
// other fields are unset.
struct DecodedImage {
  std::string error;
  int width = 0;   // original size, after EXIF orientation
  int height = 0;
  int reduction = 1;  // JPEG DCT scale factor used (1, 2, 4 or 8)
  Tensor3 input;      // the model input (unless DecodeLimits::keep_pixels)
  Pixels pixels;      // with DecodeLimits::keep_pixels, instead of `input`
};

// How the model input (after resize and center crop) sits on the original
// image. Resizing keeps relative positions, so the input point (x, y) is at
// ((x + offset_x) / resized_width, (y + offset_y) / resized_height) in
// coordinates relative to the original image.
struct InputGeometry {
  int width = 0;           // the original image, after EXIF orientation
  int height = 0;
  int resized_width = 0;   // what the preprocessing resized it to, before the crop
  int resized_height = 0;
  int offset_x = 0;        // the crop's left edge in the resized image (negative when the crop pads)
  int offset_y = 0;
};

// The geometry of preprocessing a width x height image with `pre`
// (resized_size, then torchvision's CenterCrop: centred, rounded half to
// even, zero padding when the crop is larger).
InputGeometry input_geometry(int width, int height, const config::Preprocess& pre);

// The JPEG DCT reduction (1, 2, 4 or 8) for an image of w x h so that the
// reduced image stays at least as large as every target side the
// preprocessing will resize to. 1 when the preprocessing does not resize.
int reduction_for(int width, int height, const config::Preprocess& pre);

// The size the preprocessing resizes a width x height image to (before the
// center crop), with FiftyOne's precedence and rounding: image_size; else
// image_dim (torchvision Resize(int): long side truncated); else
// image_min_dim then image_max_dim (MinResize/MaxResize: rounded).
config::Size resized_size(int width, int height, const config::Preprocess& pre);

// Reads `path`, decodes it (EXIF orientation applied) and preprocesses it.
// With `augment` (training), applies its random transforms drawn from a
// generator seeded with `seed`: the same seed gives the same image.
// Never throws for bad inputs: unreadable, empty, truncated, undecodable or
// too-large files give `error`.
DecodedImage load_image(const std::string& path, const config::Preprocess& pre, const DecodeLimits& limits,
                        const config::Augment* augment = nullptr, uint64_t seed = 0);

// Preprocesses an image that is already decoded (a video frame): 8-bit BGR
// or gray pixels, as load_image does after decoding (the original size is
// the frame's). `image` is consumed. Never throws for bad sizes: too many
// pixels gives `error`.
DecodedImage prepare_image(cv::Mat& image, const config::Preprocess& pre, const DecodeLimits& limits);

}  // namespace zoo::media
