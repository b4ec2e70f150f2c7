// zoo report LABELS -o report.html: one HTML page a user opens by
// double-click (no server, no network): counts per class, the confidence
// distribution, the failed inputs with their errors, and a paged gallery of
// drawn thumbnails that filters by class, confidence and errors.
//
// The page is a fixed template; the run's data goes beside it in
// REPORT_files/data.js (loaded with a <script> tag, which file:// allows)
// and the thumbnails in REPORT_files/thumbs/. So the HTML does not grow
// with the run, the browser parses one compact index, and a thumbnail is
// made once: its name is a digest of the file, frame and labels it shows,
// and an existing one is reused. Plots are SVG drawn by the page's own
// script: no charting library to fetch or embed.
#pragma once

#include <string>

#include "util/progress.hpp"

namespace zoo::report {

struct ReportOptions {
  std::string labels;      // the JSON Lines file
  std::string out;         // report.html
  std::string title;       // "" = "zoo report: LABELS"
  int thumbnail_size = 320;  // the longer side of a thumbnail, pixels
  util::ProgressMode progress = util::ProgressMode::automatic;
};

struct ReportSummary {
  size_t records = 0;
  size_t errors = 0;
  size_t thumbnails_made = 0;
  size_t thumbnails_reused = 0;
  size_t thumbnails_failed = 0;  // inputs that could not be read again (shown without a picture)
  size_t classes = 0;
  std::string files_dir;  // REPORT_files
};

struct TrainReportSummary {
  size_t epochs = 0;
  std::string status;  // the run's last status: success, interrupted, failed, ... ("" = still running or killed)
};

// zoo report OUTDIR -o PAGE: a training run's page, one self-contained
// file: loss, accuracy and learning-rate curves per epoch (events.jsonl),
// the final validation confusion matrix and per-class scores
// (metrics.json), and the run's options (train.json). Throws
// zoo::Error(data) naming the file and line it cannot read.
TrainReportSummary write_train_report(const std::string& run_dir, const std::string& out, const std::string& title);

// zoo eval --html PAGE: the page of an eval report (`report_json`, the
// JSON zoo eval writes), its data and the thumbnails of the inputs it lists
// (mistakes, fixed, broken; at most 5000) in PAGE_files/ beside it.
// Returns the thumbnails made.
size_t write_eval_report(const std::string& report_json, const std::string& out, const std::string& title);

// Writes the report (the page last, so an existing page is replaced only
// once its data is complete). Throws zoo::Error(data) naming the line of a
// malformed record, zoo::Error(io) for a file it cannot write.
ReportSummary write_labels_report(const ReportOptions& options);

}  // namespace zoo::report
