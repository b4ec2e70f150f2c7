#include <doctest/doctest.h>

#include <string>

#include "test_support.hpp"
#include "util/sha256.hpp"

using zoo::util::Sha256;
using zoo::util::sha256_file;
using zoo::util::sha256_hex;

TEST_SUITE("util::sha256") {
  TEST_CASE("digests match the FIPS 180-4 test vectors") {
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(sha256_hex(std::string(1000000, 'a')) ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  }

  TEST_CASE("feeding the data in pieces gives the same digest, across block boundaries") {
    std::string data;
    for (int i = 0; i < 1000; ++i) data += char('a' + i % 26);
    const std::string whole = sha256_hex(data);
    for (size_t piece : {1, 3, 55, 56, 63, 64, 65, 200}) {
      Sha256 hash;
      for (size_t at = 0; at < data.size(); at += piece) hash.update(std::string_view(data).substr(at, piece));
      CHECK_MESSAGE(hash.hex_digest() == whole, "pieces of ", piece);
    }
  }

  TEST_CASE("a file hashes to the digest of its content; a missing one is an io error") {
    zoo::test::TempDir dir("sha256");
    const auto path = dir / "data.bin";
    zoo::test::write_file(path, "abc");
    CHECK(sha256_file(path.string()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const auto caught = zoo::test::catch_error([&] { sha256_file((dir / "missing").string()); });
    REQUIRE_MESSAGE(caught.thrown, caught.foreign);
    CHECK(caught.kind == zoo::ErrorKind::io);
    CHECK(caught.message.find("missing: cannot read") != std::string::npos);
  }
}
