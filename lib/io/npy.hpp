// NPY files (numpy's .npy format, version 1.0) for embeddings: a streaming
// writer of 2-D little-endian float32/float16 arrays that keeps the file a
// valid NPY after every flushed batch and can pick up a file an interrupted
// run left behind, and a reader for tests and resume.
//
// The writer's header is always k_npy_header_bytes long (magic, version,
// length and a space-padded dict ending in '\n'), so the shape can be
// rewritten in place as rows are added.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace zoo::io {

enum class NpyDtype {
  float32,  // '<f4'
  float16,  // '<f2': IEEE half, converted with round-to-nearest-even
};

// Parses "float32"/"f4"/"<f4" or "float16"/"f2"/"<f2"; throws zoo::Error(usage).
NpyDtype parse_npy_dtype(const std::string& text);
// "float32" or "float16".
const char* npy_dtype_name(NpyDtype dtype);
// "<f4" or "<f2".
const char* npy_descr(NpyDtype dtype);
// 4 or 2.
size_t npy_item_size(NpyDtype dtype);

// The size of the header NpyWriter writes: a multiple of 64 (numpy aligns
// the data to 64 bytes) with room for any 64-bit row and column count.
constexpr size_t k_npy_header_bytes = 128;

// What an NPY header says.
struct NpyHeader {
  NpyDtype dtype = NpyDtype::float32;
  std::vector<uint64_t> shape;  // 1 or 2 dimensions
  size_t header_bytes = 0;      // offset of the data
  uint64_t rows() const { return shape.empty() ? 0 : shape[0]; }
  uint64_t cols() const { return shape.size() < 2 ? 1 : shape[1]; }
};

// A v1.0 header of exactly k_npy_header_bytes bytes for a C-order
// [rows, cols] array.
std::string encode_npy_header(NpyDtype dtype, uint64_t rows, uint64_t cols);

// Parses the header at the start of `bytes` (versions 1.0, 2.0 and 3.0).
// Accepts '<f4' and '<f2' in C order with 1 or 2 dimensions. Throws
// zoo::Error(io) naming `path` if the header is not one of those.
NpyHeader parse_npy_header(const std::string& bytes, const std::string& path);

// Reads the header of the NPY file at `path` and checks that the file holds
// the data it promises. Throws zoo::Error(io) naming the file.
NpyHeader read_npy_header(const std::string& path);

// Reads a whole NPY file written as above, values converted to float32.
struct NpyArray {
  NpyHeader header;
  std::vector<float> values;  // rows * cols, row-major
};
// Throws zoo::Error(io) if the file cannot be read, its header is not
// supported or it holds fewer bytes than the header promises.
NpyArray read_npy(const std::string& path);

// IEEE 754 binary16 conversions. float_to_half rounds to nearest, ties to
// even; overflow gives infinity, NaN stays NaN; subnormals are kept.
uint16_t float_to_half(float value);
float half_to_float(uint16_t half);

// What NpyWriter::resume found in an existing file.
struct NpyRecovery {
  uint64_t rows = 0;         // complete rows kept
  uint64_t header_rows = 0;  // row count the header claimed
  uint64_t torn_bytes = 0;   // bytes of a partial last row that were dropped
};

// Streams rows to an NPY file. Not thread-safe.
class NpyWriter {
 public:
  // Creates `path` (replacing any file there) holding a [0, cols] array.
  // cols may be 0: the first append() then sets it. Throws zoo::Error(io).
  NpyWriter(const std::string& path, NpyDtype dtype, uint64_t cols);

  // Reopens a file an earlier NpyWriter wrote, for appending. The row count
  // is recovered from the file size (the header may lag behind the data
  // after a crash); a partial last row is cut off and the header rewritten.
  // Throws zoo::Error(io) if it is not such a file, zoo::Error(usage) if its
  // dtype is not `dtype`.
  static NpyWriter resume(const std::string& path, NpyDtype dtype, NpyRecovery* recovery = nullptr);

  ~NpyWriter();
  NpyWriter(NpyWriter&& other) noexcept;
  NpyWriter& operator=(NpyWriter&&) = delete;
  NpyWriter(const NpyWriter&) = delete;
  NpyWriter& operator=(const NpyWriter&) = delete;

  // Writes `rows` rows of `cols` float values each (converted to the
  // file's dtype) after the existing rows; the header is updated by
  // flush(). While the file has no rows, `cols` sets cols(); after that it
  // must equal cols(), else zoo::Error(data). Throws zoo::Error(io) when
  // the write fails.
  void append(const float* values, uint64_t rows, uint64_t cols);

  // Rewrites the header with the current row count: the file is then a
  // valid NPY holding every appended row.
  void flush();

  // Drops every row after the first `rows` (no-op if there are fewer) and
  // rewrites the header.
  void truncate(uint64_t rows);

  uint64_t rows() const { return m_rows; }
  uint64_t cols() const { return m_cols; }
  NpyDtype dtype() const { return m_dtype; }
  const std::string& path() const { return m_path; }

 private:
  NpyWriter(std::string path, NpyDtype dtype, uint64_t cols, uint64_t rows, int fd);
  void write_at(const void* data, size_t size, uint64_t offset);

  std::string m_path;
  NpyDtype m_dtype;
  uint64_t m_cols;
  uint64_t m_rows;
  int m_fd;
  std::vector<uint8_t> m_buffer;  // one batch, converted
};

}  // namespace zoo::io
