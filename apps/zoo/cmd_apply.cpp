// zoo apply MODEL INPUT...: options, signal handling and the summary; the
// job itself is inference::run_apply.
#include <csignal>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "inference/apply.hpp"
#include "models/model.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace zoo::app {
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_signal(int) {
  g_interrupted = true;
  // A second Ctrl-C kills at once.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

struct ApplyArgs {
  inference::ApplyOptions options;
  bool list_entrypoints = false;
  double confidence_thresh = -1;
  std::string progress = "auto";
  bool quiet = false;
  bool no_optimize = false;
};

int run_apply(ApplyArgs& args) {
  if (args.list_entrypoints) {
    for (const auto& line : models::entrypoint_descriptions()) fmt::print("{}\n", line);
    return 0;
  }
  util::set_quiet(args.quiet);
  args.options.progress = args.quiet ? util::ProgressMode::none : util::parse_progress_mode(args.progress);
  if (args.confidence_thresh >= 0) args.options.confidence_thresh = args.confidence_thresh;
  args.options.optimize = !args.no_optimize;
  if (args.options.model.empty()) throw Error(ErrorKind::usage, "zoo apply needs MODEL (a config file or folder)");
  if (args.options.inputs.empty() && args.options.files_from.empty()) {
    throw Error(ErrorKind::usage, "no inputs: give image files, folders or --files-from FILE");
  }

  g_interrupted = false;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const auto summary = inference::run_apply(args.options, &g_interrupted);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);

  util::info(inference::format_summary(summary));
  if (summary.interrupted) {
    util::warn(fmt::format("interrupted: the output holds every finished image{}",
                           args.options.output == "-" ? "" : "; run again with --resume to finish"));
    return 130;
  }
  if (summary.too_many_failures) {
    fmt::print(stderr, "zoo: error: stopped after {} failed inputs (--max-failures {})\n", summary.failed,
               args.options.max_failures);
    return 1;
  }
  return (summary.failed + summary.failed_before) > 0 ? 3 : 0;
}

}  // namespace

Runner register_apply(CLI::App& app) {
  auto args = std::make_shared<ApplyArgs>();
  auto& o = args->options;
  app.add_option("MODEL", o.model, "Model config (YAML) or a folder holding model.yaml");
  app.add_flag("--list-entrypoints", args->list_entrypoints,
               "List the entrypoints a config can name, with their entrypoint_args and defaults, and exit");
  app.add_option("INPUT", o.inputs, "Image files and folders (walked recursively, sorted)");
  app.add_option("--files-from", o.files_from, "Read input paths from FILE, one per line ('-' = stdin)");
  app.add_option("-o,--output", o.output, "Write JSON Lines to FILE (default: stdout)");
  app.add_flag("--resume", o.resume, "Skip inputs already in the -o FILE (after a crash or Ctrl-C) and append the rest");
  app.add_option("-b,--batch-size", o.batch_size, "Images per model call")->default_val(16)->check(CLI::PositiveNumber);
  app.add_option("--workers", o.workers, "Decode threads (default: all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--threads", o.threads, "Torch threads (default: all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("-k,--top-k", o.top_k, "Write the top K classes (FiftyOne Classifications) instead of the best one")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--confidence-thresh", args->confidence_thresh,
                 "Drop predictions with a probability below this (0-1; default: the config's, else none)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_flag("--store-logits", o.store_logits, "Add the raw logits to each label");
  app.add_option("--label-field", o.label_field, "Name of the label key in each record")->default_val("predictions");
  app.add_option("--max-failures", o.max_failures, "Stop (exit 1) once more than N inputs failed (default: never)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max-pixels", o.max_pixels, "Refuse images with more pixels than this, unread")
      ->default_val(178956970)->check(CLI::PositiveNumber);
  app.add_option("--precision", o.precision,
                 "fp32 (matches PyTorch) or bf16 (about 2x faster on CPUs with AVX512-BF16/AMX, ~1e-2 off)")
      ->default_val("fp32")->check(CLI::IsMember({"fp32", "bf16"}));
  app.add_flag("--no-optimize", args->no_optimize, "Run the model as loaded (no freezing or inference optimisation)");
  app.add_option("--progress", args->progress, "Progress on stderr: auto (bar on a terminal), bar, json, none")
      ->default_val("auto");
  app.add_flag("-q,--quiet", args->quiet, "Print only errors on stderr");
  app.footer(R"(Output: one JSON object per input, in input order, flushed batch by batch:
  {"filepath":"photos/cat.jpg","width":640,"height":480,"predictions":{"_cls":"Classification","label":"tabby","confidence":0.81}}
  {"filepath":"photos/bad.jpg","error":"cannot decode image: corrupt jpeg data"}

Exit codes: 0 all inputs labelled; 1 the run failed; 2 usage or config error;
3 finished but some inputs failed; 130 interrupted (output valid, use --resume).

Examples:
  zoo apply configs/resnet18.yaml photos/ > labels.jsonl
  zoo apply model.yaml photos/ -o labels.jsonl --top-k 5
  find /data -name '*.jpg' | zoo apply model.yaml --files-from - -o labels.jsonl
  zoo apply model.yaml photos/ -o labels.jsonl --resume     # after a crash or Ctrl-C)");
  return [args] { return run_apply(*args); };
}

}  // namespace zoo::app
