// zoo bench MODEL [--compare OTHER]: the model's own throughput on pre-made
// tensors, alone or against another model in the same process.
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "options.hpp"
#include "inference/bench.hpp"
#include "models/model.hpp"

namespace zoo::app {
namespace {

struct BenchArgs {
  inference::BenchOptions options;
  StoreArgs store;
};

// The ops that took 99% of the profiled time, with their share.
void print_profile(const inference::BenchResult& r) {
  double total = 0;
  for (const auto& op : r.ops) total += op.self_ms;
  fmt::print("\n{:<36} {:>10} {:>14} {:>7}\n", "op (LibTorch profiler)", "calls/batch", "self ms/batch", "share");
  double shown = 0;
  for (const auto& op : r.ops) {
    if (total <= 0 || shown >= 0.99 * total) break;
    shown += op.self_ms;
    // Ops the profiler does not record (MKLDNN's prepacked convolutions)
    // count as the time of the method calling them.
    const std::string name = op.name == "forward" ? "forward (unrecorded ops)" : op.name;
    fmt::print("{:<36} {:>10.1f} {:>14.2f} {:>6.1f}%\n", name, double(op.calls) / r.profiled_batches,
               op.self_ms / r.profiled_batches, 100 * op.self_ms / total);
  }
  fmt::print("{:<36} {:>10} {:>14.2f} (profiled, {} batches)\n", "total", "", total / r.profiled_batches,
             r.profiled_batches);
}

int run_bench(BenchArgs& args) {
  auto& o = args.options;
  o.model = resolve_model_arg(o.model, args.store);
  const auto print = [&](const inference::BenchResult& r, const std::string& name) {
    fmt::print("{:.2f} images/s ({} images of {}x{}x{} in batches of {}, {:.2f} s){}\n", r.images_per_second(),
               r.images, r.channels, r.height, r.width, o.batch_size, r.seconds, name);
  };
  if (o.compare.empty()) {
    const auto r = inference::run_bench(o);
    fmt::print(stderr, "zoo: model: {}\nzoo: compute: {}\n", r.description, models::compute_description());
    print(r, "");
    if (o.profile) print_profile(r);
    return 0;
  }
  o.compare = resolve_model_arg(o.compare, args.store);
  const auto c = inference::run_compare(o);
  fmt::print(stderr, "zoo: model: {}\nzoo: --compare model: {}\nzoo: compute: {}\n", c.model.description,
             c.other.description, models::compute_description());
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
  app.add_option("MODEL", o.model, "Model config (YAML), a folder holding model.yaml, a store reference, or a zoo model name")->required();
  add_batch_size_option(app, o.batch_size);
  app.add_option("-n,--batches", o.batches, "Timed batches (after one warm-up batch)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--seconds", o.seconds, "Go on past --batches until this many seconds have passed")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--compare", o.compare,
                 "A second model (config, folder, store reference or zoo name) to run batch by batch in turn with MODEL");
  add_threads_option(app, o.threads);
  add_size_option(app, o.width, o.height, "Input WIDTHxHEIGHT (default: the config's center_crop or image_size)");
  add_precision_option(app, o.precision);
  add_no_optimize_flag(app, o.optimize);
  app.add_flag("--profile", o.profile,
               "Then run the batches again under LibTorch's profiler and print each op's time (self time per batch, "
               "most first): where the model's time goes")
      ->excludes("--compare");
  add_store_options(app, args->store, "Store a MODEL reference is read from (default: the local store)");
  app.footer(R"(Prints images/s of the model alone, on random input tensors (no decoding):
what `zoo apply` could reach if decoding were free.

With --compare OTHER, both models are loaded and run batch by batch in turn
(MODEL OTHER, OTHER MODEL, ...), so a machine whose speed swings slows both
alike. Prints a line for each and then MODEL's speed relative to OTHER's:
the median, over the pairs of adjacent batches, of OTHER's batch time over
MODEL's (> 1: MODEL is faster).

With --profile, the timed batches are then run again under LibTorch's
profiler and a table gives, per op, its calls and self time per batch (the
op's own time, that of the ops it calls left out) and its share of the
profiled time: the ops making up 99% of it. Ops the profiler does not record
(MKLDNN's prepacked convolutions, in an optimised model) count under
forward (unrecorded ops). The profiler slows the run, so
the table's total exceeds the timed rate's batch time.

Examples:
  zoo bench configs/resnet18-demo.yaml --batch-size 16 --batches 10
  zoo bench configs/centernet.yaml --batch-size 1 --profile
  zoo bench a.yaml --compare b.yaml --batch-size 16 --seconds 20)");
  return [args] { return run_bench(*args); };
}

}  // namespace zoo::app
