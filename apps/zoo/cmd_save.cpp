// zoo save MODEL --name NAME: a config, a trained folder or a store
// reference becomes a version in a store; the work is packaging::save_model.
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "packaging/package.hpp"
#include "options.hpp"
#include "util/log.hpp"

namespace zoo::app {
namespace {

struct SaveArgs {
  packaging::SaveOptions options;
  StoreArgs store;
  bool quiet = false;
};

int run_save(SaveArgs& args) {
  const auto r = run_on_store(args.options, args.store, args.quiet, packaging::save_model);
  util::info(fmt::format("{} {}:{} in {} ({} bytes)", r.copied ? (r.existed ? "already had" : "copied") : "saved",
                         r.name, r.version, r.location, r.bytes));
  return 0;
}

}  // namespace

Runner register_save(CLI::App& app) {
  auto args = std::make_shared<SaveArgs>();
  auto& o = args->options;
  app.add_option("MODEL", o.model,
                 "Model config (YAML), a folder holding model.yaml (zoo train's output), a reference "
                 "NAME[:VERSION|@sha256:...] in --from, or a zoo model name (zoo:NAME)")
      ->required();
  app.add_option("-n,--name", o.name, "Name to save under ([a-z0-9][a-z0-9._-]*; default for a reference: its name)");
  add_store_options(app, args->store, "Store to save into: a folder or oci://HOST[:PORT]/NAMESPACE (default: $ZOO_STORE, "
                             "else ~/.local/share/zoo/store)");
  app.add_option("--from", o.from_store, "Store a reference MODEL is read from (default: the local store)");
  app.add_option("--meta", o.meta, "Metadata KEY=VALUE for the model card (VALUE as JSON if it parses); repeatable")
      ->allow_extra_args(false);
  app.add_option("--meta-file", o.meta_file, "JSON or YAML object merged into the card's metadata");
  add_threads_option(app, o.threads, "Torch threads for the dry run");
  add_quiet_flag(app, args->quiet, "Print only NAME:VERSION and errors");
  app.footer(R"(Prints NAME:VERSION and the version's digest on stdout. Versions are
immutable and numbered 1, 2, ... per name. The model is loaded and run on one
dry input first; one that does not load or run is refused and nothing is
stored. The card records the config, labels, contract, and metadata: Torch
and zoo versions, git commit, zoo train's options and metrics, and --meta.

A reference MODEL is copied as is (same version, same digest), e.g. from
the local store to a registry.

Examples:
  zoo save configs/digits-cnn.yaml --name digits
  zoo save build/digits-model --name digits --meta author=ana --meta dataset=digits.png
  zoo save digits:1 --store oci://registry.example.com/team       # copy to a registry
  zoo save digits --from oci://registry.example.com/team          # and back)");
  return [args] { return run_save(*args); };
}

}  // namespace zoo::app
