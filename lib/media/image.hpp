// Image decoding and preprocessing: file bytes -> the model's float input
// (CHW, RGB or gray, resized, cropped, normalised). Runs on worker threads;
// no Torch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/model_config.hpp"

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

struct DecodeLimits {
  int64_t max_pixels = 178956970;  // refuse images with more pixels than this (PIL's default limit)
  bool reduced_decode = true;      // decode large JPEGs at 1/2, 1/4 or 1/8 when the model input is small
};

// The result of decoding one file. On failure `error` says why and the
// other fields are unset.
struct DecodedImage {
  std::string error;
  int width = 0;   // original size, after EXIF orientation
  int height = 0;
  int reduction = 1;  // JPEG DCT scale factor used (1, 2, 4 or 8)
  Tensor3 input;
};

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

}  // namespace zoo::media
