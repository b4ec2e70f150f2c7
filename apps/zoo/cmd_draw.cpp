// zoo draw LABELS [INPUT...] -o DIR: the labelled images and videos, drawn.
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "draw/draw.hpp"
#include "options.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace zoo::app {

int report_drawing(const draw::DrawSummary& summary, const std::string& out_dir) {
  for (const auto& failure : summary.failed) util::error(failure);
  std::string what = util::count_of(static_cast<long long>(summary.images), "image");
  if (summary.videos > 0) {
    what += fmt::format(", {} ({})", util::count_of(static_cast<long long>(summary.videos), "video"),
                        util::count_of(static_cast<long long>(summary.frames), "frame"));
  }
  util::info(fmt::format("drew {} into {}{}{}", what, out_dir,
                         summary.error_records ? fmt::format("; {} error records had nothing to draw", summary.error_records)
                                               : "",
                         summary.failed.empty() ? "" : fmt::format("; {} could not be drawn", summary.failed.size())));
  return summary.failed.empty() ? 0 : 3;
}

namespace {

struct DrawArgs {
  draw::DrawOptions options;
  std::string progress = "auto";
  bool quiet = false;
};

int run_draw(DrawArgs& args) {
  util::set_quiet(args.quiet);
  args.options.progress = args.quiet ? util::ProgressMode::none : util::parse_progress_mode(args.progress);
  return report_drawing(draw::draw_labels(args.options), args.options.out_dir);
}

}  // namespace

Runner register_draw(CLI::App& app) {
  auto args = std::make_shared<DrawArgs>();
  auto& o = args->options;
  app.add_option("LABELS", o.labels, "Labels zoo apply wrote (JSON Lines), or any FiftyOne-style JSONL of that schema")
      ->required();
  app.add_option("INPUT", o.inputs, "Only these images, videos or folders (default: every file the labels name)");
  app.add_option("-o,--output", o.out_dir, "Folder to write the drawn images and videos into")->required();
  app.add_option("--image-format", o.image_format,
                 "keep (each image's own format; .png when OpenCV cannot write it), png or jpg")
      ->capture_default_str()
      ->check(CLI::IsMember({"keep", "png", "jpg"}));
  app.add_option("--progress", args->progress, "auto | bar | json | none")->capture_default_str();
  add_quiet_flag(app, args->quiet);
  app.footer(R"(Each image is written again under DIR, at its path relative to the INPUT
folders (else to the folder all the labelled files share), with its labels
drawn: boxes with class and confidence, instance masks as translucent
fills, keypoints (with COCO's skeleton for 17 points), semantic masks as a
colour overlay with a legend, classifications and regressions as captions,
and a --patches run's answer beside each patch. A class has the same
colour in every image and run. Videos become Motion-JPEG .avi files: every
frame copied, the labelled ones drawn. Error records are counted, not drawn.

Exit codes: 0 done; 1 the run failed; 2 usage error; 3 some inputs could not
be drawn (each named on stderr).

Examples:
  zoo apply centernet-coco photos/ -o objects.jsonl && zoo draw objects.jsonl -o drawn/
  zoo draw faces.jsonl clip.avi -o drawn/          # only the clip
  zoo apply blazeface photos/ -o faces.jsonl --draw drawn/   # drawn as labelled (the same files))");
  return [args] { return run_draw(*args); };
}

}  // namespace zoo::app
