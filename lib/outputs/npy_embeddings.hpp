// zoo embed's output: one row per good input in OUT.npy (float32 or
// float16, [N, D], valid after every batch), the row's input path on the
// same line of the index file (OUT.paths.txt, or --index; PATH#FRAME for a
// video frame) and failed inputs in OUT.errors.jsonl. Resumable: rows the
// .npy and its index both hold are kept. Parts merge into one .npy, index
// and error log.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "io/jsonl_writer.hpp"
#include "io/npy.hpp"
#include "outputs/format.hpp"

namespace zoo::outputs {

// Where the index and error log go by default: `npy` without its ".npy"
// extension, plus `suffix` ("emb.npy" + ".paths.txt" -> "emb.paths.txt").
std::string sibling_path(const std::string& npy, const std::string& suffix);

struct NpyEmbeddingsFiles {
  std::string npy;     // the rows
  std::string index;   // their paths, one per line
  std::string errors;  // failed inputs, JSON Lines
};

// The files of an output `npy` with index `index` ("" = beside the .npy).
// Throws zoo::Error(usage) when two of them are the same file.
NpyEmbeddingsFiles npy_embeddings_files(const std::string& npy, const std::string& index);

class NpyEmbeddings : public Writer {
 public:
  // `normalize`: scale each row to unit L2 norm before writing.
  NpyEmbeddings(NpyEmbeddingsFiles files, io::NpyDtype dtype, bool normalize);

  // Resuming keeps the rows the .npy and its index both hold (the npy rows
  // are written before their index lines: after a crash either may be
  // longer) and the error log's complete lines. Throws zoo::Error(usage)
  // when the .npy holds another dtype.
  Resumed open(bool resume) override;

  std::vector<std::string> files() const override { return {m_files.npy, m_files.index, m_files.errors}; }

  // Fails an input whose path holds a newline (it cannot be an index line)
  // or whose row is not as wide as the rows before it; throws
  // zoo::Error(usage) when a resumed file's rows are of another width than
  // this run's.
  void write(const std::vector<media::PipelineItem>& batch, const std::vector<std::vector<float>>& rows,
             std::vector<std::string>& errors) override;

  uint64_t rows() const { return m_npy ? m_npy->rows() : 0; }
  uint64_t cols() const { return m_npy ? m_npy->cols() : 0; }

 private:
  NpyEmbeddingsFiles m_files;
  io::NpyDtype m_dtype;
  bool m_normalize;
  std::optional<io::NpyWriter> m_npy;
  std::optional<io::JsonlWriter> m_index;
  std::optional<io::JsonlWriter> m_errors;
  uint64_t m_rows_before = 0;  // rows an earlier run left
  std::vector<float> m_block;
  std::vector<std::string> m_lines;
};

}  // namespace zoo::outputs
