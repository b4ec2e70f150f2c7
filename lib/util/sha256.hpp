// SHA-256 (FIPS 180-4) for content digests of weights and model files.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace zoo::util {

// Incremental hashing: update() any number of times, then hex_digest().
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // The digest as 64 lowercase hex digits. Ends the hashing: call once.
  std::string hex_digest();

 private:
  void compress(const uint8_t* block);

  std::array<uint32_t, 8> m_state;
  std::array<uint8_t, 64> m_block{};
  size_t m_block_size = 0;
  uint64_t m_total = 0;  // bytes
};

// The hex digest of `data`.
std::string sha256_hex(std::string_view data);

// The hex digest of a file's content, read in chunks. Throws zoo::Error(io)
// naming the file if it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace zoo::util
