// Names, references and store locations: the strings users type.
#include "store/reference.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "util/env.hpp"
#include "util/error.hpp"

namespace zoo::store {
namespace {

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool name_shaped(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9'))) return false;
  for (char c : name) {
    if (!name_char(c)) return false;
  }
  return name.find("..") == std::string::npos;
}


}  // namespace

std::string Reference::str() const {
  if (!digest.empty()) return name + "@" + digest;
  if (version > 0) return fmt::format("{}:{}", name, version);
  return name;
}

void validate_name(const std::string& name, const std::string& what) {
  if (name_shaped(name)) return;
  throw Error(ErrorKind::usage,
              "{} \"{}\" is not a valid model name: use lowercase letters, digits, '.', '_' and '-', starting with a "
              "letter or digit, at most 128 characters, no \"..\"",
              what, name);
}

bool is_sha256_digest(const std::string& digest) {
  if (digest.size() != 71 || digest.compare(0, 7, "sha256:") != 0) return false;
  for (size_t i = 7; i < digest.size(); ++i) {
    const char c = digest[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Reference parse_reference(const std::string& text) {
  Reference ref;
  if (const auto at = text.find('@'); at != std::string::npos) {
    ref.name = text.substr(0, at);
    ref.digest = text.substr(at + 1);
    validate_name(ref.name, fmt::format("reference \"{}\": name", text));
    if (!is_sha256_digest(ref.digest)) {
      throw Error(ErrorKind::usage, "reference \"{}\": expected NAME@sha256:<64 lowercase hex digits>", text);
    }
    return ref;
  }
  if (const auto colon = text.find(':'); colon != std::string::npos) {
    ref.name = text.substr(0, colon);
    const std::string version = text.substr(colon + 1);
    validate_name(ref.name, fmt::format("reference \"{}\": name", text));
    if (version == "latest") return ref;
    int value = 0;
    bool ok = !version.empty() && version.size() <= 9 && version[0] != '0';
    for (char c : version) {
      if (c < '0' || c > '9') ok = false;
    }
    if (ok) value = std::stoi(version);
    if (!ok || value <= 0) {
      throw Error(ErrorKind::usage, "reference \"{}\": version \"{}\" is not a positive integer or \"latest\"", text,
                  version);
    }
    ref.version = value;
    return ref;
  }
  validate_name(text, "reference");
  ref.name = text;
  return ref;
}

std::optional<Reference> try_parse_reference(const std::string& text) {
  try {
    return parse_reference(text);
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::string Location::str() const {
  if (!remote) return path;
  return ns.empty() ? "oci://" + host : "oci://" + host + "/" + ns;
}

Location parse_location(const std::string& spec) {
  Location loc;
  if (spec.rfind("oci://", 0) == 0) {
    loc.remote = true;
    std::string rest = spec.substr(6);
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    const auto slash = rest.find('/');
    loc.host = rest.substr(0, slash);
    if (slash != std::string::npos) loc.ns = rest.substr(slash + 1);
    if (loc.host.empty()) throw Error(ErrorKind::usage, "--store \"{}\": expected oci://HOST[:PORT]/NAMESPACE", spec);
    if (loc.host.find('@') != std::string::npos) {
      throw Error(ErrorKind::usage,
                  "--store: credentials do not belong in the URL; set ZOO_REGISTRY_USER and ZOO_REGISTRY_PASSWORD");
    }
    loc.hostname = loc.host;
    if (loc.host.front() == '[') {
      const auto close = loc.host.find(']');
      loc.hostname = loc.host.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    } else if (const auto colon = loc.host.rfind(':'); colon != std::string::npos) {
      loc.hostname = loc.host.substr(0, colon);
    }
    // Each namespace component follows the distribution spec's path grammar.
    size_t start = 0;
    while (!loc.ns.empty() && start <= loc.ns.size()) {
      const auto end = loc.ns.find('/', start);
      const std::string part = loc.ns.substr(start, end == std::string::npos ? std::string::npos : end - start);
      validate_name(part, fmt::format("--store \"{}\": namespace component", spec));
      if (end == std::string::npos) break;
      start = end + 1;
    }
    return loc;
  }
  if (!spec.empty()) {
    loc.path = spec;
  } else if (const std::string store = util::env("ZOO_STORE"); !store.empty()) {
    loc.path = store;
  } else if (const std::string data = util::env("XDG_DATA_HOME"); !data.empty()) {
    loc.path = data + "/zoo/store";
  } else if (const std::string home = util::env("HOME"); !home.empty()) {
    loc.path = home + "/.local/share/zoo/store";
  } else {
    throw Error(ErrorKind::usage, "no model store: set --store, ZOO_STORE or HOME");
  }
  return loc;
}

}  // namespace zoo::store
