// The options more than one subcommand takes, each declared once here with
// its help and check, and attached by the subcommands that use it (as
// llama.cpp's common/arg.cpp does). Defaults live in the option structs the
// values are bound to (jobs::JobOptions, ...) and --help shows them from
// there. To add a shared option: one add_ function here.
#pragma once

#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "jobs/batch_job.hpp"
#include "store/store.hpp"
#include "util/log.hpp"
#include "util/progress.hpp"

namespace zoo::app {

// For every floating-point option: refuses "nan", "inf" and the like,
// which CLI11's range checks (PositiveNumber, Range) let through.
extern const CLI::Validator k_finite;

// --store, --ca-file, --insecure, --offline.
struct StoreArgs {
  std::string store;    // "" = $ZOO_STORE, else the XDG data folder
  std::string ca_file;
  bool insecure = false;
  bool offline = false;  // never download a zoo model (also $ZOO_OFFLINE=1)

  store::RemoteOptions remote() const { return {ca_file, insecure}; }
};

// Adds --store (described by `store_help`), --ca-file, --insecure and
// --offline.
void add_store_options(CLI::App& app, StoreArgs& args, const std::string& store_help);

// A MODEL argument as a path: itself when it is a file or folder, else the
// unpacked store version or the downloaded zoo model it names (see
// packaging::resolve_model); a download reports progress as `progress` says.
std::string resolve_model_arg(const std::string& model, const StoreArgs& args,
                              util::ProgressMode progress = util::ProgressMode::automatic);

// What zoo save, upload and load share around their packaging call:
// applies --quiet, points `request` at the store (its `store` and `remote`
// fields), runs `command` on it and prints the version it names,
// NAME:VERSION DIGEST, on stdout. Returns the command's result.
template <typename Request, typename Command>
auto run_on_store(Request& request, const StoreArgs& args, bool quiet, Command command) {
  util::set_quiet(quiet);
  request.store = args.store;
  request.remote = args.remote();
  const auto result = command(request);
  fmt::print("{}:{} {}\n", result.name, result.version, result.digest);
  return result;
}

// --threads N: Torch threads, 0 = all cores. `help` says what they run.
CLI::Option* add_threads_option(CLI::App& app, int& threads, const std::string& help = "Torch threads");

// -q,--quiet, described by `help`.
CLI::Option* add_quiet_flag(CLI::App& app, bool& quiet, const std::string& help = "Print only errors on stderr");

// --precision fp32|bf16.
CLI::Option* add_precision_option(CLI::App& app, std::string& precision);

// --no-optimize (sets `optimize` to false).
CLI::Option* add_no_optimize_flag(CLI::App& app, bool& optimize);

// -b,--batch-size N (positive).
CLI::Option* add_batch_size_option(CLI::App& app, int& batch_size);

// --size WIDTHxHEIGHT into `width` and `height` (both > 0; a parse error
// otherwise), described by `help`.
CLI::Option* add_size_option(CLI::App& app, int& width, int& height, const std::string& help);

// The batch jobs' (apply, embed) options that are not fields of
// jobs::JobOptions as given on the command line.
struct BatchArgs {
  std::string progress = "auto";  // auto | bar | json | none
  bool quiet = false;
  std::string shard;              // --shard K/N | auto | auto/N ("" = not sharded)
  int shard_base = 0;             // --shard-base: a Slurm array's first index, for auto/N
  StoreArgs store;                // where a MODEL reference is resolved

  // Call before the run: applies --quiet, checks that there are inputs,
  // sets the progress mode, the shard (from the job arrays' variables when
  // auto) and resolves a MODEL that is a store reference to the folder it
  // is unpacked in. Throws zoo::Error(usage) for no inputs, a bad mode or
  // shard.
  void finish(jobs::JobOptions& job) const;
};

// Adds INPUT..., --files-from, --resume (described by `resume_help`), -b,
// --workers, --threads, --max-failures, --max-pixels, --precision,
// --no-optimize, --progress, -q, the store options, --frame-stride, --fps
// and --shard, bound to `job` and `args`.
void add_batch_options(CLI::App& app, jobs::JobOptions& job, BatchArgs& args, const std::string& resume_help);

}  // namespace zoo::app
