// SHA-256 (FIPS 180-4) for content digests of weights and model files.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace zoo::util {

// Incremental hashing: update() any number of times, then hex_digest().
// OpenSSL's SHA-256 (SHA-NI where the CPU has it: ~1.9 GB/s here, against
// ~0.3 GB/s for portable C++), so hashing weights costs little per run.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // The digest as 64 lowercase hex digits. Ends the hashing: call once.
  std::string hex_digest();

 private:
  ::evp_md_ctx_st* m_context;
};

// The hex digest of `data`.
std::string sha256_hex(std::string_view data);

// The hex digest of a file's content, read in chunks. Throws zoo::Error(io)
// naming the file if it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace zoo::util
