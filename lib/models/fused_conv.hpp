#pragma once

#include <memory>

namespace torch::jit {
struct Graph;
}

namespace zoo::models {

// Replaces each 2-D convolution of a frozen graph whose weights and settings
// are constants by zoo::conv, which runs it through oneDNN on dense
// channels_last tensors: oneDNN primitives made once per input shape, the
// weights reordered once, and the activation (ReLU, ReLU6 and other clamps,
// SiLU, sigmoid, hardswish, hardsigmoid) and residual add that follow the
// convolution fused into it as post-ops, so that they cost no pass of their
// own over the activations. 3x3 stride-1 convolutions of at least 64
// channels in and out may run by Winograd's algorithm: on inputs large
// enough for it to pay, where oneDNN's F(2x2,3x3) takes them whatever the
// thread count. Depthwise convolutions run on zoo's own kernel
// (depthwise.hpp) where it has them; where one is the only reader of a 1x1
// convolution or of a stem (a convolution of the image's few channels), it
// computes that one too, and where it is the only reader of another
// convolution ending with SiLU, that SiLU as it reads.
//
// LibTorch 1.13's own route (optimize_for_inference) fuses only ReLU, pays
// a layout conversion around every op it cannot run in oneDNN's blocked
// layouts, and computes hardswish, hardsigmoid, ReLU6 and clamp wrongly
// on channels padded to those layouts; dense NHWC has no padding.
struct FusedConvolutions {
  int convolutions = 0;  // replaced
  int winograd = 0;      // of them, those that may run by Winograd's algorithm
  int depthwise = 0;     // of them, depthwise ones zoo's own kernel runs (depthwise.hpp)
  int expansions = 0;    // of those, ones that compute the convolution before them (1x1, or a stem)
  int input_silu = 0;    // of those, ones that compute the SiLU of the convolution before them
  int pooled = 0;        // of those, ones that compute the global average pool after them
};
FusedConvolutions fuse_convolutions(const std::shared_ptr<torch::jit::Graph>& graph);

}  // namespace zoo::models
