// zoo apply MODEL INPUT...: options, signal handling and the summary; the
// job itself is jobs::run_apply.
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "batch_run.hpp"
#include "commands.hpp"
#include "draw/draw.hpp"
#include "inference/model_kinds.hpp"
#include "jobs/apply.hpp"
#include "options.hpp"
#include "outputs/format.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

namespace zoo::app {
namespace {

struct ApplyArgs {
  jobs::ApplyOptions options;
  BatchArgs batch;
  bool list_entrypoints = false;
  double confidence_thresh = -1;  // < 0: the config's
  bool format_given = false;      // --format on the command line
  std::string draw_dir;           // --draw: draw each batch's labels as they are written
};

int run_apply(ApplyArgs& args) {
  if (args.list_entrypoints) {
    for (const auto& line : inference::entrypoint_descriptions()) fmt::print("{}\n", line);
    return 0;
  }
  auto& o = args.options;
  if (o.job.model.empty()) throw Error(ErrorKind::usage, "zoo apply needs MODEL (a config file or folder)");
  args.batch.finish(o.job);
  if (args.confidence_thresh >= 0) o.labels.confidence_thresh = args.confidence_thresh;
  // -o labels.csv means CSV: JSON Lines in a .csv file helps nobody.
  if (!args.format_given && util::ends_with(util::to_lower(o.job.output), ".csv")) o.format = "csv";

  std::optional<draw::Drawer> drawer;
  if (!args.draw_dir.empty()) {
    draw::DrawTarget target;
    target.out_dir = args.draw_dir;
    target.root = draw::input_root(o.job.inputs, !o.job.files_from.empty());
    target.labels_dir = draw::labels_folder(o.job.output);
    o.drawer = &drawer.emplace(target);
  }

  jobs::ApplySummary summary;
  {
    InterruptGuard guard;
    summary = jobs::run_apply(o, guard.flag());
  }
  const int code = finish_run(summary, o.job.output != "-", o.job.loop.max_failures);
  if (!drawer) return code;
  // A run that stopped early may have written only some records of its
  // last file: that one is drawn by the --resume that finishes it.
  if (summary.interrupted || summary.too_many_failures) {
    drawer->abandon();
  } else {
    drawer->end_file();
  }
  const int drawn = report_drawing(drawer->summary(), args.draw_dir);
  return code != 0 ? code : drawn;
}

}  // namespace

Runner register_apply(CLI::App& app) {
  auto args = std::make_shared<ApplyArgs>();
  auto& o = args->options;
  app.add_option("MODEL", o.job.model, "Model config (YAML), a folder holding model.yaml, a store reference, or a zoo model name (zoo models list)");
  app.add_option("--draw", args->draw_dir,
                 "Also draw each batch's labels on its images and video frames into DIR as they are written, as zoo draw does (needs -o FILE in jsonl)");
  app.add_flag("--list-entrypoints", args->list_entrypoints,
               "List the entrypoints a config can name, with their entrypoint_args and defaults, and exit");
  add_batch_options(app, o.job, args->batch,
                    "Skip inputs already in the -o FILE (after a crash or Ctrl-C) and append the rest");
  app.add_option("-o,--output", o.job.output, "Write the labels to FILE (default: stdout)");
  app.add_option("-k,--top-k", o.labels.top_k,
                 "Write the top K classes (FiftyOne Classifications) instead of the best one")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--confidence-thresh", args->confidence_thresh,
                 "Drop predictions with a probability below this (0-1; default: the config's, else none)")
      ->check(k_finite)
      ->check(CLI::Range(0.0, 1.0));
  app.add_flag("--store-logits", o.labels.store_logits, "Add the raw logits to each label");
  app.add_option("--label-field", o.labels.label_field, "Name of the label key in each record")->capture_default_str();
  app.add_option("--masks-dir", o.labels.masks_dir,
                 "instance_segmenter, segmenter: write the mask PNG files in DIR (mask_path in the record; default: "
                 "OUT.masks beside -o OUT)");
  app.add_flag("--inline-masks", o.labels.inline_masks,
               "instance_segmenter, segmenter: put each mask in its record as a base64 PNG (mask_png), not in a file; "
               "FiftyOne does not read mask_png (see the README for the lines that load it)");
  app.add_option("--coco-truth", o.labels.coco_truth,
                 "--format coco-results: the COCO instances JSON whose image ids (matched by file) and category ids "
                 "(matched by class name) the results use");
  CLI::Option* format = app.add_option("--format", o.format,
                 "jsonl: one record per image or video frame; csv: classifiers, one row per image or frame "
                 "(filepath,frame_number,label,confidence,error; label_K,confidence_K with --top-k); coco-results: "
                 "detections as the list pycocotools' loadRes and COCOeval take (image_id, category_id, bbox in "
                 "pixels, score; segmentation, keypoints), ids from --coco-truth; coco-dataset: detections as one COCO "
                 "document of zoo's own ids (images, categories, annotations); the coco formats are written at the "
                 "end; default: csv for -o FILE.csv, else jsonl")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            if (value == "coco") {
              return "--format coco is now coco-results (pycocotools' results list, ids from --coco-truth) or "
                     "coco-dataset (one COCO document with zoo's own ids)";
            }
            return "";
          },
          "", "coco"))
      ->check(CLI::IsMember(outputs::label_formats()));
  app.footer(R"(Output: one JSON object per input (or a CSV row with --format csv), in input
order, flushed batch by batch:
  {"filepath":"photos/cat.jpg","width":640,"height":480,"predictions":{"_cls":"Classification","label":"tabby","confidence":0.81}}
  {"filepath":"photos/bad.jpg","error":"cannot decode image: corrupt jpeg data"}
  {"filepath":"clip.avi","frame_number":12,"width":768,"height":576,"predictions":{"_cls":"Detections","detections":[...]}}

Exit codes: 0 all inputs labelled; 1 the run failed; 2 usage or config error;
3 finished but some inputs failed; 130 interrupted (output valid, use --resume).

Examples:
  zoo apply centernet-coco photos/ -o objects.jsonl          # a model by name (zoo models list)
  zoo apply configs/resnet18.yaml photos/ > labels.jsonl
  zoo apply model.yaml photos/ -o labels.jsonl --top-k 5
  zoo apply model.yaml photos/ --format csv --top-k 3 -o labels.csv
  find /data -name '*.jpg' | zoo apply model.yaml --files-from - -o labels.jsonl
  zoo apply model.yaml photos/ -o labels.jsonl --resume     # after a crash or Ctrl-C
  zoo apply model.yaml photos/ -o labels.jsonl --shard 0/4   # one of 4 machines; then zoo merge labels.jsonl
  zoo apply configs/opencv-hog-people.yaml clip.avi --frame-stride 10 -o people.jsonl
  zoo apply configs/opencv-haar-face.yaml photos/ --format coco-results --coco-truth truth.json -o faces.json)");
  return [args, format] {
    args->format_given = format->count() > 0;
    return run_apply(*args);
  };
}

}  // namespace zoo::app
