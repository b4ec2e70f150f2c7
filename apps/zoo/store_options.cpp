#include "store_options.hpp"

#include "store/package.hpp"

namespace zoo::app {

void add_store_options(CLI::App& app, StoreArgs& args, const std::string& store_help) {
  app.add_option("--store", args.store, store_help);
  app.add_option("--ca-file", args.ca_file, "PEM certificates to verify an oci:// registry with (default: the system's)");
  app.add_flag("--insecure", args.insecure, "Talk plain http to an oci:// registry on loopback (127.0.0.1, localhost)");
}

std::string resolve_model_arg(const std::string& model, const StoreArgs& args) {
  return store::resolve_model(model, args.store, args.remote());
}

}  // namespace zoo::app
