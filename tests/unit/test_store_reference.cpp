#include <doctest/doctest.h>

#include <cstdlib>

#include "store/http.hpp"
#include "store/reference.hpp"
#include "test_support.hpp"
#include "util/base64.hpp"

using namespace zoo::store;
using zoo::ErrorKind;
using zoo::test::catch_error;
using zoo::test::contains;

TEST_SUITE("store::reference") {
  TEST_CASE("valid names pass, anything that could escape a path or a repository fails") {
    for (const char* name : {"pets", "resnet18", "a", "0x", "my-model_v2.1", "a.b"}) {
      CHECK_MESSAGE(!catch_error([&] { validate_name(name); }).thrown, name);
    }
    for (const char* name : {"", "Pets", "-x", ".x", "_x", "a..b", "../x", "x/y", "a b", "a:b", "a@b", "é"}) {
      const auto caught = catch_error([&] { validate_name(name); });
      CHECK_MESSAGE(caught.thrown, name);
      CHECK(caught.kind == ErrorKind::usage);
    }
    CHECK(catch_error([] { validate_name(std::string(129, 'a')); }).thrown);
  }

  TEST_CASE("references name the latest, a version or a digest") {
    const auto latest = parse_reference("pets");
    CHECK(latest.name == "pets");
    CHECK(latest.version == 0);
    CHECK(latest.digest.empty());
    CHECK(parse_reference("pets:latest").version == 0);
    const auto v = parse_reference("pets:12");
    CHECK(v.version == 12);
    CHECK(v.str() == "pets:12");
    const std::string digest = "sha256:" + std::string(64, 'a');
    const auto d = parse_reference("pets@" + digest);
    CHECK(d.digest == digest);
    CHECK(d.str() == "pets@" + digest);
  }

  TEST_CASE("malformed references are usage errors that say why") {
    for (const char* text : {"pets:0", "pets:-1", "pets:01", "pets:x", "pets:", "pets@sha256:abc",
                             "pets@md5:0123", "Pets:1", "pets:1234567890"}) {
      const auto caught = catch_error([&] { parse_reference(text); });
      CHECK_MESSAGE(caught.thrown, text);
      CHECK(contains(caught.message, text));
    }
    CHECK(!try_parse_reference("configs/x.yaml"));
    CHECK(try_parse_reference("x.yaml"));  // name-shaped; callers check paths first
  }

  TEST_CASE("store locations: oci URLs, folders and the default") {
    const auto remote = parse_location("oci://127.0.0.1:5000/team/vision/");
    CHECK(remote.remote);
    CHECK(remote.host == "127.0.0.1:5000");
    CHECK(remote.hostname == "127.0.0.1");
    CHECK(remote.ns == "team/vision");
    CHECK(remote.str() == "oci://127.0.0.1:5000/team/vision");
    CHECK(parse_location("oci://[::1]:5000").hostname == "::1");
    CHECK(catch_error([] { parse_location("oci://user:pw@host/x"); }).thrown);
    CHECK(catch_error([] { parse_location("oci://host/Team"); }).thrown);
    CHECK(catch_error([] { parse_location("oci://"); }).thrown);
    CHECK(parse_location("/tmp/s").path == "/tmp/s");
    ::setenv("ZOO_STORE", "/tmp/zoo-store-test", 1);
    CHECK(parse_location("").path == "/tmp/zoo-store-test");
    ::unsetenv("ZOO_STORE");
    ::setenv("XDG_DATA_HOME", "/tmp/xdg", 1);
    CHECK(parse_location("").path == "/tmp/xdg/zoo/store");
    ::unsetenv("XDG_DATA_HOME");
  }

  TEST_CASE("base64 round-trips every length and rejects foreign characters") {
    std::string bytes;
    for (int n = 0; n < 40; ++n) {
      CHECK(zoo::util::base64_decode(zoo::util::base64_encode(bytes)) == bytes);
      bytes += static_cast<char>(n * 37 + 1);
    }
    CHECK(zoo::util::base64_encode("user:pass") == "dXNlcjpwYXNz");
    CHECK_FALSE(zoo::util::base64_decode("ab$c"));
    CHECK(url_encode("sha256:ab/c d") == "sha256%3Aab%2Fc%20d");
  }
}
