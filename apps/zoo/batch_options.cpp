#include "batch_options.hpp"

#include <csignal>
#include <cstdlib>

#include <fmt/format.h>

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

}  // namespace

util::ProgressMode BatchArgs::begin_run() const {
  util::set_quiet(quiet);
  if (inputs.empty() && files_from.empty()) {
    throw Error(ErrorKind::usage, "no inputs: give image or video files, folders or --files-from FILE");
  }
  return quiet ? util::ProgressMode::none : util::parse_progress_mode(progress);
}

inference::Shard parse_shard_arg(const std::string& text) {
  return inference::parse_shard(text, [](const char* name) { return std::getenv(name); });
}

void add_batch_options(CLI::App& app, BatchArgs& args, const std::string& resume_help) {
  app.add_option("INPUT", args.inputs,
                 "Image files, folders (walked recursively for images, sorted) and video files (one item per frame)");
  add_store_options(app, args.store, "Store a MODEL reference (NAME, NAME:VERSION, NAME@sha256:...) is read from "
                                    "(default: $ZOO_STORE, else ~/.local/share/zoo/store)");
  app.add_option("--files-from", args.files_from, "Read input paths from FILE, one per line ('-' = stdin)");
  app.add_flag("--resume", args.resume, resume_help);
  app.add_option("-b,--batch-size", args.batch_size, "Images per model call")
      ->default_val(16)->check(CLI::PositiveNumber);
  app.add_option("--workers", args.workers, "Decode threads (default: all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--threads", args.threads, "Torch threads (default: all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--max-failures", args.max_failures, "Stop (exit 1) once more than N inputs failed (default: never)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max-pixels", args.max_pixels, "Refuse images with more pixels than this, unread")
      ->default_val(178956970)->check(CLI::PositiveNumber);
  app.add_option("--precision", args.precision,
                 "fp32 (matches PyTorch) or bf16 (about 2x faster on CPUs with AVX512-BF16/AMX, ~1e-2 off)")
      ->default_val("fp32")->check(CLI::IsMember({"fp32", "bf16"}));
  app.add_flag("--no-optimize", args.no_optimize, "Run the model as loaded (no freezing or inference optimisation)");
  app.add_option("--progress", args.progress, "Progress on stderr: auto (bar on a terminal), bar, json, none")
      ->default_val("auto");
  app.add_flag("-q,--quiet", args.quiet, "Print only errors on stderr");
  CLI::Option* stride = app.add_option("--frame-stride", args.frame_stride,
                                       "Videos: take every Nth frame (frames 1, 1+N, 1+2N, ...)")
                            ->default_val(1)->check(CLI::PositiveNumber);
  app.add_option("--fps", args.fps, "Videos: take about F frames per second of video instead (default: every frame)")
      ->check(CLI::PositiveNumber)->excludes(stride);
  app.add_option("--shard", args.shard,
                 "Do shard K of N (K from 0) of the sorted inputs, into -o FILE's part FILE.part-K-of-N "
                 "(resumed if there; a done marker when finished); `zoo merge FILE` joins the parts. auto = from "
                 "a Slurm job array, auto/N = from a Kubernetes Indexed Job (JOB_COMPLETION_INDEX)");
}

InterruptGuard::InterruptGuard() {
  g_interrupted = false;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

InterruptGuard::~InterruptGuard() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

const std::atomic<bool>* InterruptGuard::flag() const { return &g_interrupted; }

int finish_run(const inference::RunSummary& summary, bool resumable, int64_t max_failures) {
  util::info(inference::format_summary(summary));
  if (summary.interrupted) {
    util::warn(fmt::format("interrupted: the output holds every finished image{}",
                           resumable ? "; run again with --resume to finish" : ""));
    return 130;
  }
  if (summary.too_many_failures) {
    fmt::print(stderr, "zoo: error: stopped after {} failed inputs (--max-failures {})\n", summary.failed,
               max_failures);
    return 1;
  }
  return (summary.failed + summary.failed_before) > 0 ? 3 : 0;
}

}  // namespace zoo::app
