// Precompiled header for lib/models/, the only folder that includes Torch.
#pragma once

#include <torch/script.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <caffe2/serialize/inline_container.h>
#include <ATen/Parallel.h>
