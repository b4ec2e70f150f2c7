#include "jobs/apply.hpp"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "draw/draw.hpp"
#include "eval/label_lines.hpp"
#include "inference/model_kinds.hpp"
#include "inference/spatial_labels.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/sha256.hpp"

namespace fs = std::filesystem;

namespace zoo::jobs {
namespace {

const outputs::OutputFormat& label_format(const std::string& name) {
  const outputs::OutputFormat* format = outputs::find_output_format(name);
  if (!format || !format->open_labels) {
    throw Error(ErrorKind::usage, "--format: expected {}, got \"{}\"", outputs::label_format_names(), name);
  }
  return *format;
}

// The rows of a batch model's output: a classifier's logits, a
// segmenter's class per pixel, a detector's boxes or a keypoint model's
// points. An SSD output against anchors keeps boxes scoring at least
// `confidence_thresh` (the user's, else the config's).
inference::RowsFromOutput batch_rows(const config::ModelConfig& config, std::optional<double> confidence_thresh) {
  if (config.anchors) {
    const config::Size input = *config.preprocess.image_size;
    const inference::AnchorGrid grid{config.anchors->strides, config.anchors->per_cell, input.width, input.height};
    const double min_score = confidence_thresh.value_or(config.confidence_thresh.value_or(0.0));
    const std::optional<double> nms = config.nms_thresh;
    const bool points = config.output_processor == "keypoints";
    return [grid, min_score, nms, points](const models::Output& out, size_t n, std::vector<std::vector<float>>& rows) {
      inference::anchor_rows(out, n, grid, min_score, nms, points, rows);
    };
  }
  if (config.output_processor == "detector") {
    const std::optional<double> nms = config.nms_thresh;
    return [nms](const models::Output& out, size_t n, std::vector<std::vector<float>>& rows) {
      inference::detector_rows(out, n, nms, rows);
    };
  }
  if (config.output_processor == "keypoints") {
    const config::Size input = config.preprocess.image_size.value_or(config::Size{});
    return [input](const models::Output& out, size_t n, std::vector<std::vector<float>>& rows) {
      inference::keypoint_rows(out, n, input.width, input.height, rows);
    };
  }
  if (config.output_processor == "segmenter") {
    return [](const models::Output& out, size_t n, std::vector<std::vector<float>>& rows) {
      inference::segmentation_rows(out, n, rows);
    };
  }
  const size_t classes = config.classes.size();
  const std::string labels_source =
      config.labels_path.empty() ? fmt::format("{} (its classes)", config.source) : config.labels_path;
  return [classes, labels_source](const models::Output& out, size_t n, std::vector<std::vector<float>>& rows) {
    if (out.shape.size() != 2 || out.shape[0] != int64_t(n)) {
      throw Error(ErrorKind::model, "classifier output has shape [{}], expected [batch, classes]",
                  fmt::join(out.shape, ", "));
    }
    const size_t k = size_t(out.shape[1]);
    // One score and two labels: a binary classifier (the score is the
    // second label's).
    if (classes > 0 && k != classes && !(k == 1 && classes == 2)) {
      throw Error(ErrorKind::config, "the model outputs {} scores per image but {} lists {} labels", k,
                  labels_source, classes);
    }
    for (size_t i = 0; i < n; ++i) rows[i].assign(out.values.begin() + i * k, out.values.begin() + (i + 1) * k);
  };
}

// The label options, once the model kind is checked to give the config's
// labels, with where masks go: --masks-dir DIR; inline (mask_png) with
// --inline-masks; else, for JSON Lines, PNG files in OUT.masks/ beside
// -o OUT (mask_path: what FiftyOne loads).
outputs::LabelOptions label_options(const inference::ModelKind& kind, const config::ModelConfig& config,
                                    const ApplyOptions& apply) {
  inference::check_output_processor(kind, config);
  outputs::LabelOptions options = apply.labels;
  const std::string& processor = config.output_processor;
  const bool masks = processor == "instance_segmenter" || processor == "segmenter";
  if (!options.masks_dir.empty() && options.inline_masks) {
    throw Error(ErrorKind::usage, "--masks-dir and --inline-masks: masks go either to files or inline, not both");
  }
  if ((!options.masks_dir.empty() || options.inline_masks) && !masks) {
    throw Error(ErrorKind::usage, "{}: {} is a {}, which writes no masks",
                options.inline_masks ? "--inline-masks" : "--masks-dir", config.source, processor);
  }
  if (processor == "regression" && options.top_k > 0) {
    throw Error(ErrorKind::usage, "--top-k: {} is a regression, which gives one value per image, not classes",
                config.source);
  }
  if (!options.coco_truth.empty() && apply.format != "coco-results") {
    throw Error(ErrorKind::usage, "--coco-truth is for --format coco-results (the results' ids), not {}", apply.format);
  }
  if (masks && apply.format == "jsonl" && options.masks_dir.empty() && !options.inline_masks) {
    if (apply.job.output.empty() || apply.job.output == "-") {
      throw Error(ErrorKind::usage, "{} writes masks as PNG files beside -o FILE (mask_path, which FiftyOne loads); "
                  "with the labels on stdout give --masks-dir DIR, or --inline-masks for base64 PNGs in the records",
                  config.source);
    }
    options.masks_dir = fs::path(apply.job.output).replace_extension(".masks").string();
  }
  return options;
}

// --draw: a JSON Lines writer whose every batch, once written and flushed,
// is read back from the file and drawn. Reading the file back draws exactly
// what it holds, mask files included, whichever way the records were made.
class DrawingWriter : public outputs::Writer {
 public:
  DrawingWriter(std::unique_ptr<outputs::Writer> labels, draw::Drawer& drawer)
      : m_labels(std::move(labels)), m_path(m_labels->files().front()), m_drawer(drawer) {}

  std::vector<std::string> files() const override { return m_labels->files(); }

  outputs::Resumed open(bool resume) override {
    outputs::Resumed resumed = m_labels->open(resume);
    // An earlier run's records: those it drew stay as they are.
    m_drawer.keep_drawn(true);
    follow();
    m_drawer.keep_drawn(false);
    return resumed;
  }

  void write(const std::vector<media::PipelineItem>& batch, const std::vector<std::vector<float>>& rows,
             std::vector<std::string>& errors) override {
    m_labels->write(batch, rows, errors);
    follow();
  }

  void finish() override { m_labels->finish(); }

 private:
  // Hands the lines written since the last call to the drawer. The writer
  // flushes whole lines, so the file ends at a line's end.
  void follow() {
    std::error_code ec;
    const uintmax_t size = fs::file_size(m_path, ec);
    if (ec) throw Error(ErrorKind::io, "{}: cannot read back for --draw: {}", m_path, ec.message());
    if (size <= m_read) return;
    std::ifstream in(m_path, std::ios::binary);
    in.seekg(std::streamoff(m_read));
    if (!in) throw Error(ErrorKind::io, "{}: cannot read back for --draw", m_path);
    m_lines = eval::for_each_label_line<nlohmann::json>(
        in, m_path, [this](const eval::LabelLine<nlohmann::json>& line) { m_drawer.add(line); }, m_lines);
    m_read = size;
  }

  std::unique_ptr<outputs::Writer> m_labels;
  std::string m_path;
  draw::Drawer& m_drawer;
  uintmax_t m_read = 0;  // bytes of the file handed over
  size_t m_lines = 0;    // lines of the file handed over
};

class ApplyJob : public Job {
 public:
  explicit ApplyJob(const ApplyOptions& options)
      : m_options(options),
        m_format(label_format(options.format)),
        m_config(config::load_model_config(options.job.model)),
        m_kind(inference::model_kind(m_config)),
        m_labeler(m_config, label_options(m_kind, m_config, options)) {
    m_format.check(m_labeler);
    if (options.job.patches) {
      if (m_labeler.spatial()) {
        throw Error(ErrorKind::usage, "--patches: {} is a {}; on patches zoo apply runs classifiers (one label per "
                    "detection); run a {} on whole images", m_config.source, m_config.output_processor,
                    m_config.output_processor);
      }
      if (m_format.name != "jsonl") {
        throw Error(ErrorKind::usage, "--patches writes one JSON Lines record per detection: --format jsonl, not {}",
                    m_format.name);
      }
    }
  }

  const outputs::OutputFormat& format() const override { return m_format; }

  outputs::Writer& make_writer(const std::string& output) override {
    m_writer = m_format.open_labels(output, m_labeler);
    if (m_options.drawer) {
      if (m_format.name != "jsonl" || output == "-") {
        throw Error(ErrorKind::usage, "--draw reads the labels back: it needs -o FILE in the jsonl format");
      }
      m_writer = std::make_unique<DrawingWriter>(std::move(m_writer), *m_options.drawer);
    }
    return *m_writer;
  }

  inference::Predictor& load_model() override {
    inference::LoadRequest request = m_options.job.load;
    request.batch_size = m_options.job.loop.batch_size;
    request.rows = batch_rows(m_config, m_options.labels.confidence_thresh);
    m_model = m_kind.load(m_config, request);
    util::info(fmt::format("model: {}", m_model->description()));
    m_labeler.set_classes(m_model->classes());
    return m_model->predictor();
  }

  const config::Preprocess& preprocess() const override { return m_config.preprocess; }

  const config::ModelConfig& model_config() const override { return m_config; }

  nlohmann::ordered_json settings() const override {
    const outputs::LabelOptions& labels = m_options.labels;
    return {{"format", m_format.name},
            {"label_field", labels.label_field},
            {"top_k", labels.top_k},
            {"confidence_thresh", labels.confidence_thresh ? nlohmann::ordered_json(*labels.confidence_thresh) : nullptr},
            {"store_logits", labels.store_logits},
            {"masks", m_labeler.options().masks_dir.empty() ? "inline" : "files"},
            {"coco_truth", labels.coco_truth.empty() ? "" : util::sha256_file(labels.coco_truth)}};
  }

 private:
  const ApplyOptions& m_options;
  const outputs::OutputFormat& m_format;
  const config::ModelConfig m_config;
  const inference::ModelKind& m_kind;
  outputs::Labeler m_labeler;
  std::unique_ptr<outputs::Writer> m_writer;
  std::unique_ptr<inference::LoadedModel> m_model;
};

}  // namespace

ApplySummary run_apply(const ApplyOptions& options, const std::atomic<bool>* interrupt) {
  ApplyJob job(options);
  return run_batch_job(options.job, job, interrupt);
}

}  // namespace zoo::jobs
