// Base64 (RFC 4648, standard alphabet, padded): registry credentials,
// inline mask PNGs, TensorFlow.js attribute strings.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace zoo::util {

std::string base64_encode(std::string_view bytes);

// The bytes of `text`; '=' padding and line breaks are skipped. nullopt
// for a character outside the alphabet.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace zoo::util
