// zoo embed MODEL INPUT... -o OUT.npy: options, signal handling and the
// summary; the job itself is jobs::run_embed.
#include <memory>

#include <fmt/format.h>

#include "batch_run.hpp"
#include "commands.hpp"
#include "jobs/embed.hpp"
#include "options.hpp"
#include "util/log.hpp"

namespace zoo::app {
namespace {

struct EmbedArgs {
  jobs::EmbedOptions options;
  BatchArgs batch;
  std::string layer;
  const CLI::Option* layer_option = nullptr;  // given: --layer overrides the config's embeddings_layer
};

int run_embed(EmbedArgs& args) {
  auto& o = args.options;
  args.batch.finish(o.job);
  if (args.layer_option->count() > 0) o.layer = args.layer;

  jobs::EmbedSummary summary;
  {
    InterruptGuard guard;
    summary = jobs::run_embed(o, guard.flag());
  }
  const int code = finish_run(summary, true, o.job.loop.max_failures);
  util::info(fmt::format("{}: {} rows of {} {} values ({}); paths in {}, failures in {}", summary.output,
                         summary.rows, summary.dims, summary.dtype,
                         summary.layer.empty() ? "the model's output" : "layer " + summary.layer, summary.index,
                         summary.errors));
  return code;
}

}  // namespace

Runner register_embed(CLI::App& app) {
  auto args = std::make_shared<EmbedArgs>();
  auto& o = args->options;
  app.add_option("MODEL", o.job.model, "Model config (YAML), a folder holding model.yaml, a store reference, or a zoo model name (zoo models list)")->required();
  app.add_option("-o,--output", o.job.output, "Write the embeddings to FILE.npy (float32 [N, D])")->required();
  add_batch_options(app, o.job, args->batch,
                    "Keep the rows already in -o FILE (after a crash or Ctrl-C) and embed the inputs not yet done");
  args->layer_option = app.add_option(
      "--layer", args->layer,
      "NAME = the output of submodule NAME, <NAME = its input, dotted paths for nested ones (\"<fc\", \"layer4\", "
      "\"<classifier.1\"); '' = the model's output (default: the config's embeddings_layer)");
  app.add_option("--pool", o.pool, "For outputs of more than 2 dimensions: avg or max over the spatial ones, or flatten")
      ->capture_default_str()
      ->check(CLI::IsMember({"avg", "max", "flatten"}));
  app.add_option("--dtype", o.dtype, "float32 or float16 (rounded to nearest even)")
      ->capture_default_str()
      ->check(CLI::IsMember({"float32", "float16"}));
  app.add_flag("--normalize", o.normalize, "Scale every row to unit L2 norm");
  app.add_option("--index", o.index, "Write the input paths, one per row, to FILE (default: OUT.paths.txt)");
  app.footer(R"(Output: OUT.npy (NPY v1.0, C order, shape [N, D]), valid after every batch;
row i is the image on line i of OUT.paths.txt (PATH#FRAME for a video frame). Failed inputs are not rows:
they are warnings on stderr and lines of OUT.errors.jsonl:
  {"filepath":"photos/bad.jpg","error":"cannot decode image: corrupt jpeg data"}

Exit codes: 0 all inputs embedded; 1 the run failed; 2 usage, config or layer
error; 3 finished but some inputs failed; 130 interrupted (use --resume).

Examples:
  zoo embed configs/resnet18.yaml photos/ -o emb.npy --layer '<fc'
  zoo embed model.yaml photos/ -o emb.npy --layer layer4 --pool max --normalize
  find /data -name '*.jpg' | zoo embed model.yaml --files-from - -o emb.npy --dtype float16
  zoo embed model.yaml photos/ -o emb.npy --resume     # after a crash or Ctrl-C
  zoo embed model.yaml photos/ -o emb.npy --shard auto # a Slurm array task; then zoo merge emb.npy
  zoo embed model.yaml clip.mp4 -o emb.npy --fps 1      # one row per second; index lines clip.mp4#FRAME
  zoo inspect model.yaml                               # the layer names and shapes)");
  return [args] { return run_embed(*args); };
}

}  // namespace zoo::app
