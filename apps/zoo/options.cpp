#include "options.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "jobs/shard.hpp"
#include "packaging/package.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace zoo::app {

const CLI::Validator k_finite(
    [](std::string& text) -> std::string {
      char* end = nullptr;
      const double value = std::strtod(text.c_str(), &end);
      if (end == text.c_str() || *end != '\0' || !std::isfinite(value)) return "expected a finite number, got " + text;
      return "";
    },
    "");

void add_store_options(CLI::App& app, StoreArgs& args, const std::string& store_help) {
  app.add_option("--store", args.store, store_help);
  app.add_option("--ca-file", args.ca_file, "PEM certificates to verify an oci:// registry with (default: the system's)");
  app.add_flag("--insecure", args.insecure, "Talk plain http to an oci:// registry on loopback (127.0.0.1, localhost)");
  app.add_flag("--offline", args.offline,
               "Never download: a zoo model name must be in the cache already (also ZOO_OFFLINE=1)");
}

std::string resolve_model_arg(const std::string& model, const StoreArgs& args, util::ProgressMode progress) {
  catalog::FetchOptions fetch = catalog::fetch_options_from_env();
  fetch.offline = fetch.offline || args.offline;
  fetch.progress = util::quiet() ? util::ProgressMode::none : progress;
  return packaging::resolve_model(model, args.store, args.remote(), fetch);
}

CLI::Option* add_threads_option(CLI::App& app, int& threads, const std::string& help) {
  return app.add_option("--threads", threads, help + " (default: all cores)")->check(CLI::NonNegativeNumber);
}

CLI::Option* add_quiet_flag(CLI::App& app, bool& quiet, const std::string& help) {
  return app.add_flag("-q,--quiet", quiet, help);
}

CLI::Option* add_precision_option(CLI::App& app, std::string& precision) {
  return app
      .add_option("--precision", precision,
                  "fp32 (matches PyTorch) or bf16 (about 2x faster on CPUs with AVX512-BF16/AMX, ~1e-2 off)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fp32", "bf16"}));
}

CLI::Option* add_no_optimize_flag(CLI::App& app, bool& optimize) {
  return app.add_flag_callback("--no-optimize", [&optimize] { optimize = false; },
                               "Run the model as loaded (no freezing or inference optimisation)");
}

CLI::Option* add_batch_size_option(CLI::App& app, int& batch_size) {
  return app.add_option("-b,--batch-size", batch_size, "Images per model call")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

CLI::Option* add_size_option(CLI::App& app, int& width, int& height, const std::string& help) {
  return app.add_option_function<std::string>(
      "--size",
      [&width, &height](const std::string& text) {
        int w = 0;
        int h = 0;
        char end = 0;
        if (std::sscanf(text.c_str(), "%dx%d%c", &w, &h, &end) != 2 || w <= 0 || h <= 0) {
          throw CLI::ValidationError("--size", "expected WIDTHxHEIGHT, e.g. 224x224, got \"" + text + "\"");
        }
        width = w;
        height = h;
      },
      help);
}

void BatchArgs::finish(jobs::JobOptions& job) const {
  util::set_quiet(quiet);
  if (job.inputs.empty() && job.files_from.empty()) {
    throw Error(ErrorKind::usage, "no inputs: give image or video files, folders or --files-from FILE");
  }
  job.loop.progress = quiet ? util::ProgressMode::none : util::parse_progress_mode(progress);
  job.model = resolve_model_arg(job.model, store, job.loop.progress);
  if (!shard.empty()) {
    job.shard = jobs::parse_shard(shard, [](const char* name) { return std::getenv(name); }, shard_base);
  } else if (shard_base != 0) {
    throw Error(ErrorKind::usage, "--shard-base goes with --shard auto/N");
  }
}

void add_batch_options(CLI::App& app, jobs::JobOptions& job, BatchArgs& args, const std::string& resume_help) {
  auto& loop = job.loop;
  app.add_option("INPUT", job.inputs,
                 "Image files, folders (walked recursively for images, sorted) and video files (one item per frame)");
  add_store_options(app, args.store, "Store a MODEL reference (NAME, NAME:VERSION, NAME@sha256:...) is read from "
                                     "(default: $ZOO_STORE, else ~/.local/share/zoo/store)");
  app.add_option("--files-from", job.files_from, "Read input paths from FILE, one per line ('-' = stdin)");
  app.add_flag("--resume", job.resume, resume_help);
  add_batch_size_option(app, loop.batch_size);
  app.add_option("--workers", loop.workers, "Decode threads (default: all cores)")->check(CLI::NonNegativeNumber);
  add_threads_option(app, job.load.threads);
  app.add_option("--max-failures", loop.max_failures, "Stop (exit 1) once more than N inputs failed (default: never)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max-pixels", loop.max_pixels, "Refuse images with more pixels than this, unread")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  add_precision_option(app, job.load.precision);
  add_no_optimize_flag(app, job.load.optimize);
  app.add_option("--progress", args.progress, "Progress on stderr: auto (bar on a terminal), bar, json, none")
      ->capture_default_str();
  add_quiet_flag(app, args.quiet);
  CLI::Option* stride = app.add_option("--frame-stride", loop.frames.stride,
                                       "Videos: take every Nth frame (frames 1, 1+N, 1+2N, ...)")
                            ->capture_default_str()
                            ->check(CLI::PositiveNumber);
  app.add_option("--fps", loop.frames.fps,
                 "Videos: take about F frames per second of video instead (default: every frame)")
      ->check(k_finite)
      ->check(CLI::PositiveNumber)
      ->excludes(stride);
  CLI::Option* patches = app.add_option(
      "--patches", job.patches.file,
      "Run the model on the patches of another model's detections instead of whole images (FiftyOne's patches): "
      "FILE is that model's zoo apply JSON Lines output over the same inputs; one result per detection, named "
      "PATH@D (D: the detection's index in its record)");
  app.add_option("--patches-field", job.patches.field,
                 "--patches: the records' Detections field (default: their only one)")
      ->needs(patches);
  app.add_option("--patches-label", job.patches.labels,
                 "--patches: only detections with this label (repeatable; default: all)")
      ->needs(patches);
  app.add_option("--patches-alpha", job.patches.shape.alpha,
                 "--patches: grow each box's width and height by this fraction before cutting it out (negative "
                 "shrinks; FiftyOne's alpha)")
      ->check(k_finite)
      ->check(CLI::Range(-0.99, 100.0))
      ->needs(patches);
  app.add_flag("--patches-square", job.patches.shape.square,
               "--patches: first widen each box's shorter side to its longer one (FiftyOne's force_square)")
      ->needs(patches);
  app.add_option("--shard", args.shard,
                 "Do shard K of N (K from 0) of the sorted inputs, into -o FILE's part FILE.part-K-of-N "
                 "(resumed if there; a done marker when finished); `zoo merge FILE` joins the parts. auto/N = K "
                 "from a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) or a Slurm array (SLURM_ARRAY_TASK_ID - "
                 "--shard-base), safe to resubmit task by task; auto = K and N from a Slurm array submitted whole");
  app.add_option("--shard-base", args.shard_base,
                 "--shard auto/N in a Slurm array: its first index (K = SLURM_ARRAY_TASK_ID - B)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
}

}  // namespace zoo::app
