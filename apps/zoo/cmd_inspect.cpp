// zoo inspect MODEL: the model's config, layer tree with shapes, and
// contract, as text or JSON on stdout; the work is inference::inspect_model.
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "options.hpp"
#include "inference/inspect.hpp"
#include "util/json_text.hpp"

namespace zoo::app {
namespace {

struct InspectArgs {
  inference::InspectOptions options;
  bool json = false;
  StoreArgs store;
};

int run_inspect(InspectArgs& args) {
  args.options.model = resolve_model_arg(args.options.model, args.store);
  const auto report = inference::inspect_model(args.options);
  if (args.json) {
    fmt::print("{}\n", util::dump_json(report, 2));
  } else {
    fmt::print("{}", inference::format_inspect_text(report));
  }
  return 0;
}

}  // namespace

Runner register_inspect(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  auto& o = args->options;
  app.add_option("MODEL", o.model, "Model config (YAML), a folder holding model.yaml, a store reference, or a zoo model name")->required();
  app.add_flag("--json", args->json, "Print the report as one JSON object");
  add_size_option(app, o.width, o.height, "Dry input WIDTHxHEIGHT (default: the config's center_crop or image_size, "
                                          "else its resize side, else 224x224)");
  add_threads_option(app, o.threads);
  add_store_options(app, args->store, "Store a MODEL reference is read from (default: the local store)");
  app.footer(R"(Prints the entrypoint, weights (path, format, sha256), preprocessing, labels,
the layer tree with each layer's output shape for one dry input (a batch of
one zero image), and the contract: input and output names, dtypes and shapes
(-1 = the batch axis). The layer names are what `zoo embed --layer` takes.

Examples:
  zoo inspect configs/resnet18.yaml
  zoo inspect digits:1                       # a version in the local store
  zoo inspect configs/resnet18.yaml --json | jq '.layers[].name')");
  return [args] { return run_inspect(*args); };
}

}  // namespace zoo::app
