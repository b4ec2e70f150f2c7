#include "util/sha256.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <vector>

#include <openssl/evp.h>

#include "util/error.hpp"

namespace zoo::util {

Sha256::Sha256() : m_context(EVP_MD_CTX_new()) {
  if (!m_context || EVP_DigestInit_ex(m_context, EVP_sha256(), nullptr) != 1) throw std::bad_alloc();
}

Sha256::~Sha256() { EVP_MD_CTX_free(m_context); }

void Sha256::update(const void* data, size_t size) { EVP_DigestUpdate(m_context, data, size); }

std::string Sha256::hex_digest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(m_context, digest, &size);
  static const char* k_hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out += k_hex[digest[i] >> 4];
    out += k_hex[digest[i] & 0xf];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  Sha256 hash;
  hash.update(data);
  return hash.hex_digest();
}

std::string sha256_file(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) throw Error(ErrorKind::io, "{}: cannot read: {}", path, std::strerror(errno));
  Sha256 hash;
  std::vector<char> buffer(1 << 20);
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), file)) > 0) hash.update(buffer.data(), n);
  const bool failed = std::ferror(file);
  std::fclose(file);
  if (failed) throw Error(ErrorKind::io, "{}: read failed", path);
  return hash.hex_digest();
}

}  // namespace zoo::util
