#include "eval/model_run.hpp"

#include "config/model_config.hpp"
#include "media/video.hpp"
#include "util/error.hpp"

namespace zoo::eval {

void check_model_run(const ModelRun& run, const Truth& truth) {
  const config::ModelConfig config = config::load_model_config(run.model);
  if (config.output_processor != "classifier") {
    throw Error(ErrorKind::usage, "{}: a {}; zoo eval scores classifiers", config.source, config.output_processor);
  }
  for (const auto& path : truth.paths) {
    if (media::is_video_input(path)) {
      throw Error(ErrorKind::data, "{}: {} is a video; zoo eval scores one label per image file", truth.source, path);
    }
  }
}

inference::ApplySummary label_truth(const ModelRun& run, const Truth& truth, const std::string& labels,
                                    const std::atomic<bool>* interrupt) {
  inference::ApplyOptions a;
  a.model = run.model;
  a.inputs = truth.paths;
  a.output = labels;
  a.batch_size = run.batch_size;
  a.threads = run.threads;
  a.workers = run.workers;
  a.top_k = run.top_k;
  a.label_field = run.label_field;
  a.progress = run.progress;
  return inference::run_apply(a, interrupt);
}

}  // namespace zoo::eval
