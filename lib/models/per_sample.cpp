#include "models/per_sample.hpp"

#include <vector>

#include <torch/script.h>
#include <torch/csrc/jit/ir/ir.h>

namespace zoo::models {
namespace {

// `product` of each sample of x (its first dimension) alone, joined.
template <typename Product>
at::Tensor per_sample(const at::Tensor& x, Product product) {
  if (x.dim() < 2 || x.size(0) <= 1) return product(x);
  std::vector<at::Tensor> rows;
  rows.reserve(size_t(x.size(0)));
  for (int64_t i = 0; i < x.size(0); ++i) rows.push_back(product(x.narrow(0, i, 1)));
  return at::cat(rows, 0);
}

// A sample that is one row ([1, K]: a classifier's input) goes to a
// matrix-vector product: OpenBLAS's matrix product repacks the whole
// weight on every call, which for one row costs more than the sums.
bool one_row(const at::Tensor& sample) { return sample.dim() == 2 && sample.size(0) == 1; }

at::Tensor per_sample_matmul(const at::Tensor& x, const at::Tensor& weight) {
  return per_sample(x, [&](const at::Tensor& sample) {
    return one_row(sample) ? at::mv(weight.t(), sample[0]).unsqueeze(0) : at::matmul(sample, weight);
  });
}

at::Tensor per_sample_linear(const at::Tensor& x, const at::Tensor& weight, const c10::optional<at::Tensor>& bias) {
  return per_sample(x, [&](const at::Tensor& sample) {
    if (!one_row(sample)) return at::linear(sample, weight, bias);
    const at::Tensor row = sample[0];
    return (bias && bias->defined() ? at::addmv(*bias, weight, row) : at::mv(weight, row)).unsqueeze(0);
  });
}

TORCH_LIBRARY(zoo, library) {
  library.def("per_sample_matmul(Tensor x, Tensor weight) -> Tensor", &per_sample_matmul);
  library.def("per_sample_linear(Tensor x, Tensor weight, Tensor? bias) -> Tensor", &per_sample_linear);
}

bool constant_matrix(const torch::jit::Value* value) {
  if (value->node()->kind() != c10::prim::Constant) return false;
  const c10::optional<c10::IValue> constant = torch::jit::toIValue(value);
  return constant && constant->isTensor() && constant->toTensor().dim() == 2;
}

void collect(torch::jit::Block* block, std::vector<torch::jit::Node*>& found) {
  for (torch::jit::Node* node : block->nodes()) {
    for (torch::jit::Block* sub : node->blocks()) collect(sub, found);
    const bool product = node->kind() == c10::aten::matmul || node->kind() == c10::aten::linear;
    if (product && node->inputs().size() >= 2 && constant_matrix(node->input(1))) found.push_back(node);
  }
}

}  // namespace

void run_weights_per_sample(const std::shared_ptr<torch::jit::Graph>& graph) {
  std::vector<torch::jit::Node*> nodes;
  collect(graph->block(), nodes);
  static const auto matmul = c10::Symbol::fromQualString("zoo::per_sample_matmul");
  static const auto linear = c10::Symbol::fromQualString("zoo::per_sample_linear");
  for (torch::jit::Node* node : nodes) {
    torch::jit::Node* replacement =
        graph->create(node->kind() == c10::aten::matmul ? matmul : linear, node->inputs(), 1);
    replacement->output()->setType(node->output()->type());
    replacement->insertBefore(node);
    node->output()->replaceAllUsesWith(replacement->output());
    node->destroy();
  }
}

}  // namespace zoo::models
