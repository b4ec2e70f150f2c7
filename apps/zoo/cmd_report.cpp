// zoo report LABELS -o report.html: a page to look at a labelling run.
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "options.hpp"
#include "report/report.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace zoo::app {
namespace {

struct ReportArgs {
  report::ReportOptions options;
  std::string progress = "auto";
  bool quiet = false;
};

int run_report(ReportArgs& args) {
  util::set_quiet(args.quiet);
  std::error_code ec;
  if (std::filesystem::is_directory(args.options.labels, ec)) {
    const auto s = report::write_train_report(args.options.labels, args.options.out, args.options.title);
    util::info(fmt::format("{}: {} of the run in {} ({})", args.options.out,
                           util::count_of(static_cast<long long>(s.epochs), "epoch"), args.options.labels,
                           s.status.empty() ? "still running, or stopped without a last event" : s.status));
    return 0;
  }
  args.options.progress = args.quiet ? util::ProgressMode::none : util::parse_progress_mode(args.progress);
  const auto s = report::write_labels_report(args.options);
  util::info(fmt::format("{}: {}, {} failed, {} classes; thumbnails in {}: {} made, {} reused{}", args.options.out,
                         util::count_of(static_cast<long long>(s.records), "record"), s.errors, s.classes,
                         s.files_dir, s.thumbnails_made,
                         s.thumbnails_reused,
                         s.thumbnails_failed ? fmt::format(", {} inputs could not be read again (no picture)",
                                                           s.thumbnails_failed)
                                             : ""));
  return 0;
}

}  // namespace

Runner register_report(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  auto& o = args->options;
  app.add_option("LABELS|OUTDIR", o.labels,
                 "Labels zoo apply wrote (JSON Lines), or a zoo train output folder (a training report)")
      ->required();
  app.add_option("-o,--output", o.out, "The HTML page to write (its data and thumbnails go to PAGE_files/ beside it)")
      ->required();
  app.add_option("--title", o.title, "The page's title (default: zoo report: LABELS)");
  app.add_option("--thumbnail-size", o.thumbnail_size, "Longer side of the thumbnails, pixels")
      ->capture_default_str()
      ->check(CLI::Range(32, 2048));
  app.add_option("--progress", args->progress, "auto | bar | json | none")->capture_default_str();
  add_quiet_flag(app, args->quiet);
  app.footer(R"(One HTML page, opened by double-click (no server, no network): counts per
class (click one to filter), the confidence distribution, the failed inputs
with their errors, and a gallery of thumbnails with the labels drawn,
filtered by class, confidence range or errors, 60 per page. Filters are in
the page's address (report.html#class=person&min=0.5), so a view can be
shared. The page stays the same size whatever the run; the index
(PAGE_files/data.js) holds one short row per record, and each thumbnail is
made once: running the report again reuses those still valid.

For a zoo train output folder (OUTDIR), one self-contained page: loss,
accuracy and learning-rate curves per epoch (events.jsonl; the best epoch
dashed), the final validation confusion matrix and per-class precision and
recall (metrics.json), and the run's options (train.json).

Examples:
  zoo report models/digits-cnn -o digits-training.html
  zoo apply centernet-coco photos/ -o objects.jsonl
  zoo report objects.jsonl -o objects.html
  chromium objects.html#class=dog)");
  return [args] { return run_report(*args); };
}

}  // namespace zoo::app
