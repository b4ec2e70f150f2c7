#include <ATen/Parallel.h>
#include <torch/script.h>
#include <torch/csrc/jit/api/module.h>
#include "doctest_after_torch.hpp"

#include <functional>
#include <string>

#include "models/fused_conv.hpp"

namespace {

int count(const torch::jit::Graph& graph, const std::string& kind) {
  int n = 0;
  for (const torch::jit::Node* node : graph.nodes()) n += node->kind().toQualString() == kind ? 1 : 0;
  return n;
}

// A frozen module of `source`, its parameters of these names and shapes
// drawn from `seed`'s normal distribution times `scale`.
torch::jit::Module frozen_module(const char* name, uint64_t seed, double scale,
                                 const std::vector<std::pair<const char*, std::vector<int64_t>>>& parameters,
                                 const std::string& source) {
  torch::manual_seed(seed);
  torch::jit::Module m(name);
  for (const auto& [parameter, shape] : parameters) {
    m.register_parameter(parameter, torch::randn(shape) * scale, false);
  }
  m.define(source);
  m.eval();
  return torch::jit::freeze(m);
}

// Eleven convolutions, each followed by what zoo's built-ins and
// torchvision's TorchScript exports put after one (three of them on a 1x1
// input, two in a squeeze-and-excitation block), and the three kinds of
// pooling. 20 channels: not a multiple of the 8 or
// 16 oneDNN's blocked layouts pad to, where LibTorch 1.13's MKLDNN path
// computes ReLU6, hardswish and hardsigmoid wrongly.
torch::jit::Module blocks() {
  // w2 depthwise, w7 and w8 squeeze-and-excitation.
  return frozen_module("Blocks", 3, 0.25,
                       {{"w1", {20, 3, 3, 3}}, {"b1", {20}}, {"w2", {20, 1, 3, 3}}, {"b2", {20}},
                        {"w3", {20, 20, 1, 1}}, {"b3", {20}}, {"w4", {20, 20, 3, 3}}, {"w5", {20, 20, 1, 1}},
                        {"b5", {20}}, {"w6", {20, 20, 1, 1}}, {"w7", {5, 20, 1, 1}}, {"b7", {5}},
                        {"w8", {20, 5, 1, 1}}, {"b8", {20}}},
                       R"(
def forward(self, x, shift):
    a = torch.relu(torch.conv2d(x, self.w1, self.b1, [2, 2], [1, 1], [1, 1], 1))
    a = torch.max_pool2d(a, [3, 3], [2, 2], [1, 1], [1, 1], False)
    b = torch.hardtanh(torch.conv2d(a, self.w2, self.b2, [1, 1], [2, 2], [2, 2], 20).contiguous(), 0.0, 6.0)
    c = torch.conv2d(b, self.w3, self.b3, [1, 1], [0, 0], [1, 1], 1)
    c = torch.mul(c, torch.sigmoid(c))
    d = torch.relu(torch.conv2d(c, self.w4, None, [1, 1], [1, 1], [1, 1], 1) + a)
    e = torch.hardswish(torch.conv2d(d, self.w5, self.b5, [1, 1], [0, 0], [1, 1], 1))
    s = torch.relu(torch.conv2d(torch.adaptive_avg_pool2d(e, [1, 1]), self.w7, self.b7, [1, 1], [0, 0], [1, 1], 1))
    e = torch.sigmoid(torch.conv2d(s, self.w8, self.b8, [1, 1], [0, 0], [1, 1], 1)) * e
    f = d + torch.hardsigmoid(torch.conv2d(e, self.w6, None, [1, 1], [0, 0], [1, 1], 1))
    g = torch.sigmoid(torch.conv2d(f, self.w5, self.b5, [1, 1], [0, 0], [1, 1], 1)) + shift
    h = torch.conv2d(g, self.w3, self.b3, [1, 1], [0, 0], [1, 1], 1)
    p = torch.adaptive_avg_pool2d(torch.avg_pool2d(h, [2, 2], [2, 2], [0, 0], False, True, None), [1, 1])
    q = torch.conv2d(p, self.w3, self.b3, [1, 1], [0, 0], [1, 1], 1)
    return h * 2.0 + torch.relu(h) + p + q * d + d
)");
}

// A model of tuple outputs, run on x with its convolutions fused
// (`module`) and as made (`reference`): each output within 1e-5 of the
// reference's (of its largest value, or 1); each image's outputs those it
// gets alone, to the bit; and the same bits from a model made, fused and
// run on the other thread count (a run resumed with other --threads).
void check_outputs(const std::function<torch::jit::Module()>& make, torch::jit::Module& reference,
                   torch::jit::Module& module, const at::Tensor& x) {
  const auto expected = reference.forward({x.clone()}).toTuple()->elements();
  const auto got = module.forward({x.clone()}).toTuple()->elements();
  for (size_t k = 0; k < got.size(); ++k) {
    const at::Tensor e = expected[k].toTensor(), g = got[k].toTensor();
    REQUIRE(g.sizes() == e.sizes());
    const double worst = (g - e).abs().max().item<double>();
    const double scale = e.abs().max().item<double>();
    INFO("output ", k, " of input ", x.sizes(), ": largest difference ", worst, " of values up to ", scale);
    CHECK(worst <= 1e-5 * std::max(1.0, scale));
  }
  for (int64_t i = 0; i < x.size(0); ++i) {
    const auto alone = module.forward({x.narrow(0, i, 1).clone()}).toTuple()->elements();
    for (size_t k = 0; k < got.size(); ++k) {
      CHECK_MESSAGE(at::equal(alone[k].toTensor(), got[k].toTensor().narrow(0, i, 1)), "output ", k, " image ", i);
    }
  }
  const int threads = at::get_num_threads();
  at::set_num_threads(threads == 1 ? 2 : 1);
  torch::jit::Module fresh = make();
  zoo::models::fuse_convolutions(fresh.get_method("forward").graph());
  const auto other = fresh.forward({x.clone()}).toTuple()->elements();
  at::set_num_threads(threads);
  for (size_t k = 0; k < got.size(); ++k) {
    CHECK_MESSAGE(at::equal(other[k].toTensor(), got[k].toTensor()), "output ", k, " on another thread count");
  }
}

}  // namespace

TEST_SUITE("models::fused_conv") {
  TEST_CASE("convolutions fused with their activations and residual adds give ATen's values") {
    // Two copies with the same weights: the interpreter plans a graph on
    // its first run, so the one rewritten must not have run before.
    torch::jit::Module reference = blocks();
    torch::jit::Module module = blocks();
    const auto graph = module.get_method("forward").graph();
    REQUIRE(count(*graph, "aten::conv2d") == 11);
    const zoo::models::FusedConvolutions fused = zoo::models::fuse_convolutions(graph);
    CHECK(fused.convolutions == 11);
    CHECK(fused.winograd == 0);  // 20 channels
    CHECK(count(*graph, "aten::conv2d") == 0);
    CHECK(count(*graph, "zoo::conv") == 8);
    CHECK(count(*graph, "zoo::conv_add") == 3);
    CHECK(count(*graph, "zoo::pool") == 4);
    // The gate times e scales e in place (its last use); q times d must
    // not, since d is added after it.
    CHECK(count(*graph, "zoo::scale") == 2);
    // What could be fused is gone: only h's ReLU, multiply by 2 and adds stay,
    // since h has three users. d is added twice: where f adds it, it is
    // not yet free to be written over (oneDNN reads it as an operand);
    // a, at its last use, is the output d's convolution adds into.
    CHECK(count(*graph, "aten::relu") == 1);
    CHECK(count(*graph, "aten::mul") == 1);
    CHECK(count(*graph, "aten::add") == 4);
    for (const char* gone : {"aten::hardtanh", "aten::contiguous", "aten::sigmoid", "aten::hardswish",
                             "aten::hardsigmoid", "aten::max_pool2d", "aten::avg_pool2d",
                             "aten::adaptive_avg_pool2d"}) {
      CHECK_MESSAGE(count(*graph, gone) == 0, gone);
    }

    // Batch sizes and image sizes, odd ones included; the first again, to
    // use the primitives made for it. A shift per channel: a residual of
    // another shape than the convolution's output, added by ATen after it.
    for (const auto& [n, h, w] : {std::tuple{1, 32, 32}, {3, 17, 23}, {1, 32, 32}}) {
      const at::Tensor x = torch::randn({n, 3, h, w});
      const at::Tensor shift = torch::randn({1, 20, 1, 1});
      const at::Tensor expected = reference.forward({x, shift}).toTensor();
      const at::Tensor got = module.forward({x, shift}).toTensor();
      REQUIRE(got.sizes() == expected.sizes());
      const double worst = (got - expected).abs().max().item<double>();
      const double scale = expected.abs().max().item<double>();
      INFO("input ", x.sizes(), ": largest difference ", worst, " of values up to ", scale);
      CHECK(worst <= 1e-5 * std::max(1.0, scale));
      CHECK(worst > 0);  // oneDNN ran: its sums are not ATen's to the last bit

      // Each image's values are those it gets alone, to the bit.
      for (int64_t i = 0; i < n; ++i) {
        const at::Tensor alone = module.forward({x.narrow(0, i, 1), shift}).toTensor();
        CHECK_MESSAGE(at::equal(alone, got.narrow(0, i, 1)), "image ", i, " of ", n);
      }
    }
  }
  TEST_CASE("3x3 convolutions of 64 channels run by Winograd's algorithm on large inputs, image by image") {
    const auto make = [] {
      torch::manual_seed(5);
      torch::jit::Module m("Winograd");
      m.register_parameter("w1", torch::randn({64, 64, 3, 3}) * 0.05, false);
      m.register_parameter("b1", torch::randn({64}), false);
      m.register_parameter("w2", torch::randn({64, 64, 3, 3}) * 0.05, false);
      m.register_parameter("w3", torch::randn({80, 64, 3, 3}) * 0.05, false);
      m.register_parameter("w4", torch::randn({80, 64, 3, 3}) * 0.05, false);
      m.define(R"(
def forward(self, x):
    a = torch.relu(torch.conv2d(x, self.w1, self.b1, [1, 1], [1, 1], [1, 1], 1))
    b = torch.relu(torch.conv2d(a, self.w2, None, [1, 1], [1, 1], [1, 1], 1) + x)
    c = torch.conv2d(b, self.w1, self.b1, [1, 1], [1, 1], [1, 1], 1) + b
    d = torch.conv2d(c, self.w3, None, [2, 2], [1, 1], [1, 1], 1)
    e = torch.conv2d(c, self.w4, None, [1, 1], [1, 1], [1, 1], 1)
    return torch.relu(c + b), d, e
)");
      m.eval();
      return torch::jit::freeze(m);
    };
    torch::jit::Module reference = make();
    torch::jit::Module module = make();
    // b's convolution adds x in place (x's last use); c's adds b as an
    // operand (b is used again); e has 80 outputs. d has stride 2: direct.
    const zoo::models::FusedConvolutions fused = zoo::models::fuse_convolutions(module.get_method("forward").graph());
    CHECK(fused.convolutions == 5);
    // oneDNN 2.6 has Winograd convolutions on AVX-512 machines only.
    CHECK(fused.winograd == (__builtin_cpu_supports("avx512bw") ? 4 : 0));
    // 32x32 and 33x35: 4M multiply-adds an image and more, Winograd's; 13x9
    // is too small to pay, and runs the direct kernels. 80x80 is where
    // oneDNN picks another Winograd variant on 1 thread than on 2.
    for (const auto& [n, h, w] : {std::tuple{1, 32, 32}, {3, 33, 35}, {2, 13, 9}, {1, 80, 80}, {1, 32, 32}}) {
      const at::Tensor x = torch::randn({n, 64, h, w});
      check_outputs(make, reference, module, x);
    }
  }
  TEST_CASE("depthwise convolutions with their activations give ATen's values, image by image") {
    // Kernels of 3 and 5, strides 1 and 2, channels a multiple of 16 or
    // not (24: a full block and a masked one; 8: a masked one only), each
    // activation zoo's kernel computes (SiLU both ways), and one
    // of each it leaves to oneDNN: a dilated one, and one followed by two
    // activations.
    const auto make = [] {
      return frozen_module("Depthwise", 7, 0.3,
                           {{"w1", {32, 1, 3, 3}}, {"b1", {32}}, {"w2", {32, 1, 5, 5}}, {"w3", {24, 32, 1, 1}},
                            {"w4", {24, 1, 3, 3}}, {"b4", {24}}, {"w5", {24, 1, 5, 5}}, {"b5", {24}},
                            {"w6", {24, 1, 3, 3}}, {"w7", {8, 1, 5, 5}}},
                           R"(
def forward(self, x):
    a = torch.conv2d(x, self.w1, self.b1, [1, 1], [1, 1], [1, 1], 32)
    a = a * torch.sigmoid(a)
    b = torch.silu(torch.conv2d(a, self.w2, None, [2, 2], [2, 2], [1, 1], 32))
    c = torch.hardtanh(torch.conv2d(a, self.w1, None, [1, 1], [0, 0], [1, 1], 32), 0.0, 6.0)
    d = torch.conv2d(c, self.w3, None, [1, 1], [0, 0], [1, 1], 1)
    e = torch.hardswish(torch.conv2d(d, self.w4, self.b4, [2, 2], [1, 1], [1, 1], 24))
    f = torch.relu(torch.conv2d(e, self.w5, self.b5, [1, 1], [2, 2], [1, 1], 24))
    g = torch.conv2d(f, self.w5, None, [2, 2], [2, 2], [1, 1], 24)
    h = torch.sigmoid(torch.conv2d(d, self.w6, None, [1, 1], [1, 1], [1, 1], 24))
    i = torch.hardsigmoid(torch.conv2d(d, self.w4, self.b4, [1, 1], [2, 2], [2, 2], 24))
    j = torch.relu(torch.sigmoid(torch.conv2d(d, self.w4, None, [1, 1], [1, 1], [1, 1], 24)))
    k = torch.silu(torch.conv2d(x[:, 0:8], self.w7, None, [1, 1], [2, 2], [1, 1], 8))
    return a, b, c, e, f, g, h, i, j, k
)");
    };
    torch::jit::Module reference = make();
    torch::jit::Module module = make();
    const zoo::models::FusedConvolutions fused = zoo::models::fuse_convolutions(module.get_method("forward").graph());
    CHECK(fused.convolutions == 11);
    CHECK(fused.depthwise == (__builtin_cpu_supports("avx512f") ? 8 : 0));
    // Sizes from several tiles a row to less than one and smaller than a
    // kernel; odd, and not square.
    for (const auto& [n, h, w] : {std::tuple{1, 40, 56}, {3, 17, 23}, {2, 7, 7}, {1, 3, 4}, {1, 40, 56}}) {
      const at::Tensor x = torch::randn({n, 32, h, w});
      check_outputs(make, reference, module, x);
    }
  }
  TEST_CASE("a depthwise convolution on zoo's kernel computes the SiLU of the convolution before it") {
    // efficientnet's blocks: a stem convolution ending with SiLU (written
    // x * sigmoid(x)) and one ending with a residual add and SiLU, each read
    // only by a depthwise convolution (3x3, 24 channels: a masked block).
    // The kernel computes the whole convolution where it is a 1x1 one
    // (an expansion, the next case): two such, with 5x5 depthwise
    // convolutions of stride 2, 24 and 8 channels. Left as they are: a SiLU
    // read by two ops, and one read by a convolution that is not
    // depthwise.
    const auto make = [] {
      // expand, expand2 and expand3 each their own: the same op twice is computed once.
      return frozen_module("InputSilu", 11, 0.3,
                           {{"stem", {24, 3, 3, 3}}, {"w1", {24, 1, 3, 3}}, {"b1", {24}}, {"expand", {24, 24, 1, 1}},
                            {"w2", {24, 1, 5, 5}}, {"w3", {8, 24, 1, 1}}, {"w4", {8, 1, 3, 3}},
                            {"w5", {24, 24, 1, 1}}, {"expand2", {24, 24, 1, 1}}, {"expand3", {24, 24, 1, 1}}},
                           R"(
def forward(self, x):
    a = torch.conv2d(x, self.stem, None, [2, 2], [1, 1], [1, 1], 1)
    a = a * torch.sigmoid(a)
    b = torch.silu(torch.conv2d(a, self.w1, self.b1, [1, 1], [1, 1], [1, 1], 24))
    c = torch.silu(torch.conv2d(b, self.expand, None, [1, 1], [0, 0], [1, 1], 1))
    d = torch.conv2d(c, self.w2, None, [2, 2], [2, 2], [1, 1], 24)
    e = torch.silu(torch.conv2d(b, self.w3, None, [1, 1], [0, 0], [1, 1], 1))
    f = torch.hardswish(torch.conv2d(e, self.w4, None, [2, 2], [1, 1], [1, 1], 8))
    g = torch.silu(torch.conv2d(b, self.expand2, None, [1, 1], [0, 0], [1, 1], 1) + b)
    h = torch.conv2d(g, self.w1, None, [1, 1], [1, 1], [1, 1], 24)
    i = torch.silu(torch.conv2d(b, self.expand3, None, [1, 1], [0, 0], [1, 1], 1))
    j = torch.conv2d(i, self.w1, None, [1, 1], [1, 1], [1, 1], 24) * i
    k = torch.silu(torch.conv2d(b, self.w5, None, [1, 1], [0, 0], [1, 1], 1))
    k = torch.conv2d(k, self.w5, None, [1, 1], [0, 0], [1, 1], 1)
    return b, d, f, h, j, k
)");
    };
    torch::jit::Module reference = make();
    torch::jit::Module module = make();
    const zoo::models::FusedConvolutions fused = zoo::models::fuse_convolutions(module.get_method("forward").graph());
    CHECK(fused.convolutions == 12);
    const bool avx512 = __builtin_cpu_supports("avx512f");
    CHECK(fused.depthwise == (avx512 ? 5 : 0));
    // h; b computes the stem (the next case but one), d and f their
    // expansions; not j (i has two readers) nor k.
    CHECK(fused.input_silu == (avx512 ? 1 : 0));
    CHECK(fused.expansions == (avx512 ? 3 : 0));
    // Sizes from several tiles a row to less than one and smaller than a
    // kernel, odd and not square; rows shared out among the threads.
    for (const auto& [n, h, w] : {std::tuple{1, 80, 112}, {3, 33, 45}, {2, 13, 14}, {1, 5, 7}, {1, 80, 112}}) {
      const at::Tensor x = torch::randn({n, 3, h, w});
      check_outputs(make, reference, module, x);
    }
  }
  TEST_CASE("a depthwise convolution on zoo's kernel computes the 1x1 convolution before it") {
    // mobilenet's and efficientnet's expansions, with each activation the
    // kernel computes after them (a clamp, as ReLU6 but to [-0.25, 0.5] so
    // that both bounds are reached; ReLU, SiLU written x * sigmoid(x),
    // hardswish, none), read only by a depthwise convolution: 3x3 and 5x5,
    // strides 1 and 2; from 5 channels to 72 (five blocks of 16, the last
    // masked), to 24 and to 8; one whose global average pool is also
    // summed by the kernel. Left as they are: an expansion read by two ops,
    // one ending with sigmoid, one of stride 2, one with a residual add (its
    // SiLU moved instead), and one read by a dilated depthwise convolution;
    // and the SiLU before an expansion that moved stays where it is.
    const auto make = [] {
      return frozen_module("Expansion", 17, 0.3,
                           {{"e1", {72, 5, 1, 1}}, {"be1", {72}}, {"d1", {72, 1, 3, 3}}, {"bd1", {72}},
                            {"e2", {24, 72, 1, 1}}, {"d2", {24, 1, 5, 5}}, {"e3", {8, 24, 1, 1}}, {"be3", {8}},
                            {"d3", {8, 1, 5, 5}}, {"d4", {24, 1, 3, 3}}, {"e4", {24, 24, 1, 1}}, {"e5", {24, 24, 1, 1}},
                            {"e6", {24, 24, 1, 1}}, {"e7", {24, 24, 1, 1}}, {"e8", {24, 24, 1, 1}},
                            {"e9", {24, 24, 1, 1}}, {"e10", {24, 24, 1, 1}}, {"c11", {24, 24, 3, 3}},
                            {"e11", {24, 24, 1, 1}}},
                           R"(
def forward(self, x):
    a = torch.hardtanh(torch.conv2d(x, self.e1, self.be1, [1, 1], [0, 0], [1, 1], 1), -0.25, 0.5)
    b = torch.hardtanh(torch.conv2d(a, self.d1, self.bd1, [2, 2], [1, 1], [1, 1], 72), 0.0, 6.0)
    c = torch.relu(torch.conv2d(b, self.e2, None, [1, 1], [0, 0], [1, 1], 1))
    d = torch.conv2d(c, self.d2, None, [1, 1], [2, 2], [1, 1], 24)
    e = torch.conv2d(d, self.e3, self.be3, [1, 1], [0, 0], [1, 1], 1)
    e = e * torch.sigmoid(e)
    f = torch.hardswish(torch.conv2d(e, self.d3, None, [2, 2], [2, 2], [1, 1], 8))
    g = torch.hardswish(torch.conv2d(d, self.e4, None, [1, 1], [0, 0], [1, 1], 1))
    h = torch.silu(torch.conv2d(g, self.d4, None, [1, 1], [1, 1], [1, 1], 24))
    p = torch.adaptive_avg_pool2d(h, [1, 1])
    i = torch.conv2d(d, self.e5, None, [1, 1], [0, 0], [1, 1], 1)
    j = torch.conv2d(i, self.d4, None, [1, 1], [1, 1], [1, 1], 24)
    k = torch.relu(torch.conv2d(d, self.e6, None, [1, 1], [0, 0], [1, 1], 1))
    l = torch.conv2d(k, self.d4, None, [1, 1], [1, 1], [1, 1], 24)
    m = torch.sigmoid(torch.conv2d(d, self.e7, None, [1, 1], [0, 0], [1, 1], 1))
    n = torch.conv2d(m, self.d4, None, [1, 1], [1, 1], [1, 1], 24)
    o = torch.relu(torch.conv2d(d, self.e8, None, [2, 2], [0, 0], [1, 1], 1))
    q = torch.conv2d(o, self.d4, None, [1, 1], [1, 1], [1, 1], 24)
    r = torch.silu(torch.conv2d(d, self.e9, None, [1, 1], [0, 0], [1, 1], 1) + d)
    t = torch.conv2d(r, self.d4, None, [1, 1], [1, 1], [1, 1], 24)
    u = torch.relu(torch.conv2d(d, self.e10, None, [1, 1], [0, 0], [1, 1], 1))
    v = torch.conv2d(u, self.d4, None, [1, 1], [2, 2], [2, 2], 24)
    y = torch.silu(torch.conv2d(d, self.c11, None, [1, 1], [1, 1], [1, 1], 1))
    z = torch.conv2d(torch.relu(torch.conv2d(y, self.e11, None, [1, 1], [0, 0], [1, 1], 1)), self.d4, None,
                     [1, 1], [1, 1], [1, 1], 24)
    return b, d, f, h, p, j, k, l, n, q, t, v, z
)");
    };
    torch::jit::Module reference = make();
    torch::jit::Module module = make();
    const auto graph = module.get_method("forward").graph();
    const zoo::models::FusedConvolutions fused = zoo::models::fuse_convolutions(graph);
    CHECK(fused.convolutions == 23);
    const bool avx512 = __builtin_cpu_supports("avx512f");
    CHECK(fused.depthwise == (avx512 ? 10 : 0));
    // e1 to e5 and e11 into d1, d2, d3 and d4 three times.
    CHECK(fused.expansions == (avx512 ? 6 : 0));
    // r's; not y's, read by a depthwise convolution that computes e11.
    CHECK(fused.input_silu == (avx512 ? 1 : 0));
    CHECK(fused.pooled == (avx512 ? 1 : 0));
    CHECK(count(*graph, "zoo::conv") + count(*graph, "zoo::conv_add") + count(*graph, "zoo::conv_pool") ==
          (avx512 ? 17 : 23));
    // Widths of 1 to 5 past a multiple of 8, the most pixels the expansion
    // computes at once; an image's channels shared out among the threads
    // (the 72 unevenly), and its rows where it has 56 or more.
    for (const auto& [n, h, w] : {std::tuple{1, 40, 57}, {3, 17, 23}, {2, 7, 7}, {1, 3, 4}, {1, 61, 19}}) {
      const at::Tensor x = torch::randn({n, 5, h, w});
      check_outputs(make, reference, module, x);
    }
  }
  TEST_CASE("a depthwise convolution on zoo's kernel computes the stem convolution before it") {
    // A network's first convolution, of the image's 3 or 4 channels, read
    // only by a depthwise convolution: mobilenet_v2's (3x3, stride 2, a
    // clamp here to [-0.25, 0.5] so that both bounds are reached; 24
    // channels: a masked block), efficientnet's (SiLU written x *
    // sigmoid(x), the depthwise convolution's pool summed by the kernel
    // too), mobilenet_v3's (hardswish, 16 channels), one of 5x5, stride 1,
    // no activation, 40 channels, and one of 7x7 of 4 channels. The image is
    // read as it comes: a slice of the channels, or channels_last. Left as
    // they are: a stem of 5 channels, one read by two ops, one of stride 3
    // and a dilated one.
    const auto make = [] {
      return frozen_module("Stem", 19, 0.3,
                           {{"s1", {24, 3, 3, 3}}, {"b1", {24}}, {"d1", {24, 1, 3, 3}}, {"s2", {32, 3, 3, 3}},
                            {"d2", {32, 1, 3, 3}}, {"s3", {16, 3, 3, 3}}, {"d3", {16, 1, 3, 3}},
                            {"s4", {40, 3, 5, 5}}, {"d4", {40, 1, 5, 5}}, {"s5", {8, 4, 7, 7}}, {"d5", {8, 1, 3, 3}},
                            {"s6", {8, 5, 3, 3}}, {"d6", {8, 1, 3, 3}}, {"s7", {8, 3, 3, 3}}, {"s8", {8, 3, 3, 3}},
                            {"s9", {8, 3, 3, 3}}},
                           R"(
def forward(self, x):
    y = x[:, 0:3]
    a = torch.hardtanh(torch.conv2d(y, self.s1, self.b1, [2, 2], [1, 1], [1, 1], 1), -0.25, 0.5)
    a = torch.hardtanh(torch.conv2d(a, self.d1, None, [1, 1], [1, 1], [1, 1], 24), 0.0, 6.0)
    b = torch.conv2d(y, self.s2, None, [2, 2], [1, 1], [1, 1], 1)
    b = b * torch.sigmoid(b)
    b = torch.silu(torch.conv2d(b, self.d2, None, [1, 1], [1, 1], [1, 1], 32))
    p = torch.adaptive_avg_pool2d(b, [1, 1])
    c = torch.hardswish(torch.conv2d(y, self.s3, None, [2, 2], [1, 1], [1, 1], 1))
    c = torch.relu(torch.conv2d(c, self.d3, None, [2, 2], [1, 1], [1, 1], 16))
    d = torch.conv2d(y, self.s4, None, [1, 1], [2, 2], [1, 1], 1)
    d = torch.conv2d(d, self.d4, None, [2, 2], [2, 2], [1, 1], 40)
    e = torch.relu(torch.conv2d(x, self.s5, None, [2, 2], [3, 3], [1, 1], 1))
    e = torch.conv2d(e, self.d5, None, [1, 1], [1, 1], [1, 1], 8)
    f = torch.cat([x, y[:, 0:1]], 1)
    f = torch.conv2d(torch.relu(torch.conv2d(f, self.s6, None, [1, 1], [1, 1], [1, 1], 1)), self.d6, None,
                     [1, 1], [1, 1], [1, 1], 8)
    g = torch.relu(torch.conv2d(y, self.s7, None, [1, 1], [1, 1], [1, 1], 1))
    g = torch.conv2d(g, self.d6, None, [1, 1], [1, 1], [1, 1], 8) + g
    h = torch.relu(torch.conv2d(y, self.s8, None, [3, 3], [1, 1], [1, 1], 1))
    h = torch.conv2d(h, self.d6, None, [1, 1], [1, 1], [1, 1], 8)
    i = torch.relu(torch.conv2d(y, self.s9, None, [1, 1], [2, 2], [2, 2], 1))
    i = torch.conv2d(i, self.d6, None, [1, 1], [1, 1], [1, 1], 8)
    return a, b, p, c, d, e, f, g, h, i
)");
    };
    torch::jit::Module reference = make();
    torch::jit::Module module = make();
    const auto graph = module.get_method("forward").graph();
    const zoo::models::FusedConvolutions fused = zoo::models::fuse_convolutions(graph);
    CHECK(fused.convolutions == 18);
    const bool avx512 = __builtin_cpu_supports("avx512f");
    CHECK(fused.depthwise == (avx512 ? 8 : 0));  // not g's, which adds a residual
    // s1 to s5 into d1 to d5.
    CHECK(fused.expansions == (avx512 ? 5 : 0));
    CHECK(fused.input_silu == 0);
    CHECK(fused.pooled == (avx512 ? 1 : 0));
    CHECK(count(*graph, "zoo::conv") + count(*graph, "zoo::conv_add") + count(*graph, "zoo::conv_pool") ==
          (avx512 ? 13 : 18));
    // Rows shared out among the threads where the stem's output has 56 or
    // more, else its channels; sizes from several tiles a row to less than
    // one, odd and not square.
    for (const auto& [n, h, w] : {std::tuple{1, 120, 117}, {3, 33, 45}, {2, 13, 14}, {1, 3, 4}, {1, 61, 19}}) {
      const at::Tensor x = torch::randn({n, 4, h, w});
      check_outputs(make, reference, module, x);
      check_outputs(make, reference, module, x.contiguous(at::MemoryFormat::ChannelsLast));
    }
  }
  TEST_CASE("the global average pool of a depthwise convolution on zoo's kernel is summed by the kernel") {
    // Squeeze-and-excitation after a depthwise convolution (efficientnet's
    // with SiLU and the expansion before it moved in, mobilenet_v3's with
    // hardswish; 24 channels: a masked block), its pool also an output; a
    // plain one of 8 channels, stride 2. Left to oneDNN: the pool of a
    // dilated depthwise convolution, and a pool that is not global.
    const auto make = [] {
      return frozen_module("Pooled", 13, 0.3,
                           {{"expand", {24, 3, 1, 1}}, {"dw", {24, 1, 3, 3}}, {"b", {24}}, {"squeeze", {6, 24, 1, 1}},
                            {"excite", {24, 6, 1, 1}}, {"dw5", {24, 1, 5, 5}}, {"dw8", {8, 1, 3, 3}}},
                           R"(
def forward(self, x):
    a = torch.silu(torch.conv2d(x, self.expand, None, [1, 1], [0, 0], [1, 1], 1))
    b = torch.silu(torch.conv2d(a, self.dw, self.b, [1, 1], [1, 1], [1, 1], 24))
    p = torch.adaptive_avg_pool2d(b, [1, 1])
    g = torch.silu(torch.conv2d(p, self.squeeze, None, [1, 1], [0, 0], [1, 1], 1))
    g = torch.sigmoid(torch.conv2d(g, self.excite, None, [1, 1], [0, 0], [1, 1], 1))
    c = b * g
    d = torch.hardswish(torch.conv2d(c, self.dw5, None, [2, 2], [2, 2], [1, 1], 24))
    q = torch.adaptive_avg_pool2d(d, [1, 1])
    e = torch.conv2d(c[:, 0:8], self.dw8, None, [2, 2], [1, 1], [1, 1], 8)
    r = torch.adaptive_avg_pool2d(e, [1, 1])
    f = torch.conv2d(c, self.dw, None, [1, 1], [2, 2], [2, 2], 24)
    s = torch.adaptive_avg_pool2d(f, [1, 1])
    t = torch.conv2d(c, self.dw, None, [1, 1], [1, 1], [1, 1], 24)
    t = torch.avg_pool2d(t, [2, 2], [2, 2], [0, 0], False, True, None)
    return c, p, d, q, r, s, t
)");
    };
    torch::jit::Module reference = make();
    torch::jit::Module module = make();
    const auto graph = module.get_method("forward").graph();
    const zoo::models::FusedConvolutions fused = zoo::models::fuse_convolutions(graph);
    const bool avx512 = __builtin_cpu_supports("avx512f");
    CHECK(fused.depthwise == (avx512 ? 4 : 0));
    CHECK(fused.pooled == (avx512 ? 3 : 0));
    CHECK(count(*graph, "zoo::conv_pool") == (avx512 ? 3 : 0));
    for (const auto& [n, h, w] : {std::tuple{1, 40, 56}, {3, 17, 23}, {2, 7, 7}, {1, 3, 4}, {1, 40, 56}}) {
      const at::Tensor x = torch::randn({n, 3, h, w});
      check_outputs(make, reference, module, x);
    }
  }
  TEST_CASE("a convolution whose weights are not constants stays as it is") {
    torch::jit::Module m("Free");
    m.define(R"(
def forward(self, x, w):
    return torch.relu(torch.conv2d(x, w, None, [1, 1], [0, 0], [1, 1], 1))
)");
    m.eval();
    const auto graph = m.get_method("forward").graph();
    CHECK(zoo::models::fuse_convolutions(graph).convolutions == 0);
    CHECK(count(*graph, "aten::conv2d") == 1);
    CHECK(count(*graph, "aten::relu") == 1);
  }
}
