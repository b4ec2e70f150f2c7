// zoo embed MODEL INPUT... -o OUT.npy: options, signal handling and the
// summary; the job itself is inference::run_embed.
#include <memory>

#include <fmt/format.h>

#include "batch_options.hpp"
#include "commands.hpp"
#include "inference/embed.hpp"
#include "util/log.hpp"

namespace zoo::app {
namespace {

struct EmbedArgs {
  inference::EmbedOptions options;
  BatchArgs batch;
  std::string layer;
};

int run_embed(EmbedArgs& args, const CLI::Option* layer_option) {
  auto& o = args.options;
  const auto& b = args.batch;
  o.progress = b.begin_run();
  b.copy_to(o);
  if (layer_option->count() > 0) o.layer = args.layer;

  inference::EmbedSummary summary;
  {
    InterruptGuard guard;
    summary = inference::run_embed(o, guard.flag());
  }
  const int code = finish_run(summary, true, o.max_failures);
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
  app.add_option("MODEL", o.model, "Model config (YAML) or a folder holding model.yaml")->required();
  app.add_option("-o,--output", o.output, "Write the embeddings to FILE.npy (float32 [N, D])")->required();
  add_batch_options(app, args->batch,
                    "Keep the rows already in -o FILE (after a crash or Ctrl-C) and embed the inputs not yet done");
  CLI::Option* layer = app.add_option(
      "--layer", args->layer,
      "NAME = the output of submodule NAME, <NAME = its input, dotted paths for nested ones (\"<fc\", \"layer4\", "
      "\"<classifier.1\"); '' = the model's output (default: the config's embeddings_layer)");
  app.add_option("--pool", o.pool, "For outputs of more than 2 dimensions: avg or max over the spatial ones, or flatten")
      ->default_val("avg")->check(CLI::IsMember({"avg", "max", "flatten"}));
  app.add_option("--dtype", o.dtype, "float32 or float16 (rounded to nearest even)")
      ->default_val("float32")->check(CLI::IsMember({"float32", "float16"}));
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
  return [args, layer] { return run_embed(*args, layer); };
}

}  // namespace zoo::app
