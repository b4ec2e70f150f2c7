// Results that do not depend on batch neighbours. BLAS picks its matrix
// product kernel by the number of rows, so the same image's logits from
// resnet18's last layer differed in the last bits between a batch of 16 and
// a batch of 7 (or alone), and with them a sharded or resumed run's bytes.
// Products with a constant weight (Linear layers, which freezing turns into
// aten::linear or aten::matmul) run one sample at a time instead: each
// image gets exactly the rows it gets alone. Convolutions (oneDNN, per
// image) are already batch-invariant.
#pragma once

#include <memory>

namespace torch::jit {
struct Graph;
}

namespace zoo::models {

// Rewrites a frozen graph's aten::linear and aten::matmul nodes whose
// weight is a constant 2-D tensor into zoo::per_sample_linear and
// zoo::per_sample_matmul, which split the input along its first (batch)
// dimension. Exact: splitting rows of a product changes no value's maths.
void run_weights_per_sample(const std::shared_ptr<torch::jit::Graph>& graph);

}  // namespace zoo::models
