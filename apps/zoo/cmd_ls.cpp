// zoo ls [NAME]: the versions in a store, as a table or JSON.
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "packaging/package.hpp"
#include "options.hpp"
#include "util/json_text.hpp"

namespace zoo::app {
namespace {

struct LsArgs {
  std::string name;  // "" = every model
  StoreArgs store;
  bool json = false;
};

int run_ls(const LsArgs& args) {
  const auto versions = packaging::list_models(args.store.store, args.name, args.store.remote());
  int unreadable = 0;
  for (const auto& v : versions) {
    if (!v.contains("error")) continue;
    ++unreadable;
    util::error(fmt::format("{}:{}: {}", v["name"].get<std::string>(), v["version"].get<int>(),
                            v["error"].get<std::string>()));
  }
  const int code = unreadable > 0 ? 1 : 0;
  if (args.json) {
    fmt::print("{}\n", util::dump_json(versions, 2));
    return code;
  }
  if (versions.empty()) {
    fmt::print(stderr, "zoo: no models in {}\n", store::parse_location(args.store.store).str());
    return 0;
  }
  fmt::print("{:<24} {:>7}  {:<20}  {:>12}  {}\n", "NAME", "VERSION", "CREATED", "SIZE", "DIGEST");
  for (const auto& v : versions) {
    const bool bad = v.contains("error");
    fmt::print("{:<24} {:>7}  {:<20}  {:>12}  {}\n", v["name"].get<std::string>(), v["version"].get<int>(),
               bad ? "(unreadable)" : v["created"].get<std::string>(),
               bad ? "-" : std::to_string(v["size"].get<int64_t>()), v["digest"].get<std::string>());
  }
  return code;
}

}  // namespace

Runner register_ls(CLI::App& app) {
  auto args = std::make_shared<LsArgs>();
  app.add_option("NAME", args->name, "Only this model's versions");
  add_store_options(app, args->store, "Store to list (default: $ZOO_STORE, else ~/.local/share/zoo/store)");
  app.add_flag("--json", args->json,
               "One JSON array: name, version, digest, size, created, metadata (an unreadable version: name, "
               "version, digest, error)");
  app.footer(R"(Examples:
  zoo ls
  zoo ls digits --json | jq '.[-1].metadata.metrics'
  zoo ls --store oci://127.0.0.1:5000/team --ca-file ca.pem)");
  return [args] { return run_ls(*args); };
}

}  // namespace zoo::app
