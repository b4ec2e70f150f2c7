#include "util/json_text.hpp"

#include <fmt/format.h>

namespace zoo::util {
namespace {

// The length of the UTF-8 sequence that starts at text[i], or 0 if none
// does there (a stray continuation byte, an overlong form, a surrogate, a
// value above U+10FFFF, or a sequence cut short): the bytes Python's strict
// UTF-8 decoder rejects.
size_t utf8_length(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return k < text.size() ? static_cast<unsigned char>(text[k]) : 0u; };
  const unsigned lead = byte(i);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned low = 0x80, high = 0xBF;  // the range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

void append_string(std::string& out, std::string_view text) {
  out += '"';
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else if (const size_t length = utf8_length(text, i); length > 0) {
          out.append(text.substr(i, length));
          i += length;
          continue;
        } else {
          out += fmt::format("\\udc{:02x}", c);
        }
    }
    ++i;
  }
  out += '"';
}

template <class Json>
void append_json(std::string& out, const Json& value, int indent, int depth) {
  const auto newline = [&](int level) {
    if (indent < 0) return;
    out += '\n';
    out.append(static_cast<size_t>(indent) * level, ' ');
  };
  if (value.is_string()) {
    append_string(out, value.template get_ref<const typename Json::string_t&>());
  } else if (value.is_object() && !value.empty()) {
    out += '{';
    bool first = true;
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (!first) out += ',';
      first = false;
      newline(depth + 1);
      append_string(out, it.key());
      out += indent < 0 ? ":" : ": ";
      append_json(out, it.value(), indent, depth + 1);
    }
    newline(depth);
    out += '}';
  } else if (value.is_array() && !value.empty()) {
    out += '[';
    bool first = true;
    for (const auto& element : value) {
      if (!first) out += ',';
      first = false;
      newline(depth + 1);
      append_json(out, element, indent, depth + 1);
    }
    newline(depth);
    out += ']';
  } else {
    out += value.dump();  // numbers, booleans, null, {} and []
  }
}

unsigned hex4(std::string_view text, size_t at) {
  unsigned value = 0;
  for (size_t k = at; k < at + 4; ++k) {
    const char c = k < text.size() ? text[k] : 'x';
    value <<= 4;
    if (c >= '0' && c <= '9') value |= c - '0';
    else if (c >= 'a' && c <= 'f') value |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') value |= c - 'A' + 10;
    else return 0x110000;  // not hex: left for the parser to reject
  }
  return value;
}

// The text with each lone \udcXX escape (XX >= 80) rewritten as
// \u0000\u00XX and each \u0000 as \u0000\u0000: JSON nlohmann accepts, whose
// strings decode_bytes() turns back into bytes. A string cannot hold a raw
// NUL (JSON requires it escaped), so every NUL in a parsed string came from
// this rewriting and the pairs are unambiguous.
std::string mark_escaped_bytes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  size_t high_surrogate_end = std::string_view::npos;  // where a \ud800..\udbff escape ended
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!in_string) {
      if (c == '"') in_string = true;
      out += c;
      continue;
    }
    if (c == '"') {
      in_string = false;
    } else if (c == '\\' && i + 1 < text.size()) {
      if (text[i + 1] != 'u') {
        out.append(text.substr(i, 2));
        ++i;
        continue;
      }
      const unsigned code = hex4(text, i + 2);
      const bool paired = high_surrogate_end == i;
      if (code >= 0xDC80 && code <= 0xDCFF && !paired) {
        out += fmt::format("\\u0000\\u00{:02x}", code - 0xDC00);
      } else if (code == 0) {
        out += "\\u0000\\u0000";
      } else {
        out.append(text.substr(i, 6));
      }
      high_surrogate_end = (code >= 0xD800 && code <= 0xDBFF) ? i + 6 : std::string_view::npos;
      i += 5;
      continue;
    }
    out += c;
  }
  return out;
}

// Undoes mark_escaped_bytes() in one parsed string: NUL NUL -> NUL,
// NUL U+00XX (two UTF-8 bytes) -> the byte XX.
std::string decode_bytes(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\0' || i + 1 >= text.size()) {
      out += text[i];
    } else if (text[i + 1] == '\0') {
      out += '\0';
      ++i;
    } else if (i + 2 < text.size()) {  // C2 80..BF or C3 80..BF: U+0080..U+00FF
      const auto lead = static_cast<unsigned char>(text[i + 1]);
      const auto next = static_cast<unsigned char>(text[i + 2]);
      out += static_cast<char>(((lead & 0x03) << 6) | (next & 0x3F));
      i += 2;
    }
  }
  return out;
}

template <class Json>
void decode_strings(Json& value) {
  if (value.is_string()) {
    auto& text = value.template get_ref<typename Json::string_t&>();
    if (text.find('\0') != std::string::npos) text = decode_bytes(text);
  } else if (value.is_array()) {
    for (auto& element : value) decode_strings(element);
  } else if (value.is_object()) {
    bool marked_key = false;
    for (auto it = value.begin(); it != value.end(); ++it) {
      decode_strings(it.value());
      marked_key = marked_key || it.key().find('\0') != std::string::npos;
    }
    if (marked_key) {
      Json decoded = Json::object();
      for (auto it = value.begin(); it != value.end(); ++it) decoded[decode_bytes(it.key())] = std::move(it.value());
      value = std::move(decoded);
    }
  }
}

}  // namespace

template <class Json>
std::string dump_json(const Json& value, int indent) {
  std::string out;
  append_json(out, value, indent, 0);
  return out;
}

std::string json_string(std::string_view text) {
  std::string out;
  append_string(out, text);
  return out;
}

template <class Json>
Json parse_json(std::string_view text) {
  if (text.find("\\u") == std::string_view::npos) return Json::parse(text);
  Json value = Json::parse(mark_escaped_bytes(text));
  decode_strings(value);
  return value;
}

std::string printable(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7F) out += fmt::format("\\x{:02x}", c);
    else if (const size_t length = utf8_length(text, i); length > 0) {
      out.append(text.substr(i, length));
      i += length;
      continue;
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
    ++i;
  }
  return out;
}

template std::string dump_json(const nlohmann::json&, int);
template std::string dump_json(const nlohmann::ordered_json&, int);
template nlohmann::json parse_json(std::string_view);
template nlohmann::ordered_json parse_json(std::string_view);

}  // namespace zoo::util
