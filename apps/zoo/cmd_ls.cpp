// zoo ls [NAME]: the versions in a store, as a table or JSON.
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "store/package.hpp"
#include "store_options.hpp"

namespace zoo::app {

Runner register_ls(CLI::App& app) {
  auto name = std::make_shared<std::string>();
  auto s = std::make_shared<StoreArgs>();
  auto json = std::make_shared<bool>(false);
  app.add_option("NAME", *name, "Only this model's versions");
  add_store_options(app, *s, "Store to list (default: $ZOO_STORE, else ~/.local/share/zoo/store)");
  app.add_flag("--json", *json, "One JSON array: name, version, digest, size, created, metadata");
  app.footer(R"(Examples:
  zoo ls
  zoo ls digits --json | jq '.[-1].metadata.metrics'
  zoo ls --store oci://127.0.0.1:5000/team --ca-file ca.pem)");
  return [name, s, json] {
    const auto versions = store::list_models(s->store, *name, s->remote());
    if (*json) {
      fmt::print("{}\n", versions.dump(2));
      return 0;
    }
    if (versions.empty()) {
      fmt::print(stderr, "zoo: no models in {}\n", store::parse_location(s->store).str());
      return 0;
    }
    fmt::print("{:<24} {:>7}  {:<20}  {:>12}  {}\n", "NAME", "VERSION", "CREATED", "SIZE", "DIGEST");
    for (const auto& v : versions) {
      fmt::print("{:<24} {:>7}  {:<20}  {:>12}  {}\n", v["name"].get<std::string>(), v["version"].get<int>(),
                 v["created"].get<std::string>(), v["size"].get<int64_t>(), v["digest"].get<std::string>());
    }
    return 0;
  };
}

}  // namespace zoo::app
