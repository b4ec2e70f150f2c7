#include "inference/embed.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/model_config.hpp"
#include "inference/opencv_detectors.hpp"
#include "io/jsonl_writer.hpp"
#include "io/npy.hpp"
#include "models/model.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace zoo::inference {
namespace {

// What resume keeps of an index file: its first `keep` complete lines.
struct IndexState {
  std::unordered_set<std::string> done;  // the kept paths
  uint64_t kept = 0;                     // lines kept
  uint64_t lines = 0;                    // complete lines the file held
};

// Reads up to `keep` complete lines of `path` and truncates the file after
// them (dropping further lines and a torn last line). A missing file is
// empty.
IndexState trim_index(const std::string& path, uint64_t keep) {
  IndexState state;
  std::error_code ec;
  if (!fs::exists(path, ec)) return state;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, "{}: cannot read index file to resume: {}", path, std::strerror(errno));
  std::string line;
  uint64_t kept_bytes = 0;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline: torn
    if (state.kept < keep) {
      state.done.insert(line);
      kept_bytes += line.size() + 1;
      ++state.kept;
    }
    ++state.lines;
  }
  in.close();
  if (fs::file_size(path, ec) != kept_bytes) {
    fs::resize_file(path, kept_bytes, ec);
    if (ec) throw Error(ErrorKind::io, "{}: cannot truncate the index to {} lines: {}", path, state.kept, ec.message());
  }
  return state;
}

// The output files of a run, opened (fresh or for resume).
struct Outputs {
  std::optional<io::NpyWriter> npy;
  std::optional<io::JsonlWriter> index;
  std::optional<io::JsonlWriter> errors;
};

}  // namespace

std::string sibling_path(const std::string& npy, const std::string& suffix) {
  if (npy.size() > 4 && util::to_lower(npy.substr(npy.size() - 4)) == ".npy") {
    return npy.substr(0, npy.size() - 4) + suffix;
  }
  return npy + suffix;
}

Pool parse_pool(const std::string& text) {
  if (text == "avg") return Pool::avg;
  if (text == "max") return Pool::max;
  if (text == "flatten") return Pool::flatten;
  throw Error(ErrorKind::usage, "--pool: expected avg, max or flatten, got \"{}\"", text);
}

void pool_rows(const models::Output& output, size_t n, Pool pool, std::vector<std::vector<float>>& rows) {
  const auto& shape = output.shape;
  if (shape.empty() || shape[0] != int64_t(n)) {
    throw Error(ErrorKind::model, "the embedding output has shape [{}], expected [{}, ...] (one row per image)",
                fmt::join(shape, ", "), n);
  }
  size_t per_image = 1;
  for (size_t d = 1; d < shape.size(); ++d) per_image *= size_t(shape[d]);
  if (output.values.size() != per_image * n) {
    throw Error(ErrorKind::model, "the embedding output holds {} values, its shape [{}] says {}", output.values.size(),
                fmt::join(shape, ", "), per_image * n);
  }
  rows.resize(n);
  if (shape.size() <= 2 || pool == Pool::flatten) {
    for (size_t i = 0; i < n; ++i) {
      rows[i].assign(output.values.begin() + i * per_image, output.values.begin() + (i + 1) * per_image);
    }
    return;
  }
  // [N, C, H, W, ...]: channels are axis 1, space the axes after it.
  // [N, T, D] (a transformer's tokens): the tokens are the space, axis 1.
  const bool tokens = shape.size() == 3;
  const size_t channels = size_t(tokens ? shape[2] : shape[1]);
  const size_t area = channels == 0 ? 0 : per_image / channels;
  const size_t channel_step = tokens ? 1 : area;  // distance between channels
  const size_t point_step = tokens ? channels : 1;  // distance between points of one channel
  for (size_t i = 0; i < n; ++i) {
    auto& row = rows[i];
    row.assign(channels, 0.f);
    if (area == 0) continue;
    for (size_t c = 0; c < channels; ++c) {
      const float* values = output.values.data() + i * per_image + c * channel_step;
      if (pool == Pool::avg) {
        double sum = 0;
        for (size_t k = 0; k < area; ++k) sum += values[k * point_step];
        row[c] = float(sum / double(area));
      } else {
        float best = values[0];
        for (size_t k = 1; k < area; ++k) best = std::max(best, values[k * point_step]);
        row[c] = best;
      }
    }
  }
}

void l2_normalize(float* row, size_t size) {
  double sum = 0;
  for (size_t i = 0; i < size; ++i) sum += double(row[i]) * row[i];
  if (sum <= 0) return;
  const double scale = 1.0 / std::sqrt(sum);
  for (size_t i = 0; i < size; ++i) row[i] = float(row[i] * scale);
}

EmbedSummary run_embed(const EmbedOptions& given, const std::atomic<bool>* interrupt) {
  EmbedOptions options = given;
  if (options.output.empty() || options.output == "-") {
    throw Error(ErrorKind::usage, "zoo embed needs an output file: -o FILE.npy");
  }
  if (options.shard) {
    options.output = part_path(options.output, options.shard);
    if (!options.index.empty()) options.index = part_path(options.index, options.shard);
    // A retried shard picks up its part where the last try stopped.
    std::error_code ec;
    if (fs::exists(options.output, ec)) options.resume = true;
  }
  if (options.batch_size < 1) throw Error(ErrorKind::usage, "--batch-size must be at least 1");
  const Pool pool = parse_pool(options.pool);
  const io::NpyDtype dtype = io::parse_npy_dtype(options.dtype);
  const config::ModelConfig config = config::load_model_config(options.model);
  if (is_opencv_entrypoint(config.entrypoint)) {
    throw Error(ErrorKind::config, "{}: entrypoint {} is an OpenCV detector: it has no layers to embed",
                config.source, config.entrypoint);
  }
  if (config.input_list) {
    throw Error(ErrorKind::config, "{}: zoo embed runs input: batch models; this is an input: list model (a "
                "detector taking a list of images)", config.source);
  }

  EmbedSummary summary;
  summary.output = options.output;
  summary.index = options.index.empty() ? sibling_path(options.output, ".paths.txt") : options.index;
  summary.errors = sibling_path(options.output, ".errors.jsonl");
  summary.dtype = io::npy_dtype_name(dtype);
  if (summary.index == summary.output || summary.errors == summary.output || summary.index == summary.errors) {
    throw Error(ErrorKind::usage, "-o {} and --index {}: the embeddings, index and error log need different files",
                summary.output, summary.index);
  }
  models::OutputLayer layer;
  if (options.layer) {
    layer.layer = *options.layer;
    layer.source = "--layer";
  } else {
    layer.layer = config.embeddings_layer;
    layer.source = fmt::format("{}: embeddings_layer", config.source);
  }
  summary.layer = layer.layer;

  std::vector<std::string> paths = gather_inputs(options.inputs, options.files_from);
  ShardRun shard;
  if (options.shard) {
    shard = begin_shard(options.shard, options.output, "npy", paths);
    if (shard.finished) {
      static_cast<RunSummary&>(summary) = finished_shard_summary(shard);
      const io::NpyHeader header = io::read_npy_header(options.output);
      summary.rows = header.rows();
      summary.dims = header.rows() > 0 ? header.cols() : 0;
      return summary;
    }
  }

  Outputs out;
  IndexState index;           // resume: the rows kept
  io::ResumeState failed;     // resume: the failures logged
  if (options.resume) {
    io::NpyRecovery recovery;
    std::error_code ec;
    if (fs::exists(options.output, ec)) {
      out.npy.emplace(io::NpyWriter::resume(options.output, dtype, &recovery));
      if (recovery.torn_bytes > 0) {
        util::warn(fmt::format("{}: dropped a partial last row ({} bytes) left by an interrupted run", options.output,
                               recovery.torn_bytes));
      }
    } else {
      out.npy.emplace(options.output, dtype, 0);
    }
    // The npy rows are written before their index lines: after a crash
    // either may be longer; keep the rows both hold.
    index = trim_index(summary.index, out.npy->rows());
    if (index.kept < out.npy->rows() || index.lines > index.kept) {
      util::warn(fmt::format("resume: {} held {} rows and {} {} lines; kept the first {}", options.output,
                             out.npy->rows(), summary.index, index.lines, index.kept));
    }
    out.npy->truncate(index.kept);
    failed = io::scan_for_resume(summary.errors);
    if (failed.torn_bytes > 0) {
      util::warn(fmt::format("{}: dropped a torn last line ({} bytes) left by an interrupted run", summary.errors,
                             failed.torn_bytes));
    }
    std::vector<std::string> todo;
    for (auto& path : paths) {
      if (index.done.count(path) || failed.done.count(path)) {
        ++summary.skipped;
      } else {
        todo.push_back(std::move(path));
      }
    }
    summary.failed_before = failed.errors;
    paths = std::move(todo);
    if (summary.skipped > 0) {
      util::info(fmt::format("resume: {} inputs already done ({} rows in {}, {} failed)", summary.skipped,
                             out.npy->rows(), options.output, failed.errors));
    }
  } else {
    out.npy.emplace(options.output, dtype, 0);
  }
  out.index.emplace(summary.index, options.resume);
  out.errors.emplace(summary.errors, options.resume);
  summary.total = paths.size();

  models::set_threads(options.threads);
  auto model = models::Model::load(config, {options.optimize, models::parse_precision(options.precision)}, layer);
  util::info(fmt::format("model: {}", model->description()));

  const RowsFromOutput rows_from_output = [pool](const models::Output& output, size_t n,
                                                 std::vector<std::vector<float>>& rows) {
    pool_rows(output, n, pool, rows);
  };

  const uint64_t rows_before = out.npy->rows();
  std::vector<float> block;
  std::vector<std::string> lines;
  const BatchSink write = [&](const std::vector<media::PipelineItem>& batch,
                              const std::vector<std::vector<float>>& rows, std::vector<std::string>& errors) {
    block.clear();
    lines.clear();
    // A file without rows takes the width of this run's first row.
    uint64_t dims = out.npy->rows() > 0 ? out.npy->cols() : 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!errors[i].empty()) continue;
      if (batch[i].path.find('\n') != std::string::npos) {
        errors[i] = "the path holds a newline, so it cannot be a line of the index file";
        continue;
      }
      const auto& row = rows[i];
      if (dims == 0) dims = row.size();
      if (row.size() != dims) {
        if (out.npy->rows() > 0 && out.npy->rows() == rows_before && block.empty()) {
          throw Error(ErrorKind::usage,
                      "{} holds rows of {} values but this run gives {} per image; resume with the same model, "
                      "--layer and --pool, or start a new file",
                      options.output, dims, row.size());
        }
        errors[i] = fmt::format("the embedding has {} values, the rows before it {} (use a fixed input size or "
                                "--pool avg)",
                                row.size(), dims);
        continue;
      }
      const size_t at = block.size();
      block.insert(block.end(), row.begin(), row.end());
      if (options.normalize) l2_normalize(block.data() + at, row.size());
      lines.push_back(io::record_key(batch[i].path, batch[i].frame_number));
    }
    // Rows first, then their index lines, then the errors: a crash in
    // between leaves rows without lines, which resume drops.
    if (!lines.empty()) {
      out.npy->append(block.data(), lines.size(), dims);
      out.npy->flush();
      for (const auto& line : lines) out.index->write(line);
      out.index->flush();
    }
    bool any_error = false;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (errors[i].empty()) continue;
      nlohmann::ordered_json record;
      record["filepath"] = batch[i].path;
      if (batch[i].frame_number > 0) record["frame_number"] = batch[i].frame_number;
      record["error"] = errors[i];
      out.errors->write(record.dump());
      any_error = true;
    }
    if (any_error) out.errors->flush();
  };

  BatchLoopOptions loop = loop_options(options);
  if (options.resume) {
    // Frames of videos: a row in the index ("PATH#FRAME") or an error record.
    loop.skip_frame = [&index, &failed](const std::string& path, int64_t frame_number) {
      const std::string key = io::record_key(path, frame_number);
      return index.done.count(key) > 0 || failed.done.count(key) > 0;
    };
  }
  TorchPredictor predictor(*model, rows_from_output);
  run_batches(paths, config.preprocess, predictor, loop, interrupt, write, summary);
  if (options.shard) finish_shard(shard, summary);
  summary.rows = out.npy->rows();
  summary.dims = out.npy->cols();
  return summary;
}

}  // namespace zoo::inference
