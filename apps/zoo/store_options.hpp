// The store options (--store, --ca-file, --insecure), declared once and
// attached to every subcommand that reads or writes a store or takes a
// MODEL that may be a store reference.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "store/store.hpp"

namespace zoo::app {

struct StoreArgs {
  std::string store;    // "" = $ZOO_STORE, else the XDG data folder
  std::string ca_file;
  bool insecure = false;

  store::RemoteOptions remote() const { return {ca_file, insecure}; }
};

// Adds --store (described by `store_help`), --ca-file and --insecure.
void add_store_options(CLI::App& app, StoreArgs& args, const std::string& store_help);

// A MODEL argument as a path: itself when it is a file or folder, else the
// unpacked store version it names (see store::resolve_model).
std::string resolve_model_arg(const std::string& model, const StoreArgs& args);

}  // namespace zoo::app
