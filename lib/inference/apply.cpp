#include "inference/apply.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/model_config.hpp"
#include "inference/classifier.hpp"
#include "io/jsonl_writer.hpp"
#include "models/model.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace zoo::inference {

ApplySummary run_apply(const ApplyOptions& options, const std::atomic<bool>* interrupt) {
  if (options.batch_size < 1) throw Error(ErrorKind::usage, "--batch-size must be at least 1");
  if (options.resume && options.output == "-") {
    throw Error(ErrorKind::usage, "--resume needs an output file (-o FILE): it reads what an earlier run wrote there");
  }
  const config::ModelConfig config = config::load_model_config(options.model);
  if (config.output_processor != "classifier") {
    throw Error(ErrorKind::config, "{}: output_processor \"{}\" is not supported by zoo apply yet", config.source,
                config.output_processor);
  }

  std::vector<std::string> paths = gather_inputs(options.inputs, options.files_from);

  ApplySummary summary;
  if (options.resume) {
    io::ResumeState state = io::scan_for_resume(options.output);
    if (state.torn_bytes > 0) {
      util::warn(fmt::format("{}: dropped a torn last line ({} bytes) left by an interrupted run", options.output,
                             state.torn_bytes));
    }
    std::vector<std::string> todo;
    for (auto& path : paths) {
      if (state.done.count(path)) {
        ++summary.skipped;
      } else {
        todo.push_back(std::move(path));
      }
    }
    summary.failed_before = state.errors;
    paths = std::move(todo);
    if (summary.skipped > 0) util::info(fmt::format("resume: {} inputs already in {}", summary.skipped, options.output));
  }
  summary.total = paths.size();

  io::JsonlWriter writer(options.output, options.resume);
  models::set_threads(options.threads);
  auto model = models::Model::load(config, {options.optimize, models::parse_precision(options.precision)});
  util::info(fmt::format("model: {}", model->description()));

  ClassifierOptions classifier;
  classifier.top_k = options.top_k;
  classifier.confidence_thresh = options.confidence_thresh ? options.confidence_thresh : config.confidence_thresh;
  classifier.store_logits = options.store_logits || config.store_logits;
  classifier.classes = config.classes;

  const size_t classes = config.classes.size();
  const RowsFromOutput logits = [classes](const models::Output& out, size_t n, std::vector<std::vector<float>>& rows) {
    if (out.shape.size() != 2 || out.shape[0] != int64_t(n)) {
      throw Error(ErrorKind::model, "classifier output has shape [{}], expected [batch, classes]",
                  fmt::join(out.shape, ", "));
    }
    const size_t k = size_t(out.shape[1]);
    if (classes > 0 && k != classes) {
      throw Error(ErrorKind::config, "the model outputs {} scores per image but the config lists {} labels", k,
                  classes);
    }
    for (size_t i = 0; i < n; ++i) rows[i].assign(out.values.begin() + i * k, out.values.begin() + (i + 1) * k);
  };

  const BatchSink write = [&](const std::vector<media::PipelineItem>& batch,
                              const std::vector<std::vector<float>>& rows, std::vector<std::string>& errors) {
    for (size_t i = 0; i < batch.size(); ++i) {
      nlohmann::ordered_json record;
      record["filepath"] = batch[i].path;
      if (!errors[i].empty()) {
        record["error"] = errors[i];
      } else {
        record["width"] = batch[i].image.width;
        record["height"] = batch[i].image.height;
        record[options.label_field] = classify(rows[i].data(), rows[i].size(), classifier);
      }
      writer.write(record.dump());
    }
    writer.flush();
  };

  BatchLoopOptions loop;
  loop.batch_size = options.batch_size;
  loop.workers = options.workers;
  loop.max_failures = options.max_failures;
  loop.max_pixels = options.max_pixels;
  loop.progress = options.progress;
  run_batches(paths, config.preprocess, *model, logits, loop, interrupt, write, summary);
  return summary;
}

}  // namespace zoo::inference
