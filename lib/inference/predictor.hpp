// What the batch loop runs: a Predictor turns a group of decoded items into
// one row of floats per item (logits, raw detections, an embedding). Each
// model kind (model_kinds.hpp) gives one; TorchPredictor is the one for
// Torch modules taking an NCHW batch.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "media/pipeline.hpp"
#include "models/model.hpp"

namespace zoo::inference {

// Turns the model's output for a group of `n` images into one vector per
// image in `rows` (rows.size() == n). Throws zoo::Error when the output is
// not what the job expects; the loop then isolates the images (a failure
// on the very first image ends the run).
using RowsFromOutput = std::function<void(const models::Output& output, size_t n, std::vector<std::vector<float>>& rows)>;

// Used by one thread at a time.
class Predictor {
 public:
  virtual ~Predictor() = default;

  // True when the items must carry 8-bit pixels (DecodeLimits::keep_pixels)
  // rather than normalised tensors.
  virtual bool takes_pixels() const { return false; }

  // Fills rows[i] for the items [start, end) of `batch`: all decoded without
  // error, and of one tensor shape (unless takes_pixels()). Throws
  // zoo::Error when the model fails; the loop then retries the items one by
  // one to find the bad one.
  virtual void run(const std::vector<media::PipelineItem>& batch, size_t start, size_t end,
                   std::vector<std::vector<float>>& rows) = 0;
};

// A Torch model: runs a group as one NCHW batch; `rows_from_output` makes
// the rows. A group smaller than `batch_size` is padded to it with copies
// of its last image (their rows dropped): MKLDNN picks its kernels by the
// batch size, and their results differ in the last digits, so every call
// at one size makes each row a function of its image alone (the last
// partial batch, a shard's or a resumed run's, gives the bytes a whole run
// gives). 0: no padding. Holds a reference to `model`, which must outlive
// it.
class TorchPredictor : public Predictor {
 public:
  TorchPredictor(models::Model& model, RowsFromOutput rows_from_output, size_t batch_size = 0)
      : m_model(model), m_rows_from_output(std::move(rows_from_output)), m_batch_size(batch_size) {}
  void run(const std::vector<media::PipelineItem>& batch, size_t start, size_t end,
           std::vector<std::vector<float>>& rows) override;

 private:
  models::Model& m_model;
  RowsFromOutput m_rows_from_output;
  size_t m_batch_size = 0;
  std::vector<float> m_buffer;
  std::vector<std::vector<float>> m_group;
};

}  // namespace zoo::inference
