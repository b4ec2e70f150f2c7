// The entrypoint registry: built-in architecture names (and their
// torchvision spellings) to builders, with argument validation.
#include "models/builtin.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "models/layers.hpp"
#include "models/model.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

namespace zoo::models {
namespace {

const Registry& registry() {
  static const Registry table = [] {
    Registry t;
    add_resnets(t);
    add_mobilenets(t);
    add_efficientnets(t);
    add_densenets(t);
    add_convnexts(t);
    add_vision_transformers(t);
    add_small_cnns(t);
    return t;
  }();
  return table;
}

}  // namespace
std::vector<std::string> entrypoint_descriptions() {
  std::vector<std::string> lines = {
      fmt::format("{:<20} (no arguments; weights: a TorchScript file, scripted or traced)", "torchscript")};
  for (const auto& [name, builtin] : registry()) {
    std::string args;
    for (const auto& spec : builtin.args) args += fmt::format(" {}={}", spec.name, spec.default_value.dump());
    lines.push_back(fmt::format("{:<20}{}", name, args));
  }
  return lines;
}

std::vector<std::string> builtin_names() {
  std::vector<std::string> names;
  for (const auto& [name, _] : registry()) names.push_back(name);
  return names;
}

std::string canonical_entrypoint(const std::string& name) {
  if (name == "torchscript" || name == "tfjs") return name;
  std::string base = name;
  // torchvision spellings: torchvision.models.resnet18,
  // torchvision.models.resnet.resnet18.
  const std::string prefix = "torchvision.models.";
  if (base.rfind(prefix, 0) == 0) base = base.substr(base.rfind('.') + 1);
  return registry().count(base) ? base : "";
}

Module build_builtin(const std::string& name, const nlohmann::json& given, const std::string& where, uint64_t seed) {
  const Builtin& builtin = registry().at(name);
  nlohmann::json args = nlohmann::json::object();
  std::vector<std::string> known;
  for (const auto& spec : builtin.args) {
    args[spec.name] = spec.default_value;
    known.push_back(spec.name);
  }
  for (const auto& [key, value] : given.items()) {
    auto spec = std::find_if(builtin.args.begin(), builtin.args.end(), [&](const ArgSpec& s) { return s.name == key; });
    if (spec == builtin.args.end()) {
      throw Error(ErrorKind::config, "{}: entrypoint_args: {} has no argument \"{}\" (it takes: {}){}", where, name,
                  key, util::join(known, ", "), util::did_you_mean(key, known));
    }
    const nlohmann::json& def = spec->default_value;
    bool ok = true;
    if (def.is_number_integer()) {
      ok = value.is_number_integer() && value.get<int64_t>() > 0;
    } else if (def.is_number_float()) {
      ok = value.is_number() && value.get<double>() >= 0;
    } else if (def.is_boolean()) {
      ok = value.is_boolean();
    } else if (def.is_string()) {
      ok = value.is_string();
    }
    if (!ok) {
      const char* expected = def.is_number_integer() ? "a positive integer"
                             : def.is_number_float() ? "a non-negative number"
                             : def.is_boolean()      ? "true or false"
                                                     : "a string";
      throw Error(ErrorKind::config, "{}: entrypoint_args.{}: expected {}, got {}", where, key, expected, value.dump());
    }
    args[key] = value;
  }
  torch::manual_seed(seed);
  try {
    return builtin.build(args);
  } catch (const std::invalid_argument& e) {  // an argument value the architecture cannot take
    throw Error(ErrorKind::config, "{}: entrypoint_args: {}", where, e.what());
  }
}

}  // namespace zoo::models
