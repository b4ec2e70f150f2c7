#include "eval/model_run.hpp"

#include "config/model_config.hpp"
#include "media/video.hpp"
#include "util/error.hpp"

namespace zoo::eval {

std::string check_model_run(const ModelRun& run, const std::vector<std::string>& paths, const std::string& source,
                            bool detection) {
  const config::ModelConfig config = config::load_model_config(run.model);
  const std::string& kind = config.output_processor;
  const bool boxes = kind == "detector" || kind == "instance_segmenter" || kind == "keypoints";
  if (detection && !boxes) {
    throw Error(ErrorKind::usage, "{}: a {}; box truth ({}) scores detectors", config.source, kind, source);
  }
  if (!detection && kind != "classifier") {
    throw Error(ErrorKind::usage, "{}: a {}; zoo eval scores classifiers against class truth, detectors against "
                "COCO box truth", config.source, kind);
  }
  // Class truth is matched by name (box truth by COCO category, where
  // torchvision's lists repeat "N/A" harmlessly).
  if (const auto repeat = detection ? std::nullopt : config::repeated_class(config.classes)) {
    throw Error(ErrorKind::config, "{}: classes {} and {} (from 0) are both named \"{}\": zoo eval scores labels by "
                "name and could not tell them apart; give each class its own name",
                config.labels_path.empty() ? config.source : config.labels_path, repeat->first, repeat->second,
                config.classes[repeat->first]);
  }
  for (const auto& path : paths) {
    if (media::is_video_input(path)) {
      throw Error(ErrorKind::data, "{}: {} is a video; zoo eval scores one label per image file", source, path);
    }
  }
  return kind == "keypoints" ? run.label_field + "_detections" : run.label_field;
}

jobs::ApplySummary label_files(const ModelRun& run, const std::vector<std::string>& paths,
                               const std::string& labels, const std::atomic<bool>* interrupt) {
  jobs::ApplyOptions a;
  a.job.model = run.model;
  a.job.inputs = paths;
  a.job.output = labels;
  a.job.load.threads = run.threads;
  a.job.loop.batch_size = run.batch_size;
  a.job.loop.workers = run.workers;
  a.job.loop.progress = run.progress;
  a.labels.top_k = run.top_k;
  a.labels.label_field = run.label_field;
  return jobs::run_apply(a, interrupt);
}

}  // namespace zoo::eval
