// zoo bench MODEL [--compare OTHER]: the model's own throughput on pre-made
// tensors, alone or against another model in the same process.
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "options.hpp"
#include "inference/bench.hpp"

namespace zoo::app {
namespace {

struct BenchArgs {
  inference::BenchOptions options;
  StoreArgs store;
};

int run_bench(BenchArgs& args) {
  auto& o = args.options;
  o.model = resolve_model_arg(o.model, args.store);
  const auto print = [&](const inference::BenchResult& r, const std::string& name) {
    fmt::print("{:.2f} images/s ({} images of {}x{}x{} in batches of {}, {:.2f} s){}\n", r.images_per_second(),
               r.images, r.channels, r.height, r.width, o.batch_size, r.seconds, name);
  };
  if (o.compare.empty()) {
    const auto r = inference::run_bench(o);
    fmt::print(stderr, "zoo: model: {}\n", r.description);
    print(r, "");
    return 0;
  }
  o.compare = resolve_model_arg(o.compare, args.store);
  const auto c = inference::run_compare(o);
  fmt::print(stderr, "zoo: model: {}\nzoo: --compare model: {}\n", c.model.description, c.other.description);
  print(c.model, ": " + o.model);
  print(c.other, ": " + o.compare);
  fmt::print("{:.3f} ratio: {}'s speed over {}'s (median of {} pairs of batches run in turn)\n", c.ratio, o.model,
             o.compare, c.pairs);
  return 0;
}

}  // namespace

Runner register_bench(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  auto& o = args->options;
  app.add_option("MODEL", o.model, "Model config (YAML), a folder holding model.yaml, or a store reference")->required();
  add_batch_size_option(app, o.batch_size);
  app.add_option("-n,--batches", o.batches, "Timed batches (after one warm-up batch)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--seconds", o.seconds, "Go on past --batches until this many seconds have passed")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--compare", o.compare,
                 "A second model (config, folder or store reference) to run batch by batch in turn with MODEL");
  add_threads_option(app, o.threads);
  add_size_option(app, o.width, o.height, "Input WIDTHxHEIGHT (default: the config's center_crop or image_size)");
  add_precision_option(app, o.precision);
  add_no_optimize_flag(app, o.optimize);
  add_store_options(app, args->store, "Store a MODEL reference is read from (default: the local store)");
  app.footer(R"(Prints images/s of the model alone, on random input tensors (no decoding):
what `zoo apply` could reach if decoding were free.

With --compare OTHER, both models are loaded and run batch by batch in turn
(MODEL OTHER, OTHER MODEL, ...), so a machine whose speed swings slows both
alike. Prints a line for each and then MODEL's speed relative to OTHER's:
the median, over the pairs of adjacent batches, of OTHER's batch time over
MODEL's (> 1: MODEL is faster).

Examples:
  zoo bench configs/resnet18-demo.yaml --batch-size 16 --batches 10
  zoo bench a.yaml --compare b.yaml --batch-size 16 --seconds 20)");
  return [args] { return run_bench(*args); };
}

}  // namespace zoo::app
