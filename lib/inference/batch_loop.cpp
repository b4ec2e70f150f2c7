#include "inference/batch_loop.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "io/jsonl_writer.hpp"
#include "media/input_pipeline.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/timer.hpp"

namespace zoo::inference {
namespace {

using util::Clock;
using util::seconds_since;

// Runs the predictor over the good items of a batch, grouping consecutive
// items of the same input shape (images are only all the same size when the
// config fixes it; pixel items all have the empty tensor shape). Fills
// `rows[i]` or `errors[i]`; a row that is not all finite numbers is an error.
class BatchRunner {
 public:
  explicit BatchRunner(Predictor& predictor) : m_predictor(predictor) {}

  void run(const std::vector<media::PipelineItem>& batch, std::vector<std::vector<float>>& rows,
           std::vector<std::string>& errors, bool& any_success) {
    size_t start = 0;
    while (start < batch.size()) {
      if (!errors[start].empty()) {
        ++start;
        continue;
      }
      size_t end = start + 1;
      const auto& first = batch[start].image.input;
      while (end < batch.size() && errors[end].empty() && same_shape(batch[end].image.input, first)) ++end;
      try {
        m_predictor.run(batch, start, end, rows);
        any_success = true;
      } catch (const Error& e) {
        if (!any_success && end - start == size_t(1)) throw;  // the model fails on its first input: a run failure
        if (end - start == 1) {
          errors[start] = e.what();
        } else {
          // Isolate the input(s) the model cannot take.
          for (size_t i = start; i < end; ++i) {
            try {
              m_predictor.run(batch, i, i + 1, rows);
              any_success = true;
            } catch (const Error& single) {
              if (!any_success && i + 1 == end) throw;
              errors[i] = single.what();
            }
          }
        }
      }
      start = end;
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      if (errors[i].empty()) errors[i] = non_finite_problem(rows[i]);
    }
  }

 private:
  // A NaN or infinite output is no label and no embedding: the input fails
  // (a label with "confidence": null would pass every threshold).
  static std::string non_finite_problem(const std::vector<float>& row) {
    const auto bad = std::find_if(row.begin(), row.end(), [](float v) { return !std::isfinite(v); });
    if (bad == row.end()) return "";
    return fmt::format("the model's output holds {} (value {} of {})", std::isnan(*bad) ? "NaN" : "an infinity",
                       bad - row.begin() + 1, row.size());
  }


  static bool same_shape(const media::Tensor3& a, const media::Tensor3& b) {
    return a.channels == b.channels && a.height == b.height && a.width == b.width;
  }

  Predictor& m_predictor;
};

}  // namespace

void run_batches(const std::vector<std::string>& paths, const config::Preprocess& preprocess, Predictor& predictor,
                 const BatchLoopOptions& options, const std::atomic<bool>* interrupt, const BatchSink& sink,
                 RunSummary& summary) {
  if (options.batch_size < 1) throw Error(ErrorKind::usage, "--batch-size must be at least 1");
  summary.total = paths.size();
  summary.workers = options.workers > 0 ? options.workers : models::hardware_threads();
  media::InputPipelineOptions input;
  input.preprocess = preprocess;
  input.limits.max_pixels = options.max_pixels;
  input.limits.keep_pixels = predictor.takes_pixels();
  input.frames = options.frames;
  input.workers = summary.workers;
  input.capacity = size_t(options.batch_size) * 2 + size_t(summary.workers);
  input.skip_frame = options.skip_frame;
  input.patches = options.patches;
  input.patch_shape = options.patch_shape;
  media::InputPipeline pipeline(paths, input);
  BatchRunner runner(predictor);
  util::Progress progress(options.progress, paths.size(), options.patches ? "patch" : "img");
  bool any_success = false;

  const auto start = Clock::now();
  std::vector<media::PipelineItem> batch;
  std::vector<std::vector<float>> rows;
  std::vector<std::string> errors;
  for (;;) {
    if (interrupt && *interrupt) {
      summary.interrupted = true;
      break;
    }
    batch.clear();
    while (batch.size() < size_t(options.batch_size)) {
      auto item = pipeline.next();
      if (!item) break;
      summary.decode_seconds += item->decode_seconds;
      batch.push_back(std::move(*item));
    }
    if (batch.empty()) break;

    rows.assign(batch.size(), {});
    errors.assign(batch.size(), {});
    for (size_t i = 0; i < batch.size(); ++i) errors[i] = batch[i].image.error;
    const auto model_start = Clock::now();
    runner.run(batch, rows, errors, any_success);
    summary.model_seconds += seconds_since(model_start);

    const auto write_start = Clock::now();
    sink(batch, rows, errors);
    summary.write_seconds += seconds_since(write_start);
    for (size_t i = 0; i < batch.size(); ++i) {
      if (errors[i].empty()) {
        ++summary.ok;
      } else {
        ++summary.failed;
        util::warn(fmt::format("{}: {}", io::record_key(batch[i].path, batch[i].frame_number, batch[i].detection),
                               errors[i]));
      }
    }
    progress.set_total(pipeline.expected_items() - std::min(pipeline.expected_items(), pipeline.skipped_frames()));
    progress.update(summary.ok + summary.failed);

    if (options.max_failures >= 0 && int64_t(summary.failed) > options.max_failures) {
      summary.too_many_failures = true;
      break;
    }
  }
  pipeline.stop();
  progress.finish();
  summary.seconds = seconds_since(start);
  const size_t skipped_frames = pipeline.skipped_frames();
  summary.skipped += skipped_frames;
  // A finished run did everything; a stopped one estimates what was left
  // from the videos' headers.
  const size_t done = summary.ok + summary.failed;
  const size_t expected = pipeline.expected_items() - std::min(pipeline.expected_items(), skipped_frames);
  summary.total = (summary.interrupted || summary.too_many_failures) ? std::max(expected, done) : done;
}

std::string format_summary(const RunSummary& s) {
  const size_t done = s.ok + s.failed;
  std::string out = fmt::format("{} {}: {} ok, {} failed", done, s.unit, s.ok, s.failed);
  if (s.skipped > 0) out += fmt::format(", {} skipped (already in the output, {} of them errors)", s.skipped, s.failed_before);
  if (done < s.total) out += fmt::format(", {} not processed", s.total - done);
  out += fmt::format(" in {:.2f} s ({:.1f} {}/s); model {:.2f} s, decode {:.2f} s on {} workers (overlapped), "
                     "write {:.3f} s",
                     s.seconds, s.seconds > 0 ? done / s.seconds : 0.0, s.unit, s.model_seconds, s.decode_seconds,
                     s.workers, s.write_seconds);
  return out;
}

}  // namespace zoo::inference
