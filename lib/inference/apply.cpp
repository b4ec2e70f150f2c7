#include "inference/apply.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/model_config.hpp"
#include "inference/classifier.hpp"
#include "inference/detector.hpp"
#include "inference/list_predictor.hpp"
#include "inference/spatial_labels.hpp"
#include "inference/opencv_detectors.hpp"
#include "io/csv.hpp"
#include "io/jsonl_writer.hpp"
#include "models/list_model.hpp"
#include "models/model.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"

namespace fs = std::filesystem;

namespace zoo::inference {
namespace {

// Checks that the config's output processor, its entrypoint, its input
// form and --format go together.
void check_model_kind(const config::ModelConfig& config, const ApplyOptions& options) {
  const bool opencv = is_opencv_entrypoint(config.entrypoint);
  const std::string& processor = config.output_processor;
  if (opencv && processor != "detector") {
    throw Error(ErrorKind::config, "{}: entrypoint {} is a detector: set output_processor: detector", config.source,
                config.entrypoint);
  }
  const bool boxes = processor == "detector" || processor == "instance_segmenter" || processor == "keypoints";
  if (!opencv && config.input_list && !boxes) {
    throw Error(ErrorKind::config,
                "{}: output_processor {} does not take an input: list model's outputs (use detector, "
                "instance_segmenter or keypoints)", config.source, processor);
  }
  if (!opencv && !config.input_list && boxes) {
    throw Error(ErrorKind::config,
                "{}: output_processor {} takes torchvision-style dicts (boxes, labels, scores) from an input: list "
                "model (a torchvision detection model scripted with torch.jit.script): set input: list",
                config.source, processor);
  }
  if (processor != "classifier" && !spatial_kind(processor)) {
    throw Error(ErrorKind::config, "{}: output_processor \"{}\" is not supported by zoo apply", config.source,
                processor);
  }
  if (options.format == "csv" && processor != "classifier") {
    throw Error(ErrorKind::usage, "--format csv writes classifications; {} is a {} (use --format jsonl{})",
                config.source, processor, boxes ? " or coco" : "");
  }
  if (options.format == "csv" && options.store_logits) {
    throw Error(ErrorKind::usage, "--format csv has no column for logits: use --format jsonl with --store-logits");
  }
  if (options.format == "csv" && options.label_field != "predictions") {
    throw Error(ErrorKind::usage, "--label-field names a JSON key; --format csv has fixed columns");
  }
  if (options.format == "coco" && !boxes) {
    throw Error(ErrorKind::usage, "--format coco writes detections; {} is a {} (use --format jsonl)", config.source,
                processor);
  }
  if (!options.masks_dir.empty() && processor != "instance_segmenter" && processor != "segmenter") {
    throw Error(ErrorKind::usage, "--masks-dir: {} is a {}, which writes no masks", config.source, processor);
  }
}

// Writes `text` to `path` ("-" = stdout) as a whole (util::write_file_atomic),
// so a reader never sees half a document.
void write_document(const std::string& path, const std::string& text) {
  if (path == "-") {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fputc('\n', stdout) == EOF ||
        std::fflush(stdout) != 0) {
      throw Error(ErrorKind::io, "stdout: write failed: {}", std::strerror(errno));
    }
    return;
  }
  util::write_file_atomic(path, text + "\n");
}

// The CSV row of one input (io/csv.hpp): its classification label (a
// Classification, Classifications or null) as label/confidence pairs, or
// its error.
std::vector<std::string> csv_row(const std::string& path, int64_t frame_number, const std::string& error,
                                 const nlohmann::ordered_json& label, size_t columns) {
  std::vector<std::string> row = {path, frame_number > 0 ? std::to_string(frame_number) : ""};
  auto add = [&row](const nlohmann::ordered_json& one) {
    row.push_back(one["label"].get<std::string>());
    row.push_back(one["confidence"].dump());
  };
  if (label.is_object() && label.contains("classifications")) {
    for (const auto& one : label["classifications"]) add(one);
  } else if (label.is_object()) {
    add(label);
  }
  row.resize(columns - 1);  // empty label cells below the threshold, or for an error
  row.push_back(error);
  return row;
}

}  // namespace

ApplySummary run_apply(const ApplyOptions& given, const std::atomic<bool>* interrupt) {
  ApplyOptions options = given;
  if (options.shard) {
    if (options.output == "-") {
      throw Error(ErrorKind::usage, "--shard needs -o FILE: each shard writes its own part of FILE");
    }
    options.output = part_path(options.output, options.shard);
    // A retried shard picks up its part where the last try stopped.
    std::error_code ec;
    if (options.format != "coco" && fs::exists(options.output, ec)) options.resume = true;
  }
  if (options.batch_size < 1) throw Error(ErrorKind::usage, "--batch-size must be at least 1");
  if (options.format != "jsonl" && options.format != "coco" && options.format != "csv") {
    throw Error(ErrorKind::usage, "--format: expected jsonl, csv or coco, got \"{}\"", options.format);
  }
  const bool coco = options.format == "coco";
  const bool csv = options.format == "csv";
  const std::vector<std::string> csv_header = io::classifier_csv_header(options.top_k);
  if (options.resume && options.output == "-") {
    throw Error(ErrorKind::usage, "--resume needs an output file (-o FILE): it reads what an earlier run wrote there");
  }
  if (options.resume && coco) {
    throw Error(ErrorKind::usage,
                "--resume works with --format jsonl and csv: a COCO file is one document written at the end");
  }
  const config::ModelConfig config = config::load_model_config(options.model);
  check_model_kind(config, options);
  const std::optional<SpatialKind> spatial = spatial_kind(config.output_processor);

  std::vector<std::string> paths = gather_inputs(options.inputs, options.files_from);

  ApplySummary summary;
  ShardRun shard;
  if (options.shard) {
    shard = begin_shard(options.shard, options.output, options.format, paths);
    if (shard.finished) return finished_shard_summary(shard);
  }
  io::ResumeState state;
  if (options.resume) {
    state = csv ? io::scan_csv_for_resume(options.output, csv_header) : io::scan_for_resume(options.output);
    if (state.torn_bytes > 0) {
      util::warn(fmt::format("{}: dropped a torn last line ({} bytes) left by an interrupted run", options.output,
                             state.torn_bytes));
    }
    // An image with a record, or a video with its error record, is done; the
    // frames of a video are skipped one by one as it is read.
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
    if (state.records > 0) util::info(fmt::format("resume: {} records already in {}", state.records, options.output));
  }
  summary.total = paths.size();

  std::optional<io::JsonlWriter> writer;
  if (!coco) writer.emplace(options.output, options.resume);
  // A CSV starts with its header (a resumed one has it unless it was empty).
  std::error_code size_ec;
  if (csv && (!options.resume || options.output == "-" || fs::file_size(options.output, size_ec) == 0 || size_ec)) {
    writer->write(io::csv_line(csv_header));
    writer->flush();
  }

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

  const RowsFromOutput segmentation = [](const models::Output& out, size_t n, std::vector<std::vector<float>>& rows) {
    segmentation_rows(out, n, rows);
  };

  // The model: an OpenCV detector (no Torch), a Torch module taking a
  // batch, or one taking a list of images.
  std::unique_ptr<OpenCvDetector> opencv;
  std::unique_ptr<models::Model> model;
  std::unique_ptr<models::ListModel> list_model;
  std::unique_ptr<Predictor> torch;
  Predictor* predictor = nullptr;
  if (is_opencv_entrypoint(config.entrypoint)) {
    opencv = load_opencv_detector(config, options.threads);
    util::info(fmt::format("model: {}", opencv->description()));
    predictor = opencv.get();
  } else if (config.input_list) {
    models::set_threads(options.threads);
    list_model = models::ListModel::load(config);
    util::info(fmt::format("model: {}", list_model->description()));
    torch = std::make_unique<ListPredictor>(*list_model, *spatial, config.mask_thresh.value_or(0.5));
    predictor = torch.get();
  } else {
    models::set_threads(options.threads);
    model = models::Model::load(config, {options.optimize, models::parse_precision(options.precision)});
    util::info(fmt::format("model: {}", model->description()));
    torch = std::make_unique<TorchPredictor>(*model, spatial == SpatialKind::segmenter ? segmentation : logits);
    predictor = torch.get();
  }

  ClassifierOptions classifier;
  classifier.top_k = options.top_k;
  classifier.confidence_thresh = options.confidence_thresh ? options.confidence_thresh : config.confidence_thresh;
  classifier.store_logits = !csv && (options.store_logits || config.store_logits);  // CSV has no logits column
  classifier.classes = config.classes;
  DetectorOptions detections;
  detections.confidence_thresh = classifier.confidence_thresh;
  detections.classes = opencv ? opencv->classes() : config.classes;
  CocoResults coco_results(detections.classes);
  SpatialOptions spatial_options;
  spatial_options.detector = detections;
  spatial_options.mask_thresh = config.mask_thresh.value_or(0.5);
  spatial_options.keypoint_thresh = config.keypoint_thresh;
  const MaskWriter masks(options.masks_dir);

  const BatchSink write = [&](const std::vector<media::PipelineItem>& batch,
                              const std::vector<std::vector<float>>& rows, std::vector<std::string>& errors) {
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto& item = batch[i];
      if (coco) {
        if (errors[i].empty()) {
          coco_results.add(item.path, item.frame_number,
                           media::input_geometry(item.image.width, item.image.height, config.preprocess),
                           detection_part(rows[i], *spatial), detections);
        }
        continue;
      }
      if (csv) {
        writer->write(io::csv_line(csv_row(item.path, item.frame_number, errors[i],
                                           errors[i].empty() ? classify(rows[i].data(), rows[i].size(), classifier)
                                                             : nullptr,
                                           csv_header.size())));
        continue;
      }
      nlohmann::ordered_json record;
      record["filepath"] = item.path;
      if (item.frame_number > 0) record["frame_number"] = item.frame_number;
      if (!errors[i].empty()) {
        record["error"] = errors[i];
      } else {
        record["width"] = item.image.width;
        record["height"] = item.image.height;
        if (spatial) {
          const auto geometry = media::input_geometry(item.image.width, item.image.height, config.preprocess);
          for (auto& [suffix, label] : spatial_labels(rows[i], *spatial, geometry, spatial_options, masks,
                                                      mask_file_stem(item.path, item.frame_number))) {
            record[options.label_field + suffix] = std::move(label);
          }
        } else {
          record[options.label_field] = classify(rows[i].data(), rows[i].size(), classifier);
        }
      }
      writer->write(record.dump());
    }
    if (writer) writer->flush();
  };

  BatchLoopOptions loop = loop_options(options);
  if (options.resume) {
    loop.skip_frame = [&state](const std::string& path, int64_t frame_number) {
      return state.done.count(io::record_key(path, frame_number)) > 0;
    };
  }
  run_batches(paths, config.preprocess, *predictor, loop, interrupt, write, summary);
  if (coco) write_document(options.output, coco_results.to_json().dump());
  if (options.shard) finish_shard(shard, summary);
  return summary;
}

}  // namespace zoo::inference
