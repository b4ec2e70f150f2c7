// zoo apply MODEL INPUT...: options, signal handling and the summary; the
// job itself is inference::run_apply.
#include <memory>

#include <fmt/format.h>

#include "batch_options.hpp"
#include "commands.hpp"
#include "inference/apply.hpp"
#include "inference/opencv_detectors.hpp"
#include "models/model.hpp"
#include "util/error.hpp"

namespace zoo::app {
namespace {

struct ApplyArgs {
  inference::ApplyOptions options;
  BatchArgs batch;
  bool list_entrypoints = false;
  double confidence_thresh = -1;
};

int run_apply(ApplyArgs& args) {
  if (args.list_entrypoints) {
    for (const auto& line : models::entrypoint_descriptions()) fmt::print("{}\n", line);
    for (const auto& line : inference::opencv_entrypoint_descriptions()) fmt::print("{}\n", line);
    return 0;
  }
  auto& o = args.options;
  const auto& b = args.batch;
  if (o.model.empty()) throw Error(ErrorKind::usage, "zoo apply needs MODEL (a config file or folder)");
  o.progress = b.begin_run();
  b.copy_to(o);
  if (args.confidence_thresh >= 0) o.confidence_thresh = args.confidence_thresh;

  inference::ApplySummary summary;
  {
    InterruptGuard guard;
    summary = inference::run_apply(o, guard.flag());
  }
  return finish_run(summary, o.output != "-", o.max_failures);
}

}  // namespace

Runner register_apply(CLI::App& app) {
  auto args = std::make_shared<ApplyArgs>();
  auto& o = args->options;
  app.add_option("MODEL", o.model, "Model config (YAML) or a folder holding model.yaml");
  app.add_flag("--list-entrypoints", args->list_entrypoints,
               "List the entrypoints a config can name, with their entrypoint_args and defaults, and exit");
  add_batch_options(app, args->batch,
                    "Skip inputs already in the -o FILE (after a crash or Ctrl-C) and append the rest");
  app.add_option("-o,--output", o.output, "Write the labels to FILE (default: stdout)");
  app.add_option("-k,--top-k", o.top_k, "Write the top K classes (FiftyOne Classifications) instead of the best one")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--confidence-thresh", args->confidence_thresh,
                 "Drop predictions with a probability below this (0-1; default: the config's, else none)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_flag("--store-logits", o.store_logits, "Add the raw logits to each label");
  app.add_option("--label-field", o.label_field, "Name of the label key in each record")->default_val("predictions");
  app.add_option("--masks-dir", o.masks_dir,
                 "instance_segmenter, segmenter: write the masks as PNG files in DIR (mask_path in the record) "
                 "instead of inline (mask_png, base64 PNG)");
  app.add_option("--format", o.format,
                 "jsonl: one record per image or video frame; csv: classifiers, one row per image or frame "
                 "(filepath,frame_number,label,confidence,error; label_K,confidence_K with --top-k); coco: "
                 "detections as one COCO results document (images, categories, annotations with absolute bbox "
                 "and score), written at the end")
      ->default_val("jsonl")->check(CLI::IsMember({"jsonl", "csv", "coco"}));
  app.footer(R"(Output: one JSON object per input (or a CSV row with --format csv), in input
order, flushed batch by batch:
  {"filepath":"photos/cat.jpg","width":640,"height":480,"predictions":{"_cls":"Classification","label":"tabby","confidence":0.81}}
  {"filepath":"photos/bad.jpg","error":"cannot decode image: corrupt jpeg data"}
  {"filepath":"clip.avi","frame_number":12,"width":768,"height":576,"predictions":{"_cls":"Detections","detections":[...]}}

Exit codes: 0 all inputs labelled; 1 the run failed; 2 usage or config error;
3 finished but some inputs failed; 130 interrupted (output valid, use --resume).

Examples:
  zoo apply configs/resnet18.yaml photos/ > labels.jsonl
  zoo apply model.yaml photos/ -o labels.jsonl --top-k 5
  zoo apply model.yaml photos/ --format csv --top-k 3 -o labels.csv
  find /data -name '*.jpg' | zoo apply model.yaml --files-from - -o labels.jsonl
  zoo apply model.yaml photos/ -o labels.jsonl --resume     # after a crash or Ctrl-C
  zoo apply model.yaml photos/ -o labels.jsonl --shard 0/4   # one of 4 machines; then zoo merge labels.jsonl
  zoo apply configs/opencv-hog-people.yaml clip.avi --frame-stride 10 -o people.jsonl
  zoo apply configs/opencv-haar-face.yaml photos/ --format coco -o faces.json)");
  return [args] { return run_apply(*args); };
}

}  // namespace zoo::app
