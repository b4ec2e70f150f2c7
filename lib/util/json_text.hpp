// JSON text for strings that are bytes. Linux file names (and labels files)
// need not be UTF-8, JSON text must be. zoo writes such a string the way
// Python's json module writes os.fsdecode() of it: UTF-8 where the bytes are
// UTF-8, and each byte that is not as the escape \udcXX (U+DC80..U+DCFF,
// Python's "surrogateescape"). Python's json.loads reads it back to a str
// that open() turns into the same bytes; zoo reads it back to the bytes.
// Every JSON document or line zoo writes goes through dump_json, and every
// one it reads through parse_json, so a path round-trips exactly (resume,
// merge, eval truth lists).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace zoo::util {

// `value` as JSON text: compact when indent < 0, else pretty-printed with
// `indent` spaces, exactly as nlohmann's dump(indent) except that string
// bytes that are not UTF-8 become \udcXX escapes instead of an exception.
// For nlohmann::json and nlohmann::ordered_json.
template <class Json>
std::string dump_json(const Json& value, int indent = -1);

// The JSON string literal (quotes included) for the bytes `text`.
std::string json_string(std::string_view text);

// Parses `text` as nlohmann's parse does, and reads each \udc80..\udcff
// escape that is not half of a surrogate pair back into the byte it stands
// for. Throws nlohmann::json::parse_error as parse does.
template <class Json>
Json parse_json(std::string_view text);

// `text` if it is UTF-8, else the bytes that are not as \xXX: for messages
// on a terminal. Line breaks and other control characters are written as
// \n, \r, \t or \xXX too, so a name cannot start a line of its own.
std::string printable(std::string_view text);

}  // namespace zoo::util
