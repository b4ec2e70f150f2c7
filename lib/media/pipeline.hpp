// PipelineItem: one decoded input as the input pipeline
// (input_pipeline.hpp) hands it out: an image, or a frame of a video.
#pragma once

#include <cstdint>
#include <cstddef>
#include <string>

#include "media/image.hpp"

namespace zoo::media {

struct PipelineItem {
  size_t index = 0;        // position in the input list
  std::string path;
  int64_t frame_number = 0;  // a video frame: its number, 1-based; 0 for an image (see InputPipeline)
  DecodedImage image;      // image.error set when the input failed
  // A patch (InputPipelineOptions::patches): the index of the detection it
  // is cut from in its image's record, and that detection's label as JSON
  // text; -1 and "" for a whole image or frame.
  int64_t detection = -1;
  std::string detection_label;
  double decode_seconds = 0;  // worker time spent on this item
};

}  // namespace zoo::media
