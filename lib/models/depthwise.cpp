#include "models/depthwise.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <immintrin.h>

namespace zoo::models {
namespace {

// What the kernel computes after the sum; relu is a clamp to [0, inf).
enum class Activation { none, clamp, silu, sigmoid, hardswish, hardsigmoid };

std::optional<Activation> activation_of(const PostOp* post) {
  if (!post) return Activation::none;
  switch (post->kind) {
    case PostOp::relu:
    case PostOp::clamp: return Activation::clamp;
    case PostOp::silu: return Activation::silu;
    case PostOp::sigmoid: return Activation::sigmoid;
    case PostOp::hardswish: return Activation::hardswish;
    case PostOp::hardsigmoid: return Activation::hardsigmoid;
    case PostOp::add: break;
  }
  return std::nullopt;
}

// The bounds activate() clamps to after `post`: a clamp's (ReLU's [0,
// inf)), and unused for the other activations.
std::pair<float, float> clamp_bounds(const PostOp* post) {
  if (post && post->kind == PostOp::clamp) return {post->low, post->high};
  return {0.f, std::numeric_limits<float>::infinity()};
}

// Everything from here to pop_options is compiled for AVX-512 and runs
// only where the CPU has it (depthwise_runs).
#pragma GCC push_options
#pragma GCC target("avx512f,fma")
// GCC 12 warns of the undefined vector its masked-load, min and max
// intrinsics start from.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

// 1 / (1 + e^-x), with e^-x = 2^n 2^f (n = -x log2(e) rounded, f within
// 1/2 of 0): 2^f by a degree-5 polynomial fitted for least relative error
// on [-1/2, 1/2] (2.4e-7 in float), and the reciprocal's 14-bit estimate
// with one Newton step. 2^n is at most 2^126, so that 1 + e^-x and its
// reciprocal are normal floats.
inline __m512 sigmoid_ps(__m512 x) {
  static constexpr float k_coefficients[] = {0.001327647129073739f, 0.009675541892647743f, 0.05550713092088699f,
                                             0.24022120237350464f, 0.6931469440460205f, 1.0000001192092896f};
  const __m512 t = _mm512_min_ps(_mm512_set1_ps(126.f), _mm512_mul_ps(x, _mm512_set1_ps(-1.44269504088896341f)));
  const __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(t, n);
  __m512 p = _mm512_set1_ps(k_coefficients[0]);
  for (int i = 1; i < 6; ++i) p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(k_coefficients[i]));
  const __m512 d = _mm512_add_ps(_mm512_set1_ps(1.f), _mm512_scalef_ps(p, n));
  const __m512 r = _mm512_rcp14_ps(d);
  return _mm512_mul_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(2.f)));
}

// Prefetches as instructions of their own: GCC deletes a loop of nothing
// but __builtin_prefetch (a C++ loop without side effects may be assumed
// to end, and then it does nothing).
inline void prefetch_to_read(const char* line) { asm volatile("prefetcht0 %0" : : "m"(*line)); }
inline void prefetch_to_write(char* line) { asm volatile("prefetchw %0" : : "m"(*line)); }

template <Activation A>
inline __m512 activate(__m512 x, __m512 low, __m512 high) {
  const __m512 sixth = _mm512_set1_ps(1.f / 6.f);
  switch (A) {
    case Activation::none: return x;
    case Activation::clamp: return _mm512_min_ps(_mm512_max_ps(x, low), high);
    case Activation::silu: return _mm512_mul_ps(x, sigmoid_ps(x));
    case Activation::sigmoid: return sigmoid_ps(x);
    case Activation::hardswish: {
      const __m512 t = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(x, _mm512_set1_ps(3.f)), _mm512_setzero_ps()),
                                     _mm512_set1_ps(6.f));
      return _mm512_mul_ps(_mm512_mul_ps(x, t), sixth);
    }
    case Activation::hardsigmoid:
      return _mm512_min_ps(_mm512_max_ps(_mm512_fmadd_ps(x, sixth, _mm512_set1_ps(0.5f)), _mm512_setzero_ps()),
                           _mm512_set1_ps(1.f));
  }
  return x;
}

// What expand_tile multiplies by the weights for each of its pixels: `rows`
// runs of `terms` floats, `row_step` apart, the first pixel's from `in`,
// each next pixel's `pixel_step` on. A 1x1 convolution's pixel is one run,
// its channels; a 3x3's, its window's 3 rows of 3 pixels' channels.
struct Taps {
  const float* in;
  int64_t rows, row_step, terms, pixel_step;
};

// Output channels [0, 16 N) of P pixels of a convolution with its
// activation (an expansion's, before a depthwise convolution): `weights`
// [the taps' rows][terms][`padded`], `out` P pixels of `padded` floats,
// both from the first of the channels. Each output is its bias plus its
// terms in the order of the taps, whatever P and N: its value depends on
// nothing but its inputs.
template <int P, int N, Activation A>
void expand_tile(const Taps& taps, const float* weights, int64_t padded, const float* bias, float* out, float low,
                 float high) {
  __m512 sum[P][N];
#pragma GCC unroll 3
  for (int j = 0; j < N; ++j) {
    const __m512 b = _mm512_loadu_ps(bias + 16 * j);
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p) sum[p][j] = b;
  }
  const float* w = weights;
  const int64_t step = taps.pixel_step;
  for (int64_t r = 0; r < taps.rows; ++r) {
    const float* in = taps.in + r * taps.row_step;
    for (int64_t k = 0; k < taps.terms; ++k, w += padded) {
      __m512 wk[N];
#pragma GCC unroll 3
      for (int j = 0; j < N; ++j) wk[j] = _mm512_loadu_ps(w + 16 * j);
#pragma GCC unroll 8
      for (int p = 0; p < P; ++p) {
        const __m512 x = _mm512_set1_ps(in[p * step + k]);
#pragma GCC unroll 3
        for (int j = 0; j < N; ++j) sum[p][j] = _mm512_fmadd_ps(x, wk[j], sum[p][j]);
      }
    }
  }
  const __m512 lo = _mm512_set1_ps(low), hi = _mm512_set1_ps(high);
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p) {
#pragma GCC unroll 3
    for (int j = 0; j < N; ++j) _mm512_store_ps(out + p * padded + 16 * j, activate<A>(sum[p][j], lo, hi));
  }
}

// expand_tile by P (1 to 8) and N (1 to 3): 24 sums and 3 weight vectors
// of the 32 registers.
using ExpandTile = void (*)(const Taps&, const float*, int64_t, const float*, float*, float, float);
constexpr int k_expand_pixels = 8, k_expand_blocks = 3;
using ExpandTiles = std::array<std::array<ExpandTile, k_expand_blocks>, k_expand_pixels>;

template <Activation A, int P>
constexpr std::array<ExpandTile, k_expand_blocks> expand_tiles_of() {
  return {&expand_tile<P, 1, A>, &expand_tile<P, 2, A>, &expand_tile<P, 3, A>};
}

template <Activation A>
constexpr ExpandTiles expand_tiles_of() {
  return {expand_tiles_of<A, 1>(), expand_tiles_of<A, 2>(), expand_tiles_of<A, 3>(), expand_tiles_of<A, 4>(),
          expand_tiles_of<A, 5>(), expand_tiles_of<A, 6>(), expand_tiles_of<A, 7>(), expand_tiles_of<A, 8>()};
}

// The tiles of the activations an expansion may end with (expansion_runs).
const ExpandTiles& expand_tiles(Activation a) {
  static constexpr ExpandTiles none = expand_tiles_of<Activation::none>();
  static constexpr ExpandTiles clamp = expand_tiles_of<Activation::clamp>();
  static constexpr ExpandTiles silu = expand_tiles_of<Activation::silu>();
  static constexpr ExpandTiles hardswish = expand_tiles_of<Activation::hardswish>();
  switch (a) {
    case Activation::clamp: return clamp;
    case Activation::silu: return silu;
    case Activation::hardswish: return hardswish;
    default: return none;
  }
}

// What depthwise_rows was given, but the rows.
struct Call {
  const Depthwise& d;
  const PostOp* post;
  const float *image, *weights, *bias;
  float *out, *row_sums;
};

// The rows of one convolution: kernel K, stride S, activation A. T
// outputs of a row are summed together, 16 channels at a time (the last
// block masked when the channels are not a multiple of 16), so that each
// input vector loaded serves every output whose window covers it. Taps
// outside the image are not added: rows by their range, columns by
// loading zeros in their place (away from the left and right borders no
// column is checked). Each output adds its taps in one order (row by row,
// left to right) onto its bias. InRing: what is convolved is computed from
// the image (its SiLU, or an expansion of it), each row once into a ring
// of rows (a thread's own), a row ahead of its use, with zero columns
// either side and zero channels up to a multiple of 16: the kernel reads it
// with no mask. (AMD's Zen 5 stalls masked loads of what was stored
// shortly before: reading the SiLU rows through the masks made the kernel
// 2-5x slower.)
template <int K, int S, Activation A, bool InRing>
class Rows {
 public:
  static constexpr int T = 8;
  static constexpr int k_ahead = 2;  // tiles the output is fetched ahead of writing

  explicit Rows(const Call& call)
      : m_image(call.image), m_weights(call.weights), m_bias(call.bias), m_out(call.out), m_row_sums(call.row_sums),
        m_channels(call.d.channels), m_in_channels(call.d.expansion ? call.d.expansion->in_channels : m_channels),
        m_height(call.d.height), m_width(call.d.width), m_padding(call.d.padding), m_out_width(call.d.out_width),
        m_expansion(call.d.expansion) {
    const Depthwise& d = call.d;
    const PostOp* post = call.post;
    const auto [low, high] = clamp_bounds(post);
    m_low = _mm512_set1_ps(low);
    m_high = _mm512_set1_ps(high);
    m_blocks = (d.channels + 15) / 16;
    m_padded = m_blocks * 16;
    const int64_t rest = d.channels % 16;
    m_last_mask = rest ? __mmask16((1u << rest) - 1) : __mmask16(0xFFFF);
    // Outputs whose whole window lies inside the image, left to right.
    m_inner_begin = std::min((d.padding + S - 1) / S, d.out_width);
    const int64_t last = d.width - K + d.padding;
    m_inner_end = last < 0 ? m_inner_begin : std::max(m_inner_begin, std::min(d.out_width, last / S + 1));
    if (m_expansion) {
      const PostOp* e = m_expansion->post;
      m_expand = &expand_tiles(*activation_of(e));
      std::tie(m_expand_low, m_expand_high) = clamp_bounds(e);
      if (m_expansion->kernel > 1) {
        // The expansion's window rows, with zero columns either side.
        static thread_local std::vector<float> window;
        const Expansion& x = *m_expansion;
        m_window_step = (x.padding + x.width + x.padding) * x.in_channels;
        window.assign(size_t(x.kernel * m_window_step), 0.f);
        m_window = window.data();
      }
    }
    if constexpr (InRing) {
      // K rows in use and S being filled, each 64-byte aligned.
      static thread_local std::vector<float> ring;
      constexpr int span = (T - 1) * S + K;
      m_ring_step = (d.padding + d.width + d.padding + span) * m_padded;
      ring.resize(size_t((K + S) * m_ring_step + 16));
      m_ring = ring.data() + (16 - reinterpret_cast<uintptr_t>(ring.data()) / sizeof(float) % 16) % 16;
      for (int k = 0; k < K + S; ++k) {
        float* slot = m_ring + k * m_ring_step;
        std::fill(slot, slot + d.padding * m_padded, 0.f);
        std::fill(slot + (d.padding + d.width) * m_padded, slot + m_ring_step, 0.f);
      }
    }
  }

  void run(int64_t first_row, int64_t end_row, int64_t first_block, int64_t end_block) {
    m_first_block = first_block, m_end_block = end_block;
    const int64_t blocks = end_block - first_block;
    // The ring's rows: those the part's windows read.
    const int64_t last_row = std::min(m_height, (end_row - 1) * S - m_padding + K);
    for (int64_t oh = first_row; oh < end_row; ++oh) {
      const int64_t top = oh * S - m_padding;
      const int kh_begin = int(std::max<int64_t>(0, -top));
      const int kh_end = int(std::min<int64_t>(K, m_height - top));
      if constexpr (InRing) fill_ring(top + kh_begin, std::min(last_row, top + kh_end + S));
      const int64_t parts = (m_out_width + T - 1) / T * blocks;
      for (int64_t ow = 0; ow < m_out_width; ow += T) {
        const int64_t count = std::min<int64_t>(T, m_out_width - ow);
        for (int64_t b = first_block; b < end_block; ++b) {
          // The rows read next: by the next output row, or by the ring's
          // filling for the one after it.
          prefetch_rows(top + (InRing ? 2 : 1) * S, ow / T * blocks + b - first_block, parts);
          prefetch_output(oh, ow + k_ahead * T, b);
          if (ow >= m_inner_begin && ow + T <= m_inner_end) {
            tile<false>(oh, top, kh_begin, kh_end, ow, T, b);
          } else {
            tile<true>(oh, top, kh_begin, kh_end, ow, count, b);
          }
        }
      }
    }
  }

 private:
  // Input row r as the kernel reads it: in the image, or computed from it in
  // the ring.
  const float* row_at(int64_t r) const { return InRing ? ring_row(r) : image_row(r); }

  const float* image_row(int64_t r) const { return m_image + r * m_width * m_in_channels; }

  // Input row r's place in the ring, past its zero columns on the left.
  float* ring_row(int64_t r) const { return m_ring + r % (K + S) * m_ring_step + m_padding * m_padded; }

  // Input rows [begin, end) in the ring, those not there yet (the rows a
  // window needs follow on from the previous window's): the expansion of
  // the image's rows, or their SiLU.
  void fill_ring(int64_t begin, int64_t end) {
    // The part's blocks, the last masked where it is the image's last.
    const int64_t full_end = std::min(m_end_block, m_blocks - 1);
    for (int64_t r = std::max(begin, m_filled); r < end; ++r) {
      const float* from = image_row(r);
      float* to = ring_row(r);
      if (m_expansion) {
        expand_row(r, to);
        continue;
      }
      for (int64_t x = 0; x < m_width; ++x, from += m_channels, to += m_padded) {
        for (int64_t b = m_first_block; b < full_end; ++b) {
          _mm512_store_ps(to + b * 16, silu(_mm512_loadu_ps(from + b * 16)));
        }
        if (full_end < m_end_block) {
          _mm512_store_ps(to + full_end * 16, silu(_mm512_maskz_loadu_ps(m_last_mask, from + full_end * 16)));
        }
      }
    }
    m_filled = std::max(m_filled, end);
  }

  // Row r of the expansion, the part's blocks: up to 3 blocks of its
  // channels at a time (their weights stay in the first-level cache), over
  // the row's pixels in groups of up to 8 as even as they come (a row of
  // 7 as one, of 14 as two of 7: a group of a few pixels loads as many
  // weights as one of 8 for fewer sums). A 1x1 convolution reads the
  // image's row r; a larger one, its window's rows (window_taps).
  void expand_row(int64_t r, float* to) const {
    const Expansion& e = *m_expansion;
    const Taps taps = e.kernel > 1 ? window_taps(r) : Taps{image_row(r), 1, 0, e.in_channels, e.in_channels};
    const int64_t groups = (m_width + k_expand_pixels - 1) / k_expand_pixels;
    for (int64_t b = m_first_block; b < m_end_block; b += k_expand_blocks) {
      const int64_t n = std::min<int64_t>(k_expand_blocks, m_end_block - b);
      for (int64_t g = 0; g < groups; ++g) {
        const int64_t x = m_width * g / groups, p = m_width * (g + 1) / groups - x;
        Taps at = taps;
        at.in += x * taps.pixel_step;
        (*m_expand)[p - 1][n - 1](at, e.weights + b * 16, m_padded, e.bias + b * 16, to + x * m_padded + b * 16,
                                  m_expand_low, m_expand_high);
      }
    }
  }

  // The taps of row r of an expansion of a kernel larger than 1: the rows
  // of the image its windows cover, copied with their zero padding into
  // the window buffer as dense rows of pixels' channels (zeros where a row
  // lies off the image), whatever the image's layout.
  Taps window_taps(int64_t r) const {
    const Expansion& e = *m_expansion;
    const int64_t top = r * e.stride - e.padding;
    for (int64_t k = 0; k < e.kernel; ++k) {
      float* into = m_window + k * m_window_step + e.padding * e.in_channels;
      const int64_t y = top + k;
      if (y < 0 || y >= e.height) {
        std::fill(into, into + e.width * e.in_channels, 0.f);
        continue;
      }
      for (int64_t c = 0; c < e.in_channels; ++c) {
        const float* from = m_image + y * e.row_step + c * e.channel_step;
        for (int64_t x = 0; x < e.width; ++x) into[x * e.in_channels + c] = from[x * e.column_step];
      }
    }
    return Taps{m_window, e.kernel, m_window_step, e.kernel * e.in_channels, e.stride * e.in_channels};
  }

  static __m512 silu(__m512 x) { return activate<Activation::silu>(x, x, x); }

  // Where the input and output are not in cache (a batch's tensors), the
  // kernel waits on memory: 2-3x slower than on the same tensors in cache.
  // So what it reads next is asked for ahead, spread over the row's tiles
  // and channel blocks (a burst of prefetches is mostly dropped): the input
  // rows the next output row adds to its window, and the output lines the
  // tile after next writes.
  void prefetch_rows(int64_t next_top, int64_t part, int64_t parts) const {
    if (m_window) return;  // a stem's rows: a few kilobytes, read in order
    const int64_t bytes = m_width * m_in_channels * int64_t(sizeof(float));
    const int64_t begin = bytes * part / parts & ~int64_t(63), end = bytes * (part + 1) / parts;
    for (int kh = std::max(0, K - S); kh < K; ++kh) {
      const int64_t row = next_top + kh;
      if (row < 0 || row >= m_height) continue;
      const char* start = reinterpret_cast<const char*>(image_row(row));
      for (int64_t line = begin; line < end; line += 64) prefetch_to_read(start + line);
    }
  }

  void prefetch_output(int64_t oh, int64_t ow, int64_t b) const {
    const int64_t end = std::min(m_out_width, ow + T);
    for (float* line = m_out + (oh * m_out_width + ow) * m_channels + b * 16; ow < end; ++ow, line += m_channels) {
      prefetch_to_write(reinterpret_cast<char*>(line));
    }
  }

  // Outputs [ow, ow + count) of row oh, channel block b; Edge: some
  // columns of their windows may lie outside the image.
  template <bool Edge>
  void tile(int64_t oh, int64_t top, int kh_begin, int kh_end, int64_t ow, int64_t count, int64_t b) const {
    constexpr int span = (T - 1) * S + K;  // input columns the T windows cover
    const int64_t left = ow * S - m_padding, c = InRing ? m_padded : m_channels;
    const __mmask16 mask = b + 1 == m_blocks ? m_last_mask : __mmask16(0xFFFF);
    __mmask16 column_mask[span];
#pragma GCC unroll 32
    for (int i = 0; i < span; ++i) column_mask[i] = !Edge || uint64_t(left + i) < uint64_t(m_width) ? mask : 0;
    const __m512 bias = _mm512_loadu_ps(m_bias + b * 16);
    __m512 sum[T];
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) sum[t] = bias;
    const float* w = m_weights + kh_begin * K * m_padded + b * 16;
    for (int kh = kh_begin; kh < kh_end; ++kh, w += K * m_padded) {
      __m512 x[span];
      const float* column = row_at(top + kh) + left * c + b * 16;
#pragma GCC unroll 32
      for (int i = 0; i < span; ++i, column += c) {
        x[i] = InRing ? _mm512_load_ps(column) : _mm512_maskz_loadu_ps(column_mask[i], column);
      }
#pragma GCC unroll 8
      for (int kw = 0; kw < K; ++kw) {
        const __m512 wk = _mm512_loadu_ps(w + kw * m_padded);
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) sum[t] = _mm512_fmadd_ps(wk, x[t * S + kw], sum[t]);
      }
    }
    float* o = m_out + (oh * m_out_width + ow) * m_channels + b * 16;
    __m512 total = _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t, o += m_channels) {
      if (Edge && t >= count) break;
      const __m512 y = activate<A>(sum[t], m_low, m_high);
      _mm512_mask_storeu_ps(o, mask, y);
      total = _mm512_add_ps(total, y);
    }
    if (m_row_sums) {
      float* row_sum = m_row_sums + oh * m_padded + b * 16;
      _mm512_store_ps(row_sum, ow == 0 ? total : _mm512_add_ps(_mm512_load_ps(row_sum), total));
    }
  }

  const float *m_image, *m_weights, *m_bias;
  float* m_out;
  float* m_row_sums;
  int64_t m_channels, m_in_channels, m_height, m_width, m_padding, m_out_width;
  const Expansion* m_expansion;
  const ExpandTiles* m_expand = nullptr;  // m_expansion's, by its activation
  float m_expand_low = 0, m_expand_high = 0;
  __m512 m_low, m_high;
  int64_t m_blocks = 0, m_padded = 0, m_inner_begin = 0, m_inner_end = 0;
  int64_t m_first_block = 0, m_end_block = 0;  // the part's blocks of 16 channels
  __mmask16 m_last_mask = 0xFFFF;
  float* m_ring = nullptr;  // InRing: K + S rows of m_ring_step floats
  float* m_window = nullptr;  // an expansion of kernel k > 1: k rows of m_window_step floats
  int64_t m_window_step = 0;
  int64_t m_ring_step = 0;
  int64_t m_filled = std::numeric_limits<int64_t>::min();  // the ring holds the rows before this one (K + S at most)
};

template <int K, int S, Activation A>
void run_rows(const Call& call, const Part& part) {
  if (call.d.input_silu || call.d.expansion) {
    Rows<K, S, A, true>(call).run(part.first_row, part.end_row, part.first_block, part.end_block);
  } else {
    Rows<K, S, A, false>(call).run(part.first_row, part.end_row, part.first_block, part.end_block);
  }
}

template <int K, int S>
void run_activation(Activation a, const Call& call, const Part& part) {
  switch (a) {
    case Activation::none: return run_rows<K, S, Activation::none>(call, part);
    case Activation::clamp: return run_rows<K, S, Activation::clamp>(call, part);
    case Activation::silu: return run_rows<K, S, Activation::silu>(call, part);
    case Activation::sigmoid: return run_rows<K, S, Activation::sigmoid>(call, part);
    case Activation::hardswish: return run_rows<K, S, Activation::hardswish>(call, part);
    case Activation::hardsigmoid: return run_rows<K, S, Activation::hardsigmoid>(call, part);
  }
}

#pragma GCC diagnostic pop
#pragma GCC pop_options

}  // namespace

bool depthwise_runs(int64_t kernel, int64_t stride, const PostOp* post) {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  return avx512 && (kernel == 3 || kernel == 5) && (stride == 1 || stride == 2) && activation_of(post).has_value();
}

bool expansion_runs(int64_t kernel, int64_t stride, int64_t padding, int64_t in_channels, const PostOp* post) {
  const std::optional<Activation> a = activation_of(post);
  const bool shape = kernel == 1 ? stride == 1 && padding == 0
                                 : in_channels <= 4 && kernel <= 7 && (stride == 1 || stride == 2) &&
                                       padding >= 0 && padding < kernel;
  return shape && a &&
         (*a == Activation::none || *a == Activation::clamp || *a == Activation::silu ||
          *a == Activation::hardswish);
}

void depthwise_rows(const Depthwise& d, const PostOp* post, const float* image, const float* weights,
                    const float* bias, float* out, float* row_sums, const Part& part) {
  const Activation a = *activation_of(post);
  const Call call{d, post, image, weights, bias, out, row_sums};
  const auto run = [&](auto kernel, auto stride) {
    run_activation<decltype(kernel)::value, decltype(stride)::value>(a, call, part);
  };
  using one = std::integral_constant<int, 1>;
  using two = std::integral_constant<int, 2>;
  using three = std::integral_constant<int, 3>;
  using five = std::integral_constant<int, 5>;
  if (d.kernel == 3) {
    d.stride == 1 ? run(three{}, one{}) : run(three{}, two{});
  } else {
    d.stride == 1 ? run(five{}, one{}) : run(five{}, two{});
  }
}

}  // namespace zoo::models
