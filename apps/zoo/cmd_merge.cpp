// zoo merge OUTPUT: joins the part files of a sharded zoo apply or zoo
// embed job (see jobs/merge.hpp).
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "jobs/merge.hpp"
#include "options.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace zoo::app {
namespace {

struct MergeArgs {
  jobs::MergeOptions options;
  bool quiet = false;
};

int run_merge(const MergeArgs& args) {
  util::set_quiet(args.quiet);
  const jobs::MergeSummary summary = jobs::merge_parts(args.options);
  util::info(fmt::format("merged {} into {}: {} {} for {} ({} failed)",
                         util::count_of(summary.shard.count, "part"), util::join(summary.written, ", "),
                         summary.records, summary.unit, util::count_of((long long)summary.inputs, "input"),
                         summary.failed));
  if (!summary.removed.empty()) util::info(fmt::format("removed {}", util::count_of((long long)summary.removed.size(), "file")));
  return summary.failed > 0 ? 3 : 0;
}

}  // namespace

Runner register_merge(CLI::App& app) {
  auto args = std::make_shared<MergeArgs>();
  auto& o = args->options;
  app.add_option("OUTPUT", o.output,
                 "The -o FILE the shards were given: its parts FILE.part-K-of-N beside it are joined into FILE")
      ->required();
  app.add_option("--index", o.index, "zoo embed: the --index FILE the shards were given (default: OUT.paths.txt)");
  app.add_option("--shards", o.shards, "Merge the parts of N shards (when parts of jobs with other N are there)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--remove-parts", o.remove_parts, "Delete the parts and their done markers once FILE is written");
  add_quiet_flag(app, args->quiet, "Print only errors");
  app.footer(R"(Every shard must be done (its done marker written): merge names the
missing ones otherwise, and refuses parts made from different input lists.
The result is what one unsharded run would have written: JSON Lines, CSV
or a COCO document (zoo apply), or the .npy with its index and error log
(zoo embed). FILE is replaced whole; the parts stay unless --remove-parts.

Exit codes: 0 merged; 1 shards missing or unreadable parts; 2 usage error;
3 merged, and some inputs of the job failed.

Examples:
  # a Slurm job array of 8 (sbatch --array=0-7): each task labels its slice
  zoo apply model.yaml /data/photos -o labels.jsonl --shard auto
  zoo merge labels.jsonl
  # by hand, or a Kubernetes Indexed Job (--shard auto/8)
  for k in 0 1 2; do zoo embed model.yaml photos/ -o emb.npy --shard $k/3; done
  zoo merge emb.npy --remove-parts)");
  return [args] { return run_merge(*args); };
}

}  // namespace zoo::app
