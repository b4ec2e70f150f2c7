#include "models/fused_conv.hpp"

#include "models/depthwise.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <torch/custom_class.h>
#include <torch/script.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>

namespace zoo::models {
namespace {

using torch::jit::Node;
using torch::jit::Value;

struct Settings {
  std::array<int64_t, 2> stride{1, 1}, padding{0, 0}, dilation{1, 1};
  int64_t groups = 1;
};

const dnnl::engine& cpu() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& stream() {
  thread_local dnnl::stream s(cpu());
  return s;
}

// The output size along spatial axis `axis` (0 height, 1 width) of a
// window of `kernel` sliding over `in` (PyTorch's floor rule), or -1 when
// the padded input is smaller than the dilated window.
int64_t window_output(int64_t in, int64_t kernel, const Settings& s, int axis) {
  const int64_t span = s.dilation[axis] * (kernel - 1) + 1;
  const int64_t room = in + 2 * s.padding[axis] - span;
  return room < 0 ? -1 : room / s.stride[axis] + 1;
}

// The same op as ATen computes it, for the post-ops that cannot be fused
// (a residual of another shape than the convolution's output).
at::Tensor apply_in_aten(const PostOp& op, const at::Tensor& x, const at::Tensor& other) {
  switch (op.kind) {
    case PostOp::relu: return at::relu(x);
    case PostOp::clamp: return at::clamp(x, op.low, op.high);
    case PostOp::silu: return at::silu(x);
    case PostOp::sigmoid: return at::sigmoid(x);
    case PostOp::hardswish: return at::hardswish(x);
    case PostOp::hardsigmoid: return at::hardsigmoid(x);
    case PostOp::add: return at::add(x, other);
  }
  return x;
}

// `op` on one value, as oneDNN's eltwise post-op defines it.
float apply(const PostOp& op, float x) {
  switch (op.kind) {
    case PostOp::relu: return x > 0 ? x : 0.f;
    case PostOp::clamp: return std::min(std::max(x, op.low), op.high);
    case PostOp::silu: return x / (1.f + std::exp(-x));
    case PostOp::sigmoid: return 1.f / (1.f + std::exp(-x));
    case PostOp::hardswish: return x * std::min(std::max(x + 3.f, 0.f), 6.f) / 6.f;
    case PostOp::hardsigmoid: return std::min(std::max(x / 6.f + 0.5f, 0.f), 1.f);
    case PostOp::add: break;
  }
  return x;
}

// One image of `channels` (a multiple of 16) and `pixels` between dense
// NHWC and oneDNN's nChw16c (16 channels of each pixel together, block
// after block), rows of 16 floats moved on all the threads: 3-4x faster
// than oneDNN 2.6's own reorder here. IntoBlocks: NHWC to nChw16c, else
// back.
template <bool IntoBlocks>
void move_blocks(const float* from, float* to, int64_t channels, int64_t pixels) {
  at::parallel_for(0, pixels, 256, [&](int64_t begin, int64_t end) {
    for (int64_t b = 0; b < channels / 16; ++b) {
      for (int64_t p = begin; p < end; ++p) {
        const int64_t dense = p * channels + b * 16, blocked = (b * pixels + p) * 16;
        const float* row = from + (IntoBlocks ? dense : blocked);
        float* into = to + (IntoBlocks ? blocked : dense);
        for (int k = 0; k < 16; ++k) into[k] = row[k];
      }
    }
  });
}

// One convolution with its post-ops. Its oneDNN primitives depend on the
// input's batch size and spatial size, so they are made on first use of
// each and kept; the weights are reordered once into each layout the
// primitives ask for.
class Convolution : public torch::CustomClassHolder {
 public:
  Convolution(at::Tensor weight, at::Tensor bias, Settings settings, std::vector<PostOp> post)
      : m_weight(std::move(weight)), m_bias(std::move(bias)), m_settings(settings), m_post(std::move(post)) {
    decide();
  }

  at::Tensor run(const at::Tensor& x) { return run(x, nullptr); }

  // Leaves out the SiLU this convolution ends with, for the depthwise
  // convolution that reads its output to compute (take_input_silu): false
  // if it does not end with one.
  bool drop_last_silu() {
    if (m_post.empty() || m_post.back().kind != PostOp::silu) return false;
    m_post.pop_back();
    decide();
    return true;
  }

  // Whether this convolution can compute its input's SiLU: where zoo's own
  // depthwise kernel runs it, and its input is not an expansion it computes
  // (take_expansion).
  bool may_take_input_silu() const { return by_own_depthwise() && !m_input_silu && !expands(); }

  // Computes the SiLU of the input before convolving it. Requires
  // may_take_input_silu().
  void take_input_silu() {
    TORCH_CHECK(may_take_input_silu(), "zoo::conv: only zoo's depthwise kernel computes its input's SiLU");
    m_input_silu = true;
  }

  // Computes `expansion`, the convolution and activation whose output is
  // this depthwise convolution's input, from that convolution's input:
  // where zoo's depthwise kernel runs this one and computes that one (a 1x1
  // of stride 1 and no padding, or one of the image's few channels:
  // depthwise.hpp). False, and nothing changed, where it does not.
  bool take_expansion(const Convolution& expansion) {
    const Settings& s = expansion.m_settings;
    const at::Tensor& w = expansion.m_weight;
    const int64_t channels = m_weight.size(0), in = w.size(1), k = w.size(2);
    if (!by_own_depthwise() || m_input_silu || expands() || expansion.expands() || expansion.m_input_silu ||
        s.groups != 1 || w.size(0) != channels || w.size(3) != k || s.stride[0] != s.stride[1] ||
        s.padding[0] != s.padding[1] || s.dilation != std::array<int64_t, 2>{1, 1} || expansion.m_post.size() > 1 ||
        !expansion_runs(k, s.stride[0], s.padding[0], in,
                        expansion.m_post.empty() ? nullptr : &expansion.m_post[0])) {
      return false;
    }
    m_expansion_weights = at::zeros({k, k, in, padded_channels()}, w.options());
    m_expansion_weights.narrow(3, 0, channels).copy_(w.permute({2, 3, 1, 0}));
    m_expansion_bias = at::zeros({padded_channels()}, w.options());
    m_expansion_bias.narrow(0, 0, channels).copy_(expansion.m_bias);
    m_expansion_post = expansion.m_post;
    m_expansion_settings = s;
    return true;
  }
  bool expands() const { return m_expansion_weights.defined(); }

  // The convolution with the residual added where its post-ops add it. A
  // residual that is this op's alone (its last use, nothing else viewing
  // its memory: the interpreter passes it with one reference) is the
  // output: oneDNN adds into it (a "sum" post-op), which spares a buffer
  // and suits its fastest kernels, which take no other operand.
  at::Tensor run(const at::Tensor& x, const at::Tensor* residual) {
    const at::Tensor input = channels_last_input(x, "zoo::conv");
    const std::array<int64_t, 4> shape = output_shape(input);
    if (!residual && on_pixel(input)) return run_on_pixel(input, shape);
    if (!residual && by_own_depthwise()) return run_depthwise(input, shape, nullptr);
    size_t fused = m_post.size();
    Residual kind = Residual::none;
    at::Tensor out;
    if (residual) {
      const at::Tensor& r = *residual;
      if (r.sizes() != at::IntArrayRef(shape) || r.scalar_type() != at::kFloat || r.layout() != at::kStrided) {
        fused = add_index();
      } else if (r.is_contiguous(at::MemoryFormat::ChannelsLast) && r.use_count() == 1 &&
                 r.storage().use_count() == 1 && !r.is_same(x) && r.storage().data() != x.storage().data()) {
        kind = Residual::in_place;
        out = r;
      } else {
        kind = Residual::operand;
      }
    }
    at::Tensor operand;
    if (kind == Residual::operand) operand = residual->contiguous(at::MemoryFormat::ChannelsLast);
    if (!out.defined()) out = at::empty(shape, input.options().memory_format(at::MemoryFormat::ChannelsLast));
    {
      // The primitive's arguments are made once and pointed at this call's
      // tensors; one call at a time (oneDNN runs each on all the threads).
      std::lock_guard lock(m_mutex);
      if (fused == m_post.size() && m_by_winograd && winograd_pays(shape)) {
        if (Winograd* wg = winograd(input.size(2), input.size(3), kind != Residual::none)) {
          const at::Tensor& added = kind == Residual::operand ? operand : out;  // in place: the output
          run_winograd(*wg, input, kind == Residual::none ? nullptr : added.data_ptr<float>(), out);
          return out;
        }
      }
      Compiled& c = compiled(input.size(0), input.size(2), input.size(3), fused, kind);
      c.args.at(DNNL_ARG_SRC).set_data_handle(input.data_ptr());
      c.args.at(DNNL_ARG_DST).set_data_handle(out.data_ptr());
      if (operand.defined()) {
        c.args.at(DNNL_ARG_ATTR_MULTIPLE_POST_OP(c.residual_index) | DNNL_ARG_SRC_1)
            .set_data_handle(operand.data_ptr());
      }
      c.primitive.execute(stream(), c.args);
      stream().wait();
    }
    for (size_t i = fused; i < m_post.size(); ++i) out = apply_in_aten(m_post[i], out, *residual);  // has an add
    return out;
  }

  // Whether this convolution runs by Winograd's algorithm on inputs large
  // enough (winograd_pays).
  bool by_winograd() const { return m_by_winograd; }

  // Whether zoo's own depthwise kernel runs this convolution (where it has
  // no residual to add).
  bool by_own_depthwise() const { return m_depthwise_weights.defined(); }

  // The convolution and the global average of its output, [N, C, 1, 1],
  // summed as the kernel writes the output: row by row, left to right, then
  // the rows top to bottom (whatever the threads). Requires
  // by_own_depthwise().
  std::tuple<at::Tensor, at::Tensor> run_pooled(const at::Tensor& x) {
    TORCH_CHECK(by_own_depthwise(), "zoo::conv_pool: the convolution does not run on zoo's depthwise kernel");
    const at::Tensor input = channels_last_input(x, "zoo::conv_pool");
    const std::array<int64_t, 4> shape = output_shape(input);
    const int64_t images = shape[0], channels = shape[1], rows = shape[2], padded = padded_channels();
    at::Tensor row_sums = at::empty({images, rows, padded}, input.options());
    at::Tensor out = run_depthwise(input, shape, row_sums.data_ptr<float>());
    at::Tensor pooled = at::zeros({images, channels, 1, 1}, input.options());
    const float count = float(rows * shape[3]);
    for (int64_t n = 0; n < images; ++n) {
      float* mean = pooled.data_ptr<float>() + n * channels;
      for (int64_t r = 0; r < rows; ++r) {
        const float* sum = row_sums.data_ptr<float>() + (n * rows + r) * padded;
        for (int64_t c = 0; c < channels; ++c) mean[c] += sum[c];
      }
      for (int64_t c = 0; c < channels; ++c) mean[c] /= count;
    }
    return {out, pooled};
  }

 private:
  // x as a dense channels_last tensor, after checking it is an input this
  // convolution takes; `op` names it in the error. A stem's (an expansion
  // of a kernel larger than 1) is read with its strides, as it is.
  at::Tensor channels_last_input(const at::Tensor& x, const char* op) const {
    const int64_t in_channels = expands() ? m_expansion_weights.size(2) : m_weight.size(1) * m_settings.groups;
    TORCH_CHECK(x.dim() == 4 && x.scalar_type() == at::kFloat && x.layout() == at::kStrided &&
                    x.size(1) == in_channels,
                op, ": expected a float tensor of shape [N, ", in_channels, ", H, W], got ", x.sizes());
    return expands_stem() ? x : x.contiguous(at::MemoryFormat::ChannelsLast);
  }

  // The kernel size of the expansion this depthwise convolution computes
  // (1 where there is none); larger than 1: a stem, the network's first
  // convolution, of the image.
  int64_t expansion_kernel() const { return expands() ? m_expansion_weights.size(0) : 1; }
  bool expands_stem() const { return expansion_kernel() > 1; }

  // What runs this convolution with its post-ops as they are now: whether
  // Winograd's algorithm may, and whether zoo's depthwise kernel does.
  void decide() {
    // A 3x3 stride-1 convolution of at least 64 channels in and out, in
    // multiples of 16, where oneDNN has the primitive (2.6 has it on AVX-512
    // machines): asked once here, for a 14x14 input. (DenseNet's 128 to 32
    // channels measured 0.95x.)
    const Settings& s = m_settings;
    const int64_t out = m_weight.size(0), in = m_weight.size(1);
    m_by_winograd = s.groups == 1 && m_weight.size(2) == 3 && m_weight.size(3) == 3 &&
                    s.stride == std::array<int64_t, 2>{1, 1} && s.dilation == std::array<int64_t, 2>{1, 1} &&
                    out >= 64 && in >= 64 && out % 16 == 0 && in % 16 == 0 &&
                    winograd_desc(14, 14, add_index() < m_post.size());
    prepare_depthwise();
  }

  // How the residual reaches oneDNN: as a second operand (a "binary"
  // post-op), or as the output it adds into (a "sum" post-op).
  enum class Residual { none, operand, in_place };

  // A 1x1 convolution of a 1x1 input: squeeze-and-excitation's two layers
  // after its global pool. Per image that is a vector-matrix product of a
  // few thousand terms, which costs less than a oneDNN call (13 us each in
  // efficientnet_b0 at batch 1).
  bool on_pixel(const at::Tensor& input) const {
    return input.size(2) == 1 && input.size(3) == 1 && m_weight.size(2) == 1 && m_weight.size(3) == 1 &&
           m_settings.groups == 1 && m_settings.padding == std::array<int64_t, 2>{0, 0};
  }

  // The product image by image, each in one fixed order (so an image's
  // values do not depend on its batch), vectorised over the outputs.
  at::Tensor run_on_pixel(const at::Tensor& input, const std::array<int64_t, 4>& shape) {
    const int64_t images = shape[0], outputs = shape[1], inputs = input.size(1);
    at::Tensor out = at::empty(shape, input.options().memory_format(at::MemoryFormat::ChannelsLast));
    const float* weights = pixel_weights().data_ptr<float>();  // [inputs][outputs]
    const float* bias = m_bias.data_ptr<float>();
    for (int64_t n = 0; n < images; ++n) {
      const float* x = input.data_ptr<float>() + n * inputs;
      float* y = out.data_ptr<float>() + n * outputs;
      std::copy(bias, bias + outputs, y);
      for (int64_t i = 0; i < inputs; ++i) {
        const float xi = x[i];
        const float* w = weights + i * outputs;
        for (int64_t o = 0; o < outputs; ++o) y[o] += xi * w[o];
      }
      for (const PostOp& op : m_post) {
        for (int64_t o = 0; o < outputs; ++o) y[o] = apply(op, y[o]);
      }
    }
    return out;
  }

  // A depthwise convolution of a square kernel, the same stride and
  // padding along both axes and no dilation, with at most one op after it,
  // that zoo's own kernel runs (depthwise.hpp: the CPU, kernel size,
  // stride and op): its weights laid out for that kernel.
  void prepare_depthwise() {
    m_depthwise_weights = at::Tensor();
    m_depthwise_bias = at::Tensor();
    const Settings& s = m_settings;
    const int64_t channels = m_weight.size(0), k = m_weight.size(2);
    if (s.groups != channels || m_weight.size(1) != 1 || m_weight.size(3) != k || s.stride[0] != s.stride[1] ||
        s.padding[0] != s.padding[1] || s.padding[0] < 0 || s.dilation != std::array<int64_t, 2>{1, 1} ||
        m_post.size() > 1 || !depthwise_runs(k, s.stride[0], depthwise_post())) {
      return;
    }
    const int64_t padded = (channels + 15) / 16 * 16;
    m_depthwise_weights = at::zeros({k, k, padded}, m_weight.options());
    m_depthwise_weights.narrow(2, 0, channels).copy_(m_weight.view({channels, k, k}).permute({1, 2, 0}));
    m_depthwise_bias = at::zeros({padded}, m_bias.options());
    m_depthwise_bias.narrow(0, 0, channels).copy_(m_bias);
  }

  const PostOp* depthwise_post() const { return m_post.empty() ? nullptr : &m_post[0]; }

  // The channels as zoo's depthwise kernel lays them out: up to a multiple
  // of 16.
  int64_t padded_channels() const { return m_depthwise_bias.size(0); }

  // Image by image on all the threads, each image's rows shared out, or,
  // with an expansion of fewer than 56 rows, its channels. The rows at the
  // parts' ends are read by both parts' windows, and so computed twice into
  // the rings: little for a SiLU or an expansion of 56 rows or more, up to
  // half the expansion's time on small images (efficientnet_b0's 5x5
  // convolutions of 7x7 at batch 1). Rows give each thread all the channels
  // (mobilenet_v2's 144 are 9 blocks of 16, shared out 5 to 4) and the
  // expansion's tiles 3 blocks at a time, which a stem's need most: with
  // rows from 56 up against channels everywhere, mobilenet_v2 at batch 1
  // measured 1.14x, efficientnet_b0 1.06x. (Sharing out the channels
  // without an expansion measured about 0.95x on efficientnet_b0 at batch 1
  // on 2 threads, probably because each thread then reads what the other
  // core's convolution wrote.) `row_sums`: null, or where each output row's
  // sums per channel go (depthwise_rows).
  at::Tensor run_depthwise(const at::Tensor& input, const std::array<int64_t, 4>& shape, float* row_sums) {
    const int64_t height = input.size(2), width = input.size(3);
    const Expansion expansion{input.size(1),
                              height,
                              width,
                              input.stride(1),
                              input.stride(2),
                              input.stride(3),
                              expansion_kernel(),
                              m_expansion_settings.stride[0],
                              m_expansion_settings.padding[0],
                              expands() ? m_expansion_weights.data_ptr<float>() : nullptr,
                              expands() ? m_expansion_bias.data_ptr<float>() : nullptr,
                              m_expansion_post.empty() ? nullptr : &m_expansion_post[0]};
    const auto [in_height, in_width] = depthwise_input_size(height, width);
    const Depthwise d{m_weight.size(0),     in_height,             in_width, m_weight.size(2),
                      m_settings.stride[0], m_settings.padding[0], shape[3], m_input_silu,
                      expands() ? &expansion : nullptr};
    at::Tensor out = at::empty(shape, input.options().memory_format(at::MemoryFormat::ChannelsLast));
    const int64_t rows = shape[2], blocks = padded_channels() / 16, image = input.stride(0);
    const int64_t out_image = d.channels * rows * shape[3], image_sums = rows * padded_channels();
    const bool by_blocks = expands() && in_height < 56;
    const int64_t units = by_blocks ? blocks : rows;  // an image's, shared out
    const float* in = input.data_ptr<float>();
    float* o = out.data_ptr<float>();
    at::parallel_for(0, shape[0] * units, 1, [&](int64_t begin, int64_t end) {
      while (begin < end) {
        const int64_t n = begin / units, first = begin % units, last = std::min(units, first + end - begin);
        const Part part = by_blocks ? Part{0, rows, first, last} : Part{first, last, 0, blocks};
        depthwise_rows(d, depthwise_post(), in + n * image, m_depthwise_weights.data_ptr<float>(),
                       m_depthwise_bias.data_ptr<float>(), o + n * out_image,
                       row_sums ? row_sums + n * image_sums : nullptr, part);
        begin += last - first;
      }
    });
    return out;
  }

  // The weights as [input channel][output channel], made on first use.
  const at::Tensor& pixel_weights() {
    std::call_once(m_pixel_once, [&] { m_pixel_weights = m_weight.flatten(1).t().contiguous(); });
    return m_pixel_weights;
  }

  // Winograd's algorithm (oneDNN's F(2x2,3x3)) for a 3x3 stride-1
  // convolution: 1.3-2x faster than oneDNN's direct kernels on resnet18's
  // layers at batch 1, its values within a few 1e-6 of the largest output
  // (the direct kernels': 1e-7). oneDNN runs it on its blocked layout only:
  // each image is reordered in and out, and it runs one image at a time,
  // so that an image's values do not depend on its batch (oneDNN picks its
  // variant and blocking by the batch size). A residual (either kind) is
  // first reordered into the blocked output, which the convolution then
  // adds into.
  struct Winograd {
    dnnl::convolution_forward primitive;
    dnnl::memory blocked_image, blocked_output;
    std::unordered_map<int, dnnl::memory> args;
  };

  // Winograd's algorithm runs an image at a time, its input and output
  // reordered: on this machine it pays from about 4M multiply-adds an image
  // (resnet18's layers, 12.8M: 1.2-1.8x faster; 64 channels of 28x28 and
  // 128 of 14x14, 3.2M: 1.0-1.8x; small_cnn's 64 of 14x14, 0.8M: slower,
  // and 0.6-0.75x the whole model at batch 16).
  bool winograd_pays(const std::array<int64_t, 4>& out) const {
    return m_weight.size(0) * m_weight.size(1) * out[2] * out[3] >= (int64_t(1) << 22);
  }

  // oneDNN's Winograd convolution of one image of this size in nChw16c
  // (the layout move_blocks writes and reads), where its
  // values cannot depend on the number of threads: a run resumed with
  // other --threads must write the same bytes. oneDNN picks between
  // F(2x2,3x3) and F(4x4,3x3) by the thread count too (64 channels of
  // 80x80: F(4x4) on 1 thread, F(2x2) on 2 to 8) and the two round
  // differently; F(2x2,3x3) gives the same bits on 1 to 8 threads (its
  // threads share out tiles, not sums). So: only where oneDNN picks
  // F(2x2,3x3) for every thread count up to the cores or 16, whichever is
  // more, and this one (asked once per problem: 0.3 ms an answer).
  std::optional<dnnl::convolution_forward::primitive_desc> winograd_desc(int64_t h, int64_t w, bool residual) const {
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    const std::array<int64_t, 4> out = output_shape(1, h, w);
    const dnnl::memory::desc src({1, m_weight.size(1), h, w}, dt::f32, tag::nChw16c);
    const dnnl::memory::desc dst({1, out[1], out[2], out[3]}, dt::f32, tag::nChw16c);
    const dnnl::memory::desc bias({m_weight.size(0)}, dt::f32, tag::a);
    const dnnl::memory::desc weights(weight_dims(), dt::f32, tag::any);
    dnnl::primitive_attr attr;
    attr.set_post_ops(post_ops(m_post.size(), residual ? Residual::in_place : Residual::none, dst).first);
    const Settings& s = m_settings;
    const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                               dnnl::algorithm::convolution_winograd, src, weights, bias, dst, {1, 1},
                                               {0, 0}, {s.padding[0], s.padding[1]}, {s.padding[0], s.padding[1]});
    const auto two_by_three = [&] {
      try {
        const dnnl::convolution_forward::primitive_desc pd(desc, attr, cpu());
        return std::string(pd.impl_info_str()).find("wino_2x3") != std::string::npos;
      } catch (const dnnl::error&) {
        return false;
      }
    };
    // oneDNN reads the calling thread's OpenMP thread count.
    const int threads = omp_get_max_threads();
    const int most = std::max({16, omp_get_num_procs(), threads});
    std::vector<int64_t> problem{m_weight.size(0), m_weight.size(1), h, w, s.padding[0], s.padding[1], most};
    for (const PostOp& op : m_post) problem.push_back(op.kind);
    static std::mutex mutex;
    static std::map<std::vector<int64_t>, bool> answers;
    std::lock_guard lock(mutex);
    auto [answer, ask] = answers.emplace(problem, true);
    for (int k = 1; ask && k <= most && answer->second; ++k) {
      omp_set_num_threads(k);
      answer->second = two_by_three();
    }
    omp_set_num_threads(threads);
    if (!answer->second) return std::nullopt;
    return dnnl::convolution_forward::primitive_desc(desc, attr, cpu());
  }

  // The Winograd primitive for one image of this size, or null where oneDNN
  // has none; the caller holds m_mutex.
  Winograd* winograd(int64_t h, int64_t w, bool residual) {
    const std::array<int64_t, 3> key{h, w, residual};
    if (const auto found = m_winograd.find(key); found != m_winograd.end()) {
      return found->second ? &*found->second : nullptr;
    }
    std::optional<Winograd>& made = m_winograd[key];
    const auto pd = winograd_desc(h, w, residual);
    if (!pd) return nullptr;
    made = Winograd{dnnl::convolution_forward(*pd), dnnl::memory(pd->src_desc(), cpu()),
                    dnnl::memory(pd->dst_desc(), cpu()), {}};
    made->args = {{DNNL_ARG_SRC, made->blocked_image},
                  {DNNL_ARG_WEIGHTS, weights_as(pd->weights_desc())},
                  {DNNL_ARG_BIAS, dnnl::memory(pd->bias_desc(), cpu(), m_bias.data_ptr())},
                  {DNNL_ARG_DST, made->blocked_output}};
    return &*made;
  }

  // `residual`: null, or what to add (of the output's shape, nhwc). The
  // caller holds m_mutex.
  void run_winograd(Winograd& wg, const at::Tensor& input, const float* residual, const at::Tensor& out) {
    const int64_t channels = input.size(1), pixels = input.size(2) * input.size(3);
    const int64_t out_channels = out.size(1), out_pixels = out.size(2) * out.size(3);
    auto* blocked_image = static_cast<float*>(wg.blocked_image.get_data_handle());
    auto* blocked_output = static_cast<float*>(wg.blocked_output.get_data_handle());
    for (int64_t i = 0; i < input.size(0); ++i) {
      move_blocks<true>(input.data_ptr<float>() + i * channels * pixels, blocked_image, channels, pixels);
      if (residual) {
        move_blocks<true>(residual + i * out_channels * out_pixels, blocked_output, out_channels, out_pixels);
      }
      wg.primitive.execute(stream(), wg.args);
      stream().wait();
      move_blocks<false>(blocked_output, out.data_ptr<float>() + i * out_channels * out_pixels, out_channels,
                         out_pixels);
    }
  }

  struct Compiled {
    dnnl::convolution_forward primitive;
    std::unordered_map<int, dnnl::memory> args;  // source, output and residual set per call
    int residual_index = -1;                      // the residual's place among oneDNN's post-ops
  };

  // The output's shape for `input`, through the expansion first where
  // there is one.
  std::array<int64_t, 4> output_shape(const at::Tensor& input) const {
    const auto [h, w] = depthwise_input_size(input.size(2), input.size(3));
    return output_shape(input.size(0), h, w);
  }

  // The size of what the depthwise convolution convolves, for an input of
  // h x w: the expansion's output where there is one.
  std::pair<int64_t, int64_t> depthwise_input_size(int64_t h, int64_t w) const {
    if (!expands()) return {h, w};
    const int64_t k = expansion_kernel();
    const int64_t eh = window_output(h, k, m_expansion_settings, 0), ew = window_output(w, k, m_expansion_settings, 1);
    TORCH_CHECK(eh > 0 && ew > 0, "zoo::conv: an input of ", h, "x", w, " is smaller than the kernel");
    return {eh, ew};
  }

  std::array<int64_t, 4> output_shape(int64_t n, int64_t h, int64_t w) const {
    const std::array<int64_t, 4> shape{n, m_weight.size(0), window_output(h, m_weight.size(2), m_settings, 0),
                                       window_output(w, m_weight.size(3), m_settings, 1)};
    TORCH_CHECK(shape[2] >= 0 && shape[3] >= 0, "zoo::conv: an input of ", h, "x", w, " is smaller than the kernel");
    return shape;
  }

  size_t add_index() const {
    for (size_t i = 0; i < m_post.size(); ++i) {
      if (m_post[i].kind == PostOp::add) return i;
    }
    return m_post.size();
  }

  dnnl::memory::dims weight_dims() const {
    const int64_t g = m_settings.groups, out = m_weight.size(0), in = m_weight.size(1);
    const int64_t kh = m_weight.size(2), kw = m_weight.size(3);
    if (g == 1) return {out, in, kh, kw};
    return {g, out / g, in, kh, kw};
  }

  // oneDNN's post-ops for the first `fused` of m_post, and the residual's
  // place among them (-1: none).
  std::pair<dnnl::post_ops, int> post_ops(size_t fused, Residual residual, const dnnl::memory::desc& dst) const {
    dnnl::post_ops ops;
    int residual_index = -1;
    for (size_t i = 0; i < fused; ++i) {
      const PostOp& op = m_post[i];
      switch (op.kind) {
        case PostOp::relu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f); break;
        case PostOp::clamp: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, op.low, op.high); break;
        case PostOp::silu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_swish, 1.f, 0.f); break;
        case PostOp::sigmoid: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_logistic, 0.f, 0.f); break;
        case PostOp::hardswish: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_hardswish, 0.f, 0.f); break;
        case PostOp::hardsigmoid:  // relu6(x + 3) / 6 = clip(x / 6 + 1/2, 0, 1)
          ops.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, 1.f / 6.f, 0.5f);
          ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, 1.f);
          break;
        case PostOp::add:
          residual_index = ops.len();
          if (residual == Residual::in_place) {
            ops.append_sum(1.f);
          } else {
            ops.append_binary(dnnl::algorithm::binary_add, dst);
          }
          break;
      }
    }
    return {ops, residual_index};
  }

  // The primitive for this input size; the caller holds m_mutex.
  Compiled& compiled(int64_t n, int64_t h, int64_t w, size_t fused, Residual residual) {
    const std::array<int64_t, 5> key{n, h, w, int64_t(fused), int64_t(residual)};
    if (const auto found = m_compiled.find(key); found != m_compiled.end()) return found->second;

    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    const int64_t in_channels = m_weight.size(1) * m_settings.groups;
    const std::array<int64_t, 4> out = output_shape(n, h, w);
    const dnnl::memory::desc src({n, in_channels, h, w}, dt::f32, tag::nhwc);
    const dnnl::memory::desc dst({out[0], out[1], out[2], out[3]}, dt::f32, tag::nhwc);
    const dnnl::memory::desc bias({m_weight.size(0)}, dt::f32, tag::a);
    const dnnl::memory::desc weights(weight_dims(), dt::f32, tag::any);

    const auto [ops, residual_index] = post_ops(fused, residual, dst);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    const auto& s = m_settings;
    const dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, weights, bias, dst,
        {s.stride[0], s.stride[1]}, {s.dilation[0] - 1, s.dilation[1] - 1}, {s.padding[0], s.padding[1]},
        {s.padding[0], s.padding[1]});
    const dnnl::convolution_forward::primitive_desc pd(desc, attr, cpu());
    Compiled c{dnnl::convolution_forward(pd), {}, residual_index};
    c.args = {{DNNL_ARG_SRC, dnnl::memory(src, cpu(), DNNL_MEMORY_NONE)},
              {DNNL_ARG_WEIGHTS, weights_as(pd.weights_desc())},
              {DNNL_ARG_BIAS, dnnl::memory(bias, cpu(), m_bias.data_ptr())},
              {DNNL_ARG_DST, dnnl::memory(dst, cpu(), DNNL_MEMORY_NONE)}};
    if (residual == Residual::operand) {
      c.args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(residual_index) | DNNL_ARG_SRC_1,
                     dnnl::memory(dst, cpu(), DNNL_MEMORY_NONE));
    }
    return m_compiled.emplace(key, std::move(c)).first->second;
  }

  dnnl::memory weights_as(const dnnl::memory::desc& desc) {
    for (const dnnl::memory& m : m_weights) {
      if (m.get_desc() == desc) return m;
    }
    using tag = dnnl::memory::format_tag;
    const dnnl::memory::desc plain(weight_dims(), dnnl::memory::data_type::f32,
                                   m_settings.groups == 1 ? tag::oihw : tag::goihw);
    dnnl::memory source(plain, cpu(), m_weight.data_ptr());
    dnnl::memory reordered(desc, cpu());
    dnnl::reorder(source, reordered).execute(stream(), source, reordered);
    stream().wait();
    m_weights.push_back(reordered);
    return reordered;
  }

  at::Tensor m_weight, m_bias;
  Settings m_settings;
  std::vector<PostOp> m_post;
  std::mutex m_mutex;
  std::map<std::array<int64_t, 5>, Compiled> m_compiled;  // by batch, height, width, post-ops fused, residual
  std::vector<dnnl::memory> m_weights;                    // one per layout asked for
  std::map<std::array<int64_t, 3>, std::optional<Winograd>> m_winograd;  // by height, width, residual; none: no such primitive
  bool m_by_winograd = false;
  std::once_flag m_pixel_once;
  at::Tensor m_pixel_weights;
  at::Tensor m_depthwise_weights, m_depthwise_bias;  // [k][k][channels up to a multiple of 16]; undefined: not depthwise
  bool m_input_silu = false;                         // zoo's depthwise kernel computes the input's SiLU
  // The expansion zoo's depthwise kernel computes (take_expansion):
  // [kernel][kernel][input channels][channels up to a multiple of 16];
  // undefined: none.
  at::Tensor m_expansion_weights, m_expansion_bias;
  std::vector<PostOp> m_expansion_post;  // its activation, if any
  Settings m_expansion_settings;
};

std::tuple<at::Tensor, at::Tensor> run_convolution_pool(const at::Tensor& x,
                                                        const c10::intrusive_ptr<Convolution>& convolution) {
  return convolution->run_pooled(x);
}

at::Tensor run_convolution(const at::Tensor& x, const c10::intrusive_ptr<Convolution>& convolution) {
  return convolution->run(x);
}

// The residual by reference to the interpreter's own value, so that its
// reference count says whether anything else holds it.
at::Tensor run_convolution_add(const at::Tensor& x, const c10::intrusive_ptr<Convolution>& convolution,
                               const at::Tensor& residual) {
  return convolution->run(x, &residual);
}

// Max and average pooling, and global average pooling, on channels_last
// tensors through oneDNN (ATen's own kernels on channels_last run several
// times slower); any other input goes to ATen as before.
class Pooling : public torch::CustomClassHolder {
 public:
  enum Kind { max, average, average_with_padding, global_average };

  Pooling(Kind kind, Settings window, std::array<int64_t, 2> kernel)
      : m_kind(kind), m_window(window), m_kernel(kernel) {}

  Kind kind() const { return m_kind; }

  at::Tensor run(const at::Tensor& x) {
    if (x.dim() != 4 || x.scalar_type() != at::kFloat || x.layout() != at::kStrided ||
        !x.is_contiguous(at::MemoryFormat::ChannelsLast) || x.size(0) == 0) {
      return in_aten(x);
    }
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    const std::array<int64_t, 2> kernel = m_kind == global_average ? std::array<int64_t, 2>{h, w} : m_kernel;
    const std::array<int64_t, 2> out{window_output(h, kernel[0], m_window, 0),
                                     window_output(w, kernel[1], m_window, 1)};
    if (out[0] < 0 || out[1] < 0) return in_aten(x);
    const Compiled& p = compiled(n, c, h, w, kernel, out);
    at::Tensor y = at::empty({n, c, out[0], out[1]}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
    p.primitive.execute(stream(), {{DNNL_ARG_SRC, dnnl::memory(p.src, cpu(), x.data_ptr())},
                                   {DNNL_ARG_DST, dnnl::memory(p.dst, cpu(), y.data_ptr())}});
    stream().wait();
    return y;
  }

 private:
  struct Compiled {
    dnnl::pooling_v2_forward primitive;
    dnnl::memory::desc src, dst;
  };

  at::Tensor in_aten(const at::Tensor& x) const {
    const auto& s = m_window;
    switch (m_kind) {
      case max: return at::max_pool2d(x, m_kernel, s.stride, s.padding, s.dilation, false);
      case average: return at::avg_pool2d(x, m_kernel, s.stride, s.padding, false, false);
      case average_with_padding: return at::avg_pool2d(x, m_kernel, s.stride, s.padding, false, true);
      case global_average: return at::adaptive_avg_pool2d(x, {1, 1});
    }
    return x;
  }

  const Compiled& compiled(int64_t n, int64_t c, int64_t h, int64_t w, std::array<int64_t, 2> kernel,
                           std::array<int64_t, 2> out) {
    std::lock_guard lock(m_mutex);
    const std::array<int64_t, 4> key{n, c, h, w};
    if (const auto found = m_compiled.find(key); found != m_compiled.end()) return found->second;
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    const dnnl::memory::desc src({n, c, h, w}, dt::f32, tag::nhwc);
    const dnnl::memory::desc dst({n, c, out[0], out[1]}, dt::f32, tag::nhwc);
    const dnnl::algorithm algorithm = m_kind == max                    ? dnnl::algorithm::pooling_max
                                      : m_kind == average_with_padding ? dnnl::algorithm::pooling_avg_include_padding
                                                                       : dnnl::algorithm::pooling_avg_exclude_padding;
    const auto& s = m_window;
    // The right padding that makes oneDNN's output size PyTorch's (floor).
    dnnl::memory::dims right(2);
    for (int i = 0; i < 2; ++i) {
      const int64_t in = i == 0 ? h : w;
      right[i] = (out[i] - 1) * s.stride[i] + s.dilation[i] * (kernel[i] - 1) + 1 - in - s.padding[i];
    }
    const dnnl::pooling_v2_forward::desc desc(dnnl::prop_kind::forward_inference, algorithm, src, dst,
                                              {s.stride[0], s.stride[1]}, {kernel[0], kernel[1]},
                                              {s.dilation[0] - 1, s.dilation[1] - 1},
                                              {s.padding[0], s.padding[1]}, right);
    const dnnl::pooling_v2_forward::primitive_desc pd(desc, cpu());
    return m_compiled.emplace(key, Compiled{dnnl::pooling_v2_forward(pd), src, dst}).first->second;
  }

  Kind m_kind;
  Settings m_window;
  std::array<int64_t, 2> m_kernel;
  std::mutex m_mutex;
  std::map<std::array<int64_t, 4>, Compiled> m_compiled;  // by batch, channels, height, width
};

at::Tensor run_pooling(const at::Tensor& x, const c10::intrusive_ptr<Pooling>& pooling) { return pooling->run(x); }

// x * gate: squeeze-and-excitation scaling x by what its convolutions
// computed from it. At x's last use (one reference, no other view of its
// memory) x is scaled in place: no buffer of x's size to allocate and fill,
// 1.3-2x faster than the multiply into a new one on efficientnet_b0's
// larger layers.
at::Tensor scale_channels(const at::Tensor& x, const at::Tensor& gate) {
  const bool own = x.use_count() == 1 && x.storage().use_count() == 1 && x.layout() == at::kStrided &&
                   x.scalar_type() == gate.scalar_type() && gate.dim() <= x.dim() &&
                   x.sizes().equals(at::infer_size_dimvector(x.sizes(), gate.sizes()));
  return own ? at::Tensor(x).mul_(gate) : at::mul(x, gate);
}

TORCH_LIBRARY_FRAGMENT(zoo, library) {
  library.class_<Convolution>("Convolution");
  library.class_<Pooling>("Pooling");
  library.def("pool(Tensor x, __torch__.torch.classes.zoo.Pooling pooling) -> Tensor", &run_pooling);
  library.def("conv(Tensor x, __torch__.torch.classes.zoo.Convolution convolution) -> Tensor", &run_convolution);
  library.def("conv_add(Tensor x, __torch__.torch.classes.zoo.Convolution convolution, Tensor residual) -> Tensor",
              &run_convolution_add);
  library.def("scale(Tensor x, Tensor gate) -> Tensor", &scale_channels);
  library.def("conv_pool(Tensor x, __torch__.torch.classes.zoo.Convolution convolution) -> (Tensor, Tensor)",
              &run_convolution_pool);
}

// ---- the graph pass ----

std::optional<c10::IValue> constant(const Value* value) { return torch::jit::toIValue(value); }

std::optional<std::array<int64_t, 2>> pair(const Value* value) {
  const auto v = constant(value);
  if (!v || !v->isIntList()) return std::nullopt;
  const std::vector<int64_t> list = v->toIntVector();
  if (list.size() == 1) return std::array<int64_t, 2>{list[0], list[0]};
  if (list.size() == 2) return std::array<int64_t, 2>{list[0], list[1]};
  return std::nullopt;
}

std::optional<double> number(const Value* value) {
  const auto v = constant(value);
  if (!v || !(v->isDouble() || v->isInt())) return std::nullopt;
  return v->isDouble() ? v->toDouble() : double(v->toInt());
}

bool is_tensor(const Value* value) { return value->type()->isSubtypeOf(*c10::TensorType::get()); }

// aten::conv2d and aten::_convolution (what tracing records) of a float
// 4-D weight, with constant settings: the convolution to make, else none.
c10::intrusive_ptr<Convolution> convolution_of(Node* node, std::vector<PostOp> post) {
  Settings s;
  std::optional<std::array<int64_t, 2>> stride, padding, dilation;
  std::optional<c10::IValue> groups;
  if (node->kind() == c10::aten::conv2d && node->inputs().size() == 7) {
    groups = constant(node->input(6));
  } else if (node->kind() == c10::aten::_convolution && node->inputs().size() >= 9) {
    const auto transposed = constant(node->input(6));
    const auto output_padding = constant(node->input(7));
    if (!transposed || !transposed->isBool() || transposed->toBool()) return {};
    if (!output_padding || !output_padding->isIntList()) return {};
    for (int64_t p : output_padding->toIntVector()) {
      if (p != 0) return {};
    }
    groups = constant(node->input(8));
  } else {
    return {};
  }
  stride = pair(node->input(3)), padding = pair(node->input(4)), dilation = pair(node->input(5));
  if (!stride || !padding || !dilation || !groups || !groups->isInt()) return {};
  s.stride = *stride, s.padding = *padding, s.dilation = *dilation, s.groups = groups->toInt();
  const auto weight = constant(node->input(1));
  const auto bias = constant(node->input(2));
  if (!weight || !weight->isTensor() || !bias || !(bias->isNone() || bias->isTensor())) return {};
  const at::Tensor w = weight->toTensor();
  if (w.dim() != 4 || w.scalar_type() != at::kFloat || w.layout() != at::kStrided || s.groups < 1 ||
      w.size(0) % s.groups != 0) {
    return {};
  }
  at::Tensor b = bias->isTensor() ? bias->toTensor() : at::zeros({w.size(0)});
  if (b.dim() != 1 || b.size(0) != w.size(0) || b.scalar_type() != at::kFloat) return {};
  return c10::make_intrusive<Convolution>(w.contiguous(), b.contiguous(), s, std::move(post));
}

// The activation `node` computes on its first input, if it is one oneDNN
// can fuse.
std::optional<PostOp> activation(const Node* node) {
  using namespace c10;
  const Symbol k = node->kind();
  if (k == aten::relu || k == aten::relu_) return PostOp{PostOp::relu};
  if (k == aten::sigmoid || k == aten::sigmoid_) return PostOp{PostOp::sigmoid};
  if (k == aten::silu || k == aten::silu_) return PostOp{PostOp::silu};
  if (k == aten::hardswish || k == aten::hardswish_) return PostOp{PostOp::hardswish};
  if (k == aten::hardsigmoid || k == aten::hardsigmoid_) return PostOp{PostOp::hardsigmoid};
  if ((k == aten::hardtanh || k == aten::hardtanh_ || k == aten::clamp || k == aten::clamp_) &&
      node->inputs().size() == 3) {
    const auto low = number(node->input(1)), high = number(node->input(2));
    if (low && high) return PostOp{PostOp::clamp, float(*low), float(*high)};
  }
  return std::nullopt;
}

Node* only_user(const Value* value) { return value->uses().size() == 1 ? value->uses()[0].user : nullptr; }

// What `node` adds to `value`, if it is value + other or other + value
// (alpha 1, other a tensor); in place only as value += other, which
// changes nothing but the convolution's own output.
Value* added_to(const Node* node, const Value* value) {
  const c10::Symbol k = node->kind();
  if ((k != c10::aten::add && k != c10::aten::add_) || node->inputs().size() != 3 ||
      number(node->input(2)) != 1.0) {
    return nullptr;
  }
  Value* other = nullptr;
  if (node->input(0) == value && node->input(1) != value) other = node->input(1);
  if (k == c10::aten::add && node->input(1) == value && node->input(0) != value) other = node->input(0);
  return other && is_tensor(other) ? other : nullptr;
}

// Extends the chain of nodes fused into a convolution by the next op on
// `value` (the chain's result so far), if it can be fused.
bool extend(const Node* conv, Value*& value, std::vector<Node*>& chain, std::vector<PostOp>& post,
            Value*& residual) {
  const auto same_block = [&](const Node* n) { return n && n->owningBlock() == conv->owningBlock(); };
  const auto take = [&](std::initializer_list<Node*> nodes, PostOp op) {
    chain.insert(chain.end(), nodes);
    post.push_back(op);
    value = chain.back()->output();
    return true;
  };
  // x * sigmoid(x): SiLU as zoo's built-ins write it.
  if (value->uses().size() == 2) {
    Node* a = value->uses()[0].user;
    Node* b = value->uses()[1].user;
    if (a->kind() != c10::aten::sigmoid) std::swap(a, b);
    const bool silu = a->kind() == c10::aten::sigmoid && b->kind() == c10::aten::mul && same_block(a) &&
                      same_block(b) && only_user(a->output()) == b && b->inputs().size() == 2;
    return silu && take({a, b}, {PostOp::silu});
  }
  Node* user = only_user(value);
  if (!same_block(user)) return false;
  if (Value* other = residual ? nullptr : added_to(user, value)) {
    residual = other;
    return take({user}, {PostOp::add});
  }
  if (user->input(0) != value) return false;
  if (const auto op = activation(user)) return take({user}, *op);
  // contiguous() before an activation (zoo's built-ins keep some activations
  // out of 1.13's MKLDNN that way) changes no value: fused away with it.
  if (user->kind() == c10::aten::contiguous) {
    Node* next = only_user(user->output());
    if (!same_block(next) || next->input(0) != user->output()) return false;
    const auto op = activation(next);
    return op && take({user, next}, *op);
  }
  return false;
}

// Replaces `conv` and what follows it that can be fused by zoo::conv or
// zoo::conv_add; null if it cannot.
c10::intrusive_ptr<Convolution> fuse(torch::jit::Graph& graph, Node* conv) {
  if (!is_tensor(conv->input(0)) || conv->outputs().size() != 1) return {};
  Value* value = conv->output();
  std::vector<Node*> chain{conv};
  std::vector<PostOp> post;
  Value* residual = nullptr;
  while (extend(conv, value, chain, post, residual)) {
  }
  c10::intrusive_ptr<Convolution> convolution = convolution_of(conv, std::move(post));
  if (!convolution) return {};
  Node* last = chain.back();
  torch::jit::WithInsertPoint guard(last);
  Value* state = graph.insertConstant(c10::IValue(convolution));
  static const auto conv_symbol = c10::Symbol::fromQualString("zoo::conv");
  static const auto conv_add_symbol = c10::Symbol::fromQualString("zoo::conv_add");
  Node* fused = residual ? graph.create(conv_add_symbol, {conv->input(0), state, residual}, 1)
                         : graph.create(conv_symbol, {conv->input(0), state}, 1);
  fused->output()->setType(last->output()->type());
  fused->insertBefore(last);
  last->output()->replaceAllUsesWith(fused->output());
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) (*it)->destroy();
  return convolution;
}

// aten::max_pool2d, avg_pool2d and adaptive_avg_pool2d to 1x1 with
// constant settings (no ceil_mode, no divisor_override): the pooling to
// make, else none.
c10::intrusive_ptr<Pooling> pooling_of(const Node* node) {
  const size_t inputs = node->inputs().size();
  if (node->kind() == c10::aten::adaptive_avg_pool2d && inputs == 2) {
    if (pair(node->input(1)) != std::array<int64_t, 2>{1, 1}) return {};
    return c10::make_intrusive<Pooling>(Pooling::global_average, Settings{}, std::array<int64_t, 2>{1, 1});
  }
  const bool max = node->kind() == c10::aten::max_pool2d && inputs == 6;
  const bool average = node->kind() == c10::aten::avg_pool2d && inputs == 7;
  if (!max && !average) return {};
  const auto kernel = pair(node->input(1));
  const auto stride_value = constant(node->input(2));
  const auto padding = pair(node->input(3));
  const auto ceil = constant(node->input(max ? 5 : 4));
  if (!kernel || !stride_value || !stride_value->isIntList() || !padding || !ceil || !ceil->isBool() ||
      ceil->toBool()) {
    return {};
  }
  Settings s;
  s.padding = *padding;
  // An empty stride is the kernel's size.
  const auto stride = stride_value->toIntVector().empty() ? kernel : pair(node->input(2));
  if (!stride) return {};
  s.stride = *stride;
  Pooling::Kind kind = Pooling::max;
  if (max) {
    const auto dilation = pair(node->input(4));
    if (!dilation) return {};
    s.dilation = *dilation;
  } else {
    const auto with_padding = constant(node->input(5));
    const auto divisor = constant(node->input(6));
    if (!with_padding || !with_padding->isBool() || !divisor || !divisor->isNone()) return {};
    kind = with_padding->toBool() ? Pooling::average_with_padding : Pooling::average;
  }
  for (int i = 0; i < 2; ++i) {
    if ((*kernel)[i] < 1 || s.stride[i] < 1 || s.padding[i] < 0 || s.dilation[i] < 1) return {};
  }
  return c10::make_intrusive<Pooling>(kind, s, *kernel);
}

// The Convolution a zoo::conv or zoo::conv_add node runs.
c10::intrusive_ptr<Convolution> fused_convolution(const Node* node) {
  return constant(node->input(1))->toCustomClass<Convolution>();
}

bool replace_pooling(torch::jit::Graph& graph, Node* node) {
  if (!is_tensor(node->input(0)) || node->outputs().size() != 1) return false;
  const c10::intrusive_ptr<Pooling> pooling = pooling_of(node);
  if (!pooling) return false;
  torch::jit::WithInsertPoint guard(node);
  Value* state = graph.insertConstant(c10::IValue(pooling));
  static const auto symbol = c10::Symbol::fromQualString("zoo::pool");
  Node* pool = graph.create(symbol, {node->input(0), state}, 1);
  pool->output()->setType(node->output()->type());
  pool->insertBefore(node);
  node->output()->replaceAllUsesWith(pool->output());
  node->destroy();
  return true;
}

// x * gate where the gate is a fused convolution's output (in
// squeeze-and-excitation, its sigmoid or hardsigmoid): zoo::scale.
void replace_scaling(torch::jit::Block* block) {
  static const auto conv_symbol = c10::Symbol::fromQualString("zoo::conv");
  static const auto scale_symbol = c10::Symbol::fromQualString("zoo::scale");
  for (auto it = block->nodes().begin(); it != block->nodes().end();) {
    Node* node = *it++;
    for (torch::jit::Block* sub : node->blocks()) replace_scaling(sub);
    if (node->kind() != c10::aten::mul || node->inputs().size() != 2 || !is_tensor(node->input(0)) ||
        !is_tensor(node->input(1))) {
      continue;
    }
    const int gate = node->input(0)->node()->kind() == conv_symbol   ? 0
                     : node->input(1)->node()->kind() == conv_symbol ? 1
                                                                     : -1;
    if (gate < 0) continue;
    Node* scale = block->owningGraph()->create(scale_symbol, {node->input(1 - gate), node->input(gate)}, 1);
    scale->output()->setType(node->output()->type());
    scale->insertBefore(node);
    node->output()->replaceAllUsesWith(scale->output());
    node->destroy();
  }
}

// Where a depthwise convolution on zoo's own kernel is the only reader of a
// convolution that ends with SiLU (efficientnet's expansion convolutions
// and stem), the SiLU is left to the depthwise kernel, which computes it
// once per value as it reads them (depthwise.hpp): oneDNN 2.6's SiLU
// post-op doubles a 1x1 convolution's time (24 to 144 channels on 56x56:
// 117 against 247 us on one thread). The number moved.
int move_silu_into_depthwise(torch::jit::Block* block) {
  static const auto conv_symbol = c10::Symbol::fromQualString("zoo::conv");
  static const auto conv_add_symbol = c10::Symbol::fromQualString("zoo::conv_add");
  int moved = 0;
  for (Node* node : block->nodes()) {
    for (torch::jit::Block* sub : node->blocks()) moved += move_silu_into_depthwise(sub);
    if (node->kind() != conv_symbol) continue;
    const Value* input = node->input(0);
    const Node* writer = input->node();
    if ((writer->kind() != conv_symbol && writer->kind() != conv_add_symbol) || input->uses().size() != 1) continue;
    const c10::intrusive_ptr<Convolution> reader = fused_convolution(node), before = fused_convolution(writer);
    if (reader->may_take_input_silu() && before->drop_last_silu()) {
      reader->take_input_silu();
      ++moved;
    }
  }
  return moved;
}

// Where a depthwise convolution on zoo's own kernel is the only reader of a
// 1x1 convolution (mobilenet's and efficientnet's expansions) or of the
// network's first convolution, of the image's few channels (their stems),
// the kernel computes that convolution too, row by row into the rows its
// windows read (depthwise.hpp): its output is never written out and read
// back. (mobilenet_v2's first expansion, 16 to 96 channels on 112x112,
// writes 77 MB a batch of 16 for its depthwise convolution to read. Its
// stem took 230-300 us an image at batch 1 on oneDNN, its input made
// channels_last included, 10.8 million multiply-adds; the stem and the
// depthwise convolution after it take 190 us here.) The number moved.
int move_expansion_into_depthwise(torch::jit::Block* block) {
  static const auto conv_symbol = c10::Symbol::fromQualString("zoo::conv");
  int moved = 0;
  for (Node* node : block->nodes()) {
    for (torch::jit::Block* sub : node->blocks()) moved += move_expansion_into_depthwise(sub);
    if (node->kind() != conv_symbol) continue;
    Node* writer = node->input(0)->node();
    if (writer->kind() != conv_symbol || writer->owningBlock() != block || node->input(0)->uses().size() != 1) {
      continue;
    }
    if (fused_convolution(node)->take_expansion(*fused_convolution(writer))) {
      node->replaceInput(0, writer->input(0));
      writer->destroy();
      ++moved;
    }
  }
  return moved;
}

// The global average pool of a depthwise convolution's output on zoo's own
// kernel (squeeze-and-excitation's in efficientnet and mobilenet_v3), summed
// by the kernel as it writes the output: zoo::conv_pool computes both. The
// pool's own pass over the output cost 0.37 ms an image of efficientnet_b0
// at batch 1 (17 pools, oneDNN's, 2 threads), 6% of the model. The number
// replaced.
int pool_in_depthwise(torch::jit::Block* block) {
  static const auto conv_symbol = c10::Symbol::fromQualString("zoo::conv");
  static const auto pool_symbol = c10::Symbol::fromQualString("zoo::pool");
  static const auto conv_pool_symbol = c10::Symbol::fromQualString("zoo::conv_pool");
  int replaced = 0;
  for (auto it = block->nodes().begin(); it != block->nodes().end();) {
    Node* pool = *it++;
    for (torch::jit::Block* sub : pool->blocks()) replaced += pool_in_depthwise(sub);
    if (pool->kind() != pool_symbol) continue;
    Node* conv = pool->input(0)->node();
    if (conv->kind() != conv_symbol || conv->owningBlock() != block ||
        constant(pool->input(1))->toCustomClass<Pooling>()->kind() != Pooling::global_average ||
        !fused_convolution(conv)->by_own_depthwise()) {
      continue;
    }
    Node* both = block->owningGraph()->create(conv_pool_symbol, {conv->input(0), conv->input(1)}, 2);
    both->output(0)->setType(conv->output()->type());
    both->output(1)->setType(pool->output()->type());
    both->insertBefore(conv);
    conv->output()->replaceAllUsesWith(both->output(0));
    pool->output()->replaceAllUsesWith(both->output(1));
    pool->destroy();
    conv->destroy();
    ++replaced;
  }
  return replaced;
}

void collect(torch::jit::Block* block, std::vector<Node*>& convs, std::vector<Node*>& pools) {
  for (Node* node : block->nodes()) {
    for (torch::jit::Block* sub : node->blocks()) collect(sub, convs, pools);
    const c10::Symbol k = node->kind();
    if (k == c10::aten::conv2d || k == c10::aten::_convolution) convs.push_back(node);
    if (k == c10::aten::max_pool2d || k == c10::aten::avg_pool2d || k == c10::aten::adaptive_avg_pool2d) {
      pools.push_back(node);
    }
  }
}

}  // namespace

FusedConvolutions fuse_convolutions(const std::shared_ptr<torch::jit::Graph>& graph) {
  std::vector<Node*> convs, pools;
  collect(graph->block(), convs, pools);
  FusedConvolutions fused;
  for (Node* conv : convs) {
    if (const c10::intrusive_ptr<Convolution> convolution = fuse(*graph, conv)) {
      ++fused.convolutions;
      fused.winograd += convolution->by_winograd() ? 1 : 0;
      fused.depthwise += convolution->by_own_depthwise() ? 1 : 0;
    }
  }
  // The convolutions' outputs are channels_last: the pools between them
  // run on oneDNN too. In a graph with none, they stay ATen's.
  if (fused.convolutions > 0) {
    for (Node* pool : pools) replace_pooling(*graph, pool);
    replace_scaling(graph->block());
    fused.expansions = move_expansion_into_depthwise(graph->block());
    fused.input_silu = move_silu_into_depthwise(graph->block());
    fused.pooled = pool_in_depthwise(graph->block());
  }
  return fused;
}

}  // namespace zoo::models
