#pragma once

#include <cstdint>

namespace zoo::models {

// An op that follows a convolution and is computed inside it.
struct PostOp {
  enum Kind { relu, clamp, silu, sigmoid, hardswish, hardsigmoid, add } kind;
  float low = 0, high = 0;  // clamp's bounds
};

// A convolution and its activation computed before a depthwise
// convolution, on its input, moved here (fused_conv.cpp): mobilenet's and
// efficientnet's 1x1 expansion (stride 1, no padding), or the network's
// first convolution, of the image's few channels (the stem). Each of its
// output rows is computed once into a ring of the window's rows, which
// stays in cache: its output is never written out and read back.
struct Expansion {
  int64_t in_channels = 0;
  int64_t height = 0, width = 0;  // its input
  // A kernel of more than 1: the image's strides in floats (channel, row,
  // column), whatever its layout: the kernel copies each window's rows.
  // A 1x1's image is dense NHWC.
  int64_t channel_step = 0, row_step = 0, column_step = 0;
  int64_t kernel = 1, stride = 1, padding = 0;  // the same along both axes; dilation 1
  // [kernel][kernel][in_channels][the depthwise channels rounded up to
  // 16], zero past them.
  const float* weights = nullptr;
  const float* bias = nullptr;   // [the depthwise channels rounded up to 16], zero past them
  const PostOp* post = nullptr;  // null: none; else as expansion_runs allows
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
  // Null, or the convolution whose output is convolved, computed here: the
  // image is then its input, of expansion->in_channels. Not with
  // input_silu.
  const Expansion* expansion = nullptr;
};

// Whether depthwise_rows runs a depthwise convolution of this kernel size
// and stride followed by `post` (null, or one op that is not an add): on
// CPUs with AVX-512, kernels of 3 and 5, strides 1 and 2, any number of
// channels, any padding. On efficientnet_b0's layers with their SiLU, oneDNN
// 2.6's kernel took 2.36 ms an image on one thread, this one 1.89 before
// its SiLU was made 2x cheaper (docs/performance.md).
bool depthwise_runs(int64_t kernel, int64_t stride, const PostOp* post);

// Whether depthwise_rows computes an expansion of this kernel size, stride,
// padding and input channels ending with `post` (null, or one op: none,
// ReLU and other clamps, SiLU, hardswish): a 1x1 of stride 1 and no
// padding, or one of at most 4 input channels, a kernel of at most 7,
// stride 1 or 2 and less padding than the kernel.
bool expansion_runs(int64_t kernel, int64_t stride, int64_t padding, int64_t in_channels, const PostOp* post);

// What of an image's output depthwise_rows computes: rows [first_row,
// end_row) of channels [16 first_block, 16 end_block) (the channels up to a
// multiple of 16).
struct Part {
  int64_t first_row = 0, end_row = 0, first_block = 0, end_block = 0;
};

// The part `part` of `d`'s output on `image`, with `post` (null: none)
// applied, written to `out`. `weights` is [kernel][kernel][channels
// rounded up to 16] and `bias` [channels rounded up to 16], zero past the
// channels. Each output is summed in one fixed order: its value depends on
// nothing but its inputs. `row_sums`: null, or [output rows][channels
// rounded up to 16], 64-byte aligned, where each of the part's rows'
// outputs is summed per channel, left to right (for the average pool that
// follows squeeze-and-excitation's depthwise convolutions, without a pass
// of its own over them). Requires depthwise_runs(d.kernel, d.stride,
// post), and expansion_runs of the expansion's kernel, stride, padding,
// input channels and post-op where there is one.
void depthwise_rows(const Depthwise& d, const PostOp* post, const float* image, const float* weights,
                    const float* bias, float* out, float* row_sums, const Part& part);

}  // namespace zoo::models
