// zoo upload FILES... --name NAME: external model files become a store
// version; the work is packaging::upload_model.
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "packaging/package.hpp"
#include "options.hpp"
#include "util/log.hpp"

namespace zoo::app {
namespace {

struct UploadArgs {
  packaging::UploadOptions options;
  StoreArgs store;
  bool quiet = false;
};

int run_upload(UploadArgs& args) {
  const auto r = run_on_store(args.options, args.store, args.quiet, packaging::upload_model);
  util::info(fmt::format("saved {}:{} in {} ({} bytes)", r.name, r.version, r.location, r.bytes));
  return 0;
}

}  // namespace

Runner register_upload(CLI::App& app) {
  auto args = std::make_shared<UploadArgs>();
  auto& o = args->options;
  app.add_option("FILES", o.files,
                 "One weights file (TorchScript, torch.save state dict or checkpoint, .safetensors), optionally a "
                 ".yaml config and a .txt labels file")
      ->required();
  app.add_option("-n,--name", o.name, "Name to save under ([a-z0-9][a-z0-9._-]*)")->required();
  app.add_option("-c,--config", o.config, "Config giving the entrypoint and preprocessing; its weights and labels "
                                           "are replaced by FILES");
  add_store_options(app, args->store, "Store to save into (default: $ZOO_STORE, else ~/.local/share/zoo/store)");
  app.add_option("--meta", o.meta, "Metadata KEY=VALUE for the model card; repeatable")->allow_extra_args(false);
  app.add_option("--meta-file", o.meta_file, "JSON or YAML object merged into the card's metadata");
  add_threads_option(app, o.threads, "Torch threads for the dry run");
  add_quiet_flag(app, args->quiet, "Print only NAME:VERSION and errors");
  app.footer(R"(The files are loaded and run on one dry input; the contract this shows
(input and output names, dtypes, shapes with -1 for the batch axis) goes in
the model card. Files that do not load or run are refused: nothing is stored.
A state dict or safetensors file needs --config (which entrypoint to build);
a TorchScript file alone gets 224x224 RGB ImageNet preprocessing.

Examples:
  zoo upload resnet18.torchscript.pt --name resnet18-ts
  zoo upload weights.safetensors --config configs/resnet18.yaml --name resnet18
  zoo upload model.pt labels.txt --config my.yaml --name pets --store oci://127.0.0.1:5000/team --ca-file ca.pem)");
  return [args] { return run_upload(*args); };
}

}  // namespace zoo::app
