// zoo bench MODEL [--compare OTHER]: the model's own throughput on pre-made
// tensors, alone or against another model in the same process.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "store_options.hpp"
#include "inference/bench.hpp"
#include "util/error.hpp"

namespace zoo::app {

Runner register_bench(CLI::App& app) {
  auto o = std::make_shared<inference::BenchOptions>();
  auto size = std::make_shared<std::string>();
  auto no_optimize = std::make_shared<bool>(false);
  auto s = std::make_shared<StoreArgs>();
  app.add_option("MODEL", o->model, "Model config (YAML), a folder holding model.yaml, or a store reference")->required();
  app.add_option("-b,--batch-size", o->batch_size, "Images per model call")->default_val(16)->check(CLI::PositiveNumber);
  app.add_option("-n,--batches", o->batches, "Timed batches (after one warm-up batch)")
      ->default_val(10)->check(CLI::PositiveNumber);
  app.add_option("--seconds", o->seconds, "Go on past --batches until this many seconds have passed")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--compare", o->compare,
                 "A second model (config, folder or store reference) to run batch by batch in turn with MODEL");
  app.add_option("--threads", o->threads, "Torch threads (default: all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--size", *size, "Input WIDTHxHEIGHT (default: the config's center_crop or image_size)");
  app.add_option("--precision", o->precision, "fp32 or bf16")->default_val("fp32")->check(CLI::IsMember({"fp32", "bf16"}));
  app.add_flag("--no-optimize", *no_optimize, "Run the model as loaded (no freezing or inference optimisation)");
  add_store_options(app, *s, "Store a MODEL reference is read from (default: the local store)");
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
  return [o, size, no_optimize, s] {
    o->model = resolve_model_arg(o->model, *s);
    if (!size->empty()) {
      if (std::sscanf(size->c_str(), "%dx%d", &o->width, &o->height) != 2 || o->width <= 0 || o->height <= 0) {
        throw Error(ErrorKind::usage, "--size: expected WIDTHxHEIGHT, e.g. 224x224, got \"{}\"", *size);
      }
    }
    o->optimize = !*no_optimize;
    const auto print = [&](const inference::BenchResult& r, const std::string& name) {
      fmt::print("{:.2f} images/s ({} images of {}x{}x{} in batches of {}, {:.2f} s){}\n", r.images_per_second(),
                 r.images, r.channels, r.height, r.width, o->batch_size, r.seconds, name);
    };
    if (o->compare.empty()) {
      const auto r = inference::run_bench(*o);
      fmt::print(stderr, "zoo: model: {}\n", r.description);
      print(r, "");
      return 0;
    }
    o->compare = resolve_model_arg(o->compare, *s);
    const auto c = inference::run_compare(*o);
    fmt::print(stderr, "zoo: model: {}\nzoo: --compare model: {}\n", c.model.description, c.other.description);
    print(c.model, ": " + o->model);
    print(c.other, ": " + o->compare);
    fmt::print("{:.3f} ratio: {}'s speed over {}'s (median of {} pairs of batches run in turn)\n", c.ratio, o->model,
               o->compare, c.pairs);
    return 0;
  };
}

}  // namespace zoo::app
