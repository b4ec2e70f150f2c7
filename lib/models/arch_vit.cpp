// torchvision's Vision Transformer (vit_b_16) with its module structure and
// parameter names: conv_proj, class_token, encoder.pos_embedding,
// encoder.layers.encoder_layer_N.{ln_1, self_attention, ln_2, mlp},
// encoder.ln, heads.head.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "models/layers.hpp"
#include "util/error.hpp"

namespace zoo::models {
namespace {

constexpr double k_eps = 1e-6;

// torch.nn.init.xavier_uniform_ for a 2-d weight [out, in].
void xavier_uniform_(at::Tensor weight) {
  const double bound = std::sqrt(6.0 / double(weight.size(0) + weight.size(1)));
  weight.uniform_(-bound, bound);
}

// torch.nn.MultiheadAttention(dim, heads, dropout, batch_first=True) as
// self-attention (query = key = value, no mask, no attention weights).
Module self_attention(int64_t dim, int64_t heads, double attention_dropout) {
  Module m = new_module("MultiheadAttention");
  auto in_proj_weight = torch::empty({3 * dim, dim});
  xavier_uniform_(in_proj_weight);
  m.register_parameter("in_proj_weight", in_proj_weight, false);
  m.register_parameter("in_proj_bias", torch::zeros({3 * dim}), false);
  Module out_proj = linear(dim, dim);  // weight keeps nn.Linear's init
  out_proj.attr("bias").toTensor().zero_();
  m.register_module("out_proj", out_proj);
  // In eval PyTorch takes the fused CPU kernel (its "fast path"); training
  // needs autograd and attention dropout, so it is spelt out as
  // F.multi_head_attention_forward computes it.
  m.define(fmt::format(R"(
def forward(self, x):
    if not self.training:
        return torch._native_multi_head_attention(x, x, x, {dim}, {heads}, self.in_proj_weight, self.in_proj_bias,
                                                  self.out_proj.weight, self.out_proj.bias, None, False)[0]
    n = x.size(0)
    length = x.size(1)
    qkv = torch.linear(x, self.in_proj_weight, self.in_proj_bias)
    qkv = qkv.reshape([n, length, 3, {heads}, {head_dim}]).permute([2, 0, 3, 1, 4])
    q = qkv[0] / {sqrt_head_dim}
    attention = torch.softmax(torch.matmul(q, qkv[1].transpose(-2, -1)), -1)
    attention = torch.dropout(attention, {p}, self.training)
    out = torch.matmul(attention, qkv[2]).transpose(1, 2).reshape([n, length, {dim}])
    return self.out_proj.forward(out)
)",
                       fmt::arg("dim", dim), fmt::arg("heads", heads), fmt::arg("head_dim", dim / heads),
                       fmt::arg("sqrt_head_dim", float_literal(std::sqrt(double(dim / heads)))),
                       fmt::arg("p", float_literal(attention_dropout))));
  return m;
}

// torchvision.models.vision_transformer.MLPBlock: Linear, GELU, Dropout,
// Linear, Dropout; Linear weights xavier_uniform_, biases N(0, 1e-6).
Module mlp_block(int64_t dim, int64_t mlp_dim, double dropout_p) {
  Module m = sequential({linear(dim, mlp_dim), activation("GELU", mlp_dim), dropout(dropout_p), linear(mlp_dim, dim),
                         dropout(dropout_p)});
  torch::NoGradGuard no_grad;
  for_each_module(m, "Linear", [](Module& layer) {
    xavier_uniform_(layer.attr("weight").toTensor());
    layer.attr("bias").toTensor().normal_(0.0, 1e-6);
  });
  return m;
}

// torchvision.models.vision_transformer.EncoderBlock (pre-norm).
Module encoder_block(int64_t dim, int64_t heads, int64_t mlp_dim, double dropout_p, double attention_dropout) {
  Module m = new_module("EncoderBlock");
  m.register_module("ln_1", layer_norm(dim, k_eps));
  m.register_module("self_attention", self_attention(dim, heads, attention_dropout));
  m.register_module("dropout", dropout(dropout_p));
  m.register_module("ln_2", layer_norm(dim, k_eps));
  m.register_module("mlp", mlp_block(dim, mlp_dim, dropout_p));
  m.define(R"(
def forward(self, input):
    x = self.ln_1.forward(input)
    x = self.self_attention.forward(x)
    x = self.dropout.forward(x)
    x = x + input
    y = self.ln_2.forward(x)
    y = self.mlp.forward(y)
    return x + y
)");
  return m;
}

struct VitSpec {
  int64_t patch_size, layers, heads, hidden_dim, mlp_dim;
};

Module build_vit(const VitSpec& spec, const nlohmann::json& args) {
  const int64_t num_classes = args.at("num_classes").get<int64_t>();
  const int64_t image_size = args.at("image_size").get<int64_t>();
  const double dropout_p = args.at("dropout").get<double>();
  const double attention_dropout = args.at("attention_dropout").get<double>();
  if (image_size % spec.patch_size != 0) {
    throw Error(ErrorKind::config, "entrypoint_args.image_size: {} is not a multiple of the patch size {}",
                image_size, spec.patch_size);
  }
  const int64_t dim = spec.hidden_dim;
  const int64_t patches = (image_size / spec.patch_size) * (image_size / spec.patch_size);

  Module encoder = new_module("Encoder");
  // Position embeddings as in BERT: N(0, 0.02).
  encoder.register_parameter("pos_embedding", torch::empty({1, patches + 1, dim}).normal_(0.0, 0.02), false);
  encoder.register_module("dropout", dropout(dropout_p));
  std::vector<std::pair<std::string, Module>> layers;
  for (int64_t i = 0; i < spec.layers; ++i) {
    layers.emplace_back(fmt::format("encoder_layer_{}", i),
                        encoder_block(dim, spec.heads, spec.mlp_dim, dropout_p, attention_dropout));
  }
  encoder.register_module("layers", sequential(std::move(layers)));
  encoder.register_module("ln", layer_norm(dim, k_eps));
  encoder.define(R"(
def forward(self, x):
    x = x + self.pos_embedding
    return self.ln.forward(self.layers.forward(self.dropout.forward(x)))
)");

  Module m = new_module("VisionTransformer");
  // Patch embedding: trunc_normal_(std sqrt(1 / fan_in)), zero bias.
  Module conv_proj = conv2d(3, dim, spec.patch_size, spec.patch_size, 0, 1, true);
  trunc_normal_(conv_proj.attr("weight").toTensor(), std::sqrt(1.0 / double(3 * spec.patch_size * spec.patch_size)));
  m.register_module("conv_proj", conv_proj);
  m.register_parameter("class_token", torch::zeros({1, 1, dim}), false);
  m.register_module("encoder", encoder);
  Module head = linear(dim, num_classes);
  {
    torch::NoGradGuard no_grad;
    head.attr("weight").toTensor().zero_();  // torchvision starts the head at zero
    head.attr("bias").toTensor().zero_();
  }
  m.register_module("heads", sequential({{"head", head}}));
  m.define(fmt::format(R"(
def forward(self, x):
    assert x.size(2) == {size} and x.size(3) == {size}, "vit_b_16 expects {size}x{size} images, as set by entrypoint_args.image_size"
    n = x.size(0)
    x = self.conv_proj.forward(x)
    x = x.reshape([n, {dim}, {patches}]).permute([0, 2, 1])
    x = torch.cat([self.class_token.expand([n, -1, -1]), x], 1)
    x = self.encoder.forward(x)
    return self.heads.forward(x[:, 0])
)",
                       fmt::arg("size", image_size), fmt::arg("dim", dim), fmt::arg("patches", patches)));
  return m;
}

}  // namespace

void add_vision_transformers(Registry& t) {
  t["vit_b_16"] = Builtin{
      {{"num_classes", 1000}, {"image_size", 224}, {"dropout", 0.0}, {"attention_dropout", 0.0}},
      [](const nlohmann::json& args) { return build_vit({16, 12, 12, 768, 3072}, args); }};
}

}  // namespace zoo::models
