#include <doctest/doctest.h>

#include <random>

#include "util/json_text.hpp"

using namespace zoo::util;
using nlohmann::json;
using nlohmann::ordered_json;

TEST_SUITE("util::json_text") {
  TEST_CASE("bytes that are not UTF-8 are written as Python's surrogateescape writes them") {
    CHECK(json_string("photos/b_\xff\xfe.jpg") == R"("photos/b_\udcff\udcfe.jpg")");
    // A cut-short sequence: each of its bytes is escaped, the next character kept.
    CHECK(json_string("\xe3\x81.jpg") == R"("\udce3\udc81.jpg")");
    // Overlong forms, encoded surrogates and values above U+10FFFF are not UTF-8 either.
    CHECK(json_string("\xc0\xaf") == R"("\udcc0\udcaf")");
    CHECK(json_string("\xed\xa0\x80") == R"("\udced\udca0\udc80")");
    CHECK(json_string("\xf4\x90\x80\x80") == R"("\udcf4\udc90\udc80\udc80")");
    // UTF-8 stays as it is; control characters and quotes are escaped as JSON asks.
    CHECK(json_string("caf\xc3\xa9 \xf0\x9f\x90\xb1") == "\"caf\xc3\xa9 \xf0\x9f\x90\xb1\"");
    CHECK(json_string("a\"b\\c\nd\x01") == R"("a\"b\\c\nd\u0001")");
  }

  TEST_CASE("dump_json writes what nlohmann's dump writes for UTF-8 documents") {
    const auto doc = ordered_json::parse(R"({"filepath": "caf\u00e9.jpg", "n": 3, "x": 0.30390540, "e": [],
      "o": {}, "list": [1, {"a": null, "b": [true, false]}, "t\tab"], "neg": -1.5e-7})");
    CHECK(dump_json(doc) == doc.dump());
    CHECK(dump_json(doc, 2) == doc.dump(2));
    const json sorted = json::parse(doc.dump());
    CHECK(dump_json(sorted, 4) == sorted.dump(4));
  }

  TEST_CASE("parse_json reads every string of bytes back as it was written") {
    std::mt19937 random(7);
    for (int trial = 0; trial < 2000; ++trial) {
      std::string bytes(random() % 12, '\0');
      for (auto& b : bytes) b = static_cast<char>(random() % 256);
      const ordered_json doc = {{"filepath", bytes}, {bytes, "as a key"}};
      const auto back = parse_json<ordered_json>(dump_json(doc));
      REQUIRE(back["filepath"].get<std::string>() == bytes);
      REQUIRE(back.contains(bytes));
    }
  }

  TEST_CASE("parse_json keeps surrogate pairs and NUL escapes as JSON means them") {
    CHECK(parse_json<json>(R"("\ud83d\udc31")").get<std::string>() == "\xf0\x9f\x90\xb1");
    CHECK(parse_json<json>(R"("a\u0000b")").get<std::string>() == std::string("a\0b", 3));
    CHECK(parse_json<json>(R"("\u0000\u00e9")").get<std::string>() == std::string("\0\xc3\xa9", 3));
    CHECK(parse_json<json>(R"("\\udcff")").get<std::string>() == "\\udcff");  // an escaped backslash, not an escape
    CHECK(parse_json<json>(R"(["\udcff", "\udc80x"])") == json::array({"\xff", "\x80x"}));
    // A lone surrogate that is no escaped byte stays an error, as in nlohmann.
    CHECK_THROWS_AS(parse_json<json>(R"("\udc41")"), json::parse_error);
    CHECK_THROWS_AS(parse_json<json>(R"("\ud83d")"), json::parse_error);
  }

  TEST_CASE("printable makes one line of any text") {
    CHECK(printable("photos/a.jpg") == "photos/a.jpg");
    CHECK(printable("caf\xc3\xa9") == "caf\xc3\xa9");
    CHECK(printable("x\xff.jpg") == "x\\xff.jpg");
    CHECK(printable("a\nzoo: error: forged") == "a\\nzoo: error: forged");
    CHECK(printable("\t\r\x1b[31m") == "\\t\\r\\x1b[31m");
  }
}
