#include "io/npy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "util/error.hpp"

namespace zoo::io {
namespace {

constexpr char k_magic[] = "\x93NUMPY";
constexpr size_t k_magic_size = 6;

// The value text after `'key':` in a header dict, up to the next top-level
// ',' or '}' (a shape tuple's commas are inside parentheses).
std::string dict_value(const std::string& dict, const std::string& key, const std::string& path) {
  const std::string quoted = "'" + key + "'";
  size_t pos = dict.find(quoted);
  if (pos == std::string::npos) throw Error(ErrorKind::io, "{}: NPY header has no {} (header: {})", path, quoted, dict);
  pos = dict.find(':', pos + quoted.size());
  if (pos == std::string::npos) throw Error(ErrorKind::io, "{}: malformed NPY header: {}", path, dict);
  ++pos;
  int depth = 0;
  size_t end = pos;
  for (; end < dict.size(); ++end) {
    const char c = dict[end];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
  }
  std::string value = dict.substr(pos, end - pos);
  const size_t first = value.find_first_not_of(' ');
  const size_t last = value.find_last_not_of(' ');
  return first == std::string::npos ? "" : value.substr(first, last - first + 1);
}

std::vector<uint64_t> parse_shape(const std::string& text, const std::string& path) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') {
    throw Error(ErrorKind::io, "{}: NPY shape is not a tuple: {}", path, text);
  }
  std::vector<uint64_t> shape;
  std::string inner = text.substr(1, text.size() - 2);
  size_t pos = 0;
  while (pos < inner.size()) {
    size_t comma = inner.find(',', pos);
    if (comma == std::string::npos) comma = inner.size();
    std::string item = inner.substr(pos, comma - pos);
    const size_t first = item.find_first_not_of(' ');
    if (first != std::string::npos) {
      item = item.substr(first, item.find_last_not_of(' ') - first + 1);
      if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos || item.size() > 19) {
        throw Error(ErrorKind::io, "{}: bad NPY shape {}", path, text);
      }
      shape.push_back(std::stoull(item));
    }
    pos = comma + 1;
  }
  return shape;
}

uint64_t checked_product(uint64_t a, uint64_t b, const std::string& path) {
  if (a != 0 && b > UINT64_MAX / a) throw Error(ErrorKind::io, "{}: NPY shape too large", path);
  return a * b;
}

}  // namespace

NpyDtype parse_npy_dtype(const std::string& text) {
  if (text == "float32" || text == "f4" || text == "<f4") return NpyDtype::float32;
  if (text == "float16" || text == "f2" || text == "<f2") return NpyDtype::float16;
  throw Error(ErrorKind::usage, "--dtype: expected float32 or float16, got \"{}\"", text);
}

const char* npy_dtype_name(NpyDtype dtype) { return dtype == NpyDtype::float32 ? "float32" : "float16"; }
const char* npy_descr(NpyDtype dtype) { return dtype == NpyDtype::float32 ? "<f4" : "<f2"; }
size_t npy_item_size(NpyDtype dtype) { return dtype == NpyDtype::float32 ? 4 : 2; }

std::string encode_npy_header(NpyDtype dtype, uint64_t rows, uint64_t cols) {
  std::string dict =
      fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}, {}), }}", npy_descr(dtype), rows, cols);
  // magic (6) + version (2) + header length (2) + dict, padded with spaces
  // and ending in '\n'.
  const size_t prefix = k_magic_size + 4;
  dict.resize(k_npy_header_bytes - prefix - 1, ' ');
  dict += '\n';
  std::string out(k_magic, k_magic_size);
  out += char(1);
  out += char(0);
  const uint16_t length = uint16_t(dict.size());
  out += char(length & 0xff);
  out += char(length >> 8);
  return out + dict;
}

NpyHeader parse_npy_header(const std::string& bytes, const std::string& path) {
  if (bytes.size() < k_magic_size + 4 || bytes.compare(0, k_magic_size, k_magic, k_magic_size) != 0) {
    throw Error(ErrorKind::io, "{}: not an NPY file (no \\x93NUMPY magic)", path);
  }
  const int major = uint8_t(bytes[6]);
  size_t length = 0;
  size_t prefix = 0;
  if (major == 1) {
    length = uint8_t(bytes[8]) | (size_t(uint8_t(bytes[9])) << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw Error(ErrorKind::io, "{}: NPY header is cut off", path);
    length = uint8_t(bytes[8]) | (size_t(uint8_t(bytes[9])) << 8) | (size_t(uint8_t(bytes[10])) << 16) |
             (size_t(uint8_t(bytes[11])) << 24);
    prefix = 12;
  } else {
    throw Error(ErrorKind::io, "{}: unsupported NPY version {}.{}", path, major, int(uint8_t(bytes[7])));
  }
  if (bytes.size() < prefix + length) throw Error(ErrorKind::io, "{}: NPY header is cut off", path);
  const std::string dict = bytes.substr(prefix, length);
  NpyHeader header;
  header.header_bytes = prefix + length;
  std::string descr = dict_value(dict, "descr", path);
  if (descr == "'<f4'") {
    header.dtype = NpyDtype::float32;
  } else if (descr == "'<f2'") {
    header.dtype = NpyDtype::float16;
  } else {
    throw Error(ErrorKind::io, "{}: NPY dtype {} is not supported (only '<f4' and '<f2')", path, descr);
  }
  if (dict_value(dict, "fortran_order", path) != "False") {
    throw Error(ErrorKind::io, "{}: NPY array is in Fortran order; only C order is supported", path);
  }
  header.shape = parse_shape(dict_value(dict, "shape", path), path);
  if (header.shape.empty() || header.shape.size() > 2) {
    throw Error(ErrorKind::io, "{}: NPY array has {} dimensions; expected 1 or 2", path, header.shape.size());
  }
  return header;
}

NpyHeader read_npy_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, "{}: cannot read: {}", path, std::strerror(errno));
  std::string head(65536, '\0');  // the largest v1.0 header; later versions are not written here
  in.read(head.data(), std::streamsize(head.size()));
  head.resize(size_t(in.gcount()));
  NpyHeader header = parse_npy_header(head, path);
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) throw Error(ErrorKind::io, "{}: cannot read: {}", path, ec.message());
  const uint64_t data_bytes =
      checked_product(checked_product(header.rows(), header.cols(), path), npy_item_size(header.dtype), path);
  if (size - header.header_bytes < data_bytes) {
    throw Error(ErrorKind::io, "{}: NPY file holds {} data bytes but its shape needs {}", path,
                size - header.header_bytes, data_bytes);
  }
  return header;
}

NpyArray read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, "{}: cannot read: {}", path, std::strerror(errno));
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  NpyArray array;
  array.header = parse_npy_header(bytes, path);
  const uint64_t count = checked_product(array.header.rows(), array.header.cols(), path);
  const size_t item = npy_item_size(array.header.dtype);
  const uint64_t data_bytes = checked_product(count, item, path);
  if (bytes.size() - array.header.header_bytes < data_bytes) {
    throw Error(ErrorKind::io, "{}: NPY file holds {} data bytes but its shape needs {}", path,
                bytes.size() - array.header.header_bytes, data_bytes);
  }
  array.values.resize(count);
  const char* data = bytes.data() + array.header.header_bytes;
  if (array.header.dtype == NpyDtype::float32) {
    std::memcpy(array.values.data(), data, count * 4);
  } else {
    for (uint64_t i = 0; i < count; ++i) {
      uint16_t half;
      std::memcpy(&half, data + i * 2, 2);
      array.values[i] = half_to_float(half);
    }
  }
  return array;
}

uint16_t float_to_half(float value) {
  uint32_t f;
  std::memcpy(&f, &value, 4);
  const uint16_t sign = uint16_t((f >> 16) & 0x8000);
  const uint32_t abs = f & 0x7fffffff;
  if (abs >= 0x7f800000) {  // infinity or NaN (keep a quiet NaN's top payload bits)
    return sign | 0x7c00 | (abs > 0x7f800000 ? uint16_t(0x200 | ((abs >> 13) & 0x3ff)) : 0);
  }
  if (abs >= 0x477ff000) return sign | 0x7c00;  // >= 65520 rounds to infinity
  if (abs < 0x38800000) {                        // below 2^-14: a half subnormal or zero
    if (abs <= 0x33000000) return sign;          // <= 2^-25 rounds (ties to even) to zero
    const uint32_t exponent = abs >> 23;
    const uint32_t mantissa = (abs & 0x7fffff) | 0x800000;
    const uint32_t shift = 126 - exponent;  // value / 2^-24 = mantissa >> shift
    uint32_t result = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (result & 1))) ++result;
    return sign | uint16_t(result);
  }
  const uint32_t rebased = abs - 0x38000000;  // exponent bias 127 -> 15
  uint32_t result = rebased >> 13;
  const uint32_t rest = rebased & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (result & 1))) ++result;  // a carry may bump the exponent: still right
  return sign | uint16_t(result);
}

float half_to_float(uint16_t half) {
  const uint32_t sign = uint32_t(half & 0x8000) << 16;
  const uint32_t exponent = (half >> 10) & 0x1f;
  uint32_t mantissa = half & 0x3ff;
  uint32_t f;
  if (exponent == 0x1f) {
    f = sign | 0x7f800000 | (mantissa << 13);
  } else if (exponent != 0) {
    f = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    f = sign;
  } else {  // subnormal: normalise
    int e = 113;
    while (!(mantissa & 0x400)) {
      mantissa <<= 1;
      --e;
    }
    f = sign | (uint32_t(e) << 23) | ((mantissa & 0x3ff) << 13);
  }
  float value;
  std::memcpy(&value, &f, 4);
  return value;
}

NpyWriter::NpyWriter(std::string path, NpyDtype dtype, uint64_t cols, uint64_t rows, int fd)
    : m_path(std::move(path)), m_dtype(dtype), m_cols(cols), m_rows(rows), m_fd(fd) {}

NpyWriter::NpyWriter(const std::string& path, NpyDtype dtype, uint64_t cols)
    : m_path(path), m_dtype(dtype), m_cols(cols), m_rows(0) {
  m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (m_fd < 0) throw Error(ErrorKind::io, "{}: cannot open for writing: {}", path, std::strerror(errno));
  flush();
}

NpyWriter NpyWriter::resume(const std::string& path, NpyDtype dtype, NpyRecovery* recovery) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorKind::io, "{}: cannot open to resume: {}", path, std::strerror(errno));
  NpyWriter writer(path, dtype, 0, 0, fd);  // closes fd if anything below throws
  std::string head(k_npy_header_bytes, '\0');
  const ssize_t got = ::pread(fd, head.data(), head.size(), 0);
  if (got < 0) throw Error(ErrorKind::io, "{}: cannot read: {}", path, std::strerror(errno));
  head.resize(size_t(got));
  const NpyHeader header = parse_npy_header(head, path);
  if (header.header_bytes != k_npy_header_bytes || header.shape.size() != 2) {
    throw Error(ErrorKind::io,
                "{}: not an embeddings file zoo wrote (its header is {} bytes for {} dimensions); "
                "remove it or run without --resume",
                path, header.header_bytes, header.shape.size());
  }
  if (header.dtype != dtype) {
    throw Error(ErrorKind::usage, "{}: holds {} rows but --dtype is {}; resume with --dtype {}", path,
                npy_dtype_name(header.dtype), npy_dtype_name(dtype), npy_dtype_name(header.dtype));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw Error(ErrorKind::io, "{}: cannot stat: {}", path, std::strerror(errno));
  const uint64_t data_bytes = uint64_t(st.st_size) - k_npy_header_bytes;
  const uint64_t row_bytes = header.cols() * npy_item_size(dtype);
  writer.m_cols = header.cols();
  writer.m_rows = row_bytes == 0 ? 0 : data_bytes / row_bytes;
  NpyRecovery found;
  found.rows = writer.m_rows;
  found.header_rows = header.rows();
  found.torn_bytes = data_bytes - writer.m_rows * row_bytes;
  if (found.torn_bytes > 0 && ::ftruncate(fd, off_t(k_npy_header_bytes + writer.m_rows * row_bytes)) != 0) {
    throw Error(ErrorKind::io, "{}: cannot cut off a partial row: {}", path, std::strerror(errno));
  }
  writer.flush();
  if (recovery) *recovery = found;
  return writer;
}

NpyWriter::NpyWriter(NpyWriter&& other) noexcept
    : m_path(std::move(other.m_path)),
      m_dtype(other.m_dtype),
      m_cols(other.m_cols),
      m_rows(other.m_rows),
      m_fd(other.m_fd),
      m_buffer(std::move(other.m_buffer)) {
  other.m_fd = -1;
}

NpyWriter::~NpyWriter() {
  if (m_fd >= 0) ::close(m_fd);
}

void NpyWriter::write_at(const void* data, size_t size, uint64_t offset) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::pwrite(m_fd, bytes, size, off_t(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorKind::io, "{}: write failed: {}", m_path, std::strerror(errno));
    }
    bytes += n;
    size -= size_t(n);
    offset += uint64_t(n);
  }
}

void NpyWriter::append(const float* values, uint64_t rows, uint64_t cols) {
  if (rows == 0) return;
  if (cols == 0) throw Error(ErrorKind::data, "{}: rows of 0 values cannot be written", m_path);
  if (m_rows == 0) m_cols = cols;
  if (cols != m_cols) throw Error(ErrorKind::data, "{}: rows have {} values, not {}", m_path, m_cols, cols);
  const uint64_t count = rows * m_cols;
  const size_t item = npy_item_size(m_dtype);
  const uint64_t offset = k_npy_header_bytes + m_rows * m_cols * item;
  try {
    if (m_dtype == NpyDtype::float32) {
      write_at(values, count * 4, offset);
    } else {
      m_buffer.resize(count * 2);
      for (uint64_t i = 0; i < count; ++i) {
        const uint16_t half = float_to_half(values[i]);
        std::memcpy(m_buffer.data() + i * 2, &half, 2);  // little-endian host (x86-64, arm64)
      }
      write_at(m_buffer.data(), m_buffer.size(), offset);
    }
  } catch (const Error& e) {
    // Disk full: cut off the part of the rows that was written; the file
    // holds the rows before them, as its header says.
    [[maybe_unused]] const int cut = ::ftruncate(m_fd, off_t(offset));
    throw Error(ErrorKind::io, "{}; the file holds every row before this batch: free space, then run the same "
                "command with --resume", e.what());
  }
  m_rows += rows;
}

void NpyWriter::flush() {
  const std::string header = encode_npy_header(m_dtype, m_rows, m_cols);
  write_at(header.data(), header.size(), 0);
}

void NpyWriter::truncate(uint64_t rows) {
  if (rows >= m_rows) return;
  m_rows = rows;
  const uint64_t size = k_npy_header_bytes + rows * m_cols * npy_item_size(m_dtype);
  if (::ftruncate(m_fd, off_t(size)) != 0) {
    throw Error(ErrorKind::io, "{}: cannot truncate to {} rows: {}", m_path, rows, std::strerror(errno));
  }
  flush();
}

}  // namespace zoo::io
