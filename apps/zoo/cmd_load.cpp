// zoo load REF -o DIR: a store version unpacked into a runnable folder; the
// work is packaging::load_model.
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "packaging/package.hpp"
#include "options.hpp"
#include "util/log.hpp"

namespace zoo::app {
namespace {

struct LoadArgs {
  packaging::LoadOptions options;
  StoreArgs store;
  bool quiet = false;
};

int run_load(LoadArgs& args) {
  const auto r = run_on_store(args.options, args.store, args.quiet, packaging::load_model);
  util::info(fmt::format("wrote {}/ ({})", args.options.out_dir, fmt::join(r.files, ", ")));
  return 0;
}

}  // namespace

Runner register_load(CLI::App& app) {
  auto args = std::make_shared<LoadArgs>();
  auto& o = args->options;
  app.add_option("REF", o.reference, "NAME (the latest version), NAME:VERSION or NAME@sha256:<digest>")->required();
  app.add_option("-o,--output", o.out_dir, "Folder to create (must not exist, or be empty)")->required();
  add_store_options(app, args->store, "Store to read from (default: $ZOO_STORE, else ~/.local/share/zoo/store)");
  add_quiet_flag(app, args->quiet, "Print only NAME:VERSION and errors");
  app.footer(R"(Writes model.yaml, the weights, labels.txt and card.json (the model card),
each checked against its digest; a corrupt or tampered blob is an error and
nothing is written. The folder works as MODEL for apply, embed, train,
inspect and save. (Those commands also take REF directly.)

Examples:
  zoo load digits -o digits-model
  zoo load digits:2 -o /tmp/d2 && zoo apply /tmp/d2 photos/
  zoo load digits --store oci://127.0.0.1:5000/team --ca-file ca.pem -o digits-model)");
  return [args] { return run_load(*args); };
}

}  // namespace zoo::app
