#pragma once

#include <cstdint>

namespace zoo::models {

// An op that follows a convolution and is computed inside it.
struct PostOp {
  enum Kind { relu, clamp, silu, sigmoid, hardswish, hardsigmoid, add } kind;
  float low = 0, high = 0;  // clamp's bounds
};

// One depthwise convolution (a k x k filter per channel, groups equal to
// channels) of one image, dense NHWC in and out.
struct Depthwise {
  int64_t channels = 0, height = 0, width = 0;  // the input
  int64_t kernel = 0, stride = 1, padding = 0;  // the same along both axes; dilation 1
  int64_t out_width = 0;                        // PyTorch's floor rule
  // SiLU of each input value before it is convolved: the activation of the
  // convolution that wrote the input, moved here (fused_conv.cpp). Each
  // input row is activated once into a ring of the window's rows, which
  // stays in cache, instead of by a post-op of that convolution's.
  bool input_silu = false;
};

// Whether depthwise_rows runs a depthwise convolution of this kernel size
// and stride followed by `post` (null, or one op that is not an add): on
// CPUs with AVX-512, kernels of 3 and 5, strides 1 and 2, any number of
// channels, any padding. On efficientnet_b0's layers with their SiLU, oneDNN
// 2.6's kernel took 2.36 ms an image on one thread, this one 1.89 before
// its SiLU was made 2x cheaper (docs/performance.md).
bool depthwise_runs(int64_t kernel, int64_t stride, const PostOp* post);

// Output rows [first_row, end_row) of `d` on `image`, with `post` (null:
// none) applied, written to `out`. `weights` is [kernel][kernel][channels
// rounded up to 16] and `bias` [channels rounded up to 16], zero past the
// channels. Each output is summed in one fixed order: its value depends on
// nothing but its inputs. `row_sums`: null, or [output rows][channels
// rounded up to 16], 64-byte aligned, where each of these rows' outputs is
// summed per channel, left to right (for the average pool that follows
// squeeze-and-excitation's depthwise convolutions, without a pass of its
// own over them). Requires depthwise_runs(d.kernel, d.stride, post).
void depthwise_rows(const Depthwise& d, const PostOp* post, const float* image, const float* weights,
                    const float* bias, float* out, float* row_sums, int64_t first_row, int64_t end_row);

}  // namespace zoo::models
