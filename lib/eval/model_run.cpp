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
  for (const auto& path : paths) {
    if (media::is_video_input(path)) {
      throw Error(ErrorKind::data, "{}: {} is a video; zoo eval scores one label per image file", source, path);
    }
  }
  return kind == "keypoints" ? run.label_field + "_detections" : run.label_field;
}

inference::ApplySummary label_files(const ModelRun& run, const std::vector<std::string>& paths,
                                    const std::string& labels, const std::atomic<bool>* interrupt) {
  inference::ApplyOptions a;
  a.model = run.model;
  a.inputs = paths;
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
