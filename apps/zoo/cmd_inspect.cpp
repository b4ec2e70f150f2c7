// zoo inspect MODEL: the model's config, layer tree with shapes, and
// contract, as text or JSON on stdout; the work is inference::inspect_model.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "store_options.hpp"
#include "inference/inspect.hpp"
#include "util/error.hpp"

namespace zoo::app {

Runner register_inspect(CLI::App& app) {
  auto o = std::make_shared<inference::InspectOptions>();
  auto size = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto s = std::make_shared<StoreArgs>();
  app.add_option("MODEL", o->model, "Model config (YAML), a folder holding model.yaml, or a store reference")->required();
  app.add_flag("--json", *json, "Print the report as one JSON object");
  app.add_option("--size", *size, "Dry input WIDTHxHEIGHT (default: the config's center_crop or image_size, else "
                                  "its resize side, else 224x224)");
  app.add_option("--threads", o->threads, "Torch threads (default: all cores)")->check(CLI::NonNegativeNumber);
  add_store_options(app, *s, "Store a MODEL reference is read from (default: the local store)");
  app.footer(R"(Prints the entrypoint, weights (path, format, sha256), preprocessing, labels,
the layer tree with each layer's output shape for one dry input (a batch of
one zero image), and the contract: input and output names, dtypes and shapes
(-1 = the batch axis). The layer names are what `zoo embed --layer` takes.

Examples:
  zoo inspect configs/resnet18.yaml
  zoo inspect digits:1                       # a version in the local store
  zoo inspect configs/resnet18.yaml --json | jq '.layers[].name')");
  return [o, size, json, s] {
    o->model = resolve_model_arg(o->model, *s);
    if (!size->empty()) {
      if (std::sscanf(size->c_str(), "%dx%d", &o->width, &o->height) != 2 || o->width <= 0 || o->height <= 0) {
        throw Error(ErrorKind::usage, "--size: expected WIDTHxHEIGHT, e.g. 224x224, got \"{}\"", *size);
      }
    }
    const auto report = inference::inspect_model(*o);
    if (*json) {
      fmt::print("{}\n", report.dump(2));
    } else {
      fmt::print("{}", inference::format_inspect_text(report));
    }
    return 0;
  };
}

}  // namespace zoo::app
