#include "jobs/embed.hpp"

#include <optional>

#include <fmt/format.h>

#include "inference/embedder.hpp"
#include "inference/model_kinds.hpp"
#include "io/npy.hpp"
#include "outputs/npy_embeddings.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace zoo::jobs {
namespace {

class EmbedJob : public Job {
 public:
  explicit EmbedJob(const EmbedOptions& options)
      : m_options(options),
        m_pool(inference::parse_pool(options.pool)),
        m_dtype(io::parse_npy_dtype(options.dtype)),
        m_config(config::load_model_config(options.job.model)),
        m_kind(inference::model_kind(m_config)),
        m_files(outputs::npy_embeddings_files(outputs::sharded_path(options.job.output, options.job.shard),
                                              options.index.empty()
                                                  ? ""
                                                  : outputs::sharded_path(options.index, options.job.shard))) {
    inference::check_capability(m_kind.cannot_embed, m_config);
    if (options.layer) {
      m_layer.layer = *options.layer;
      m_layer.source = "--layer";
    } else {
      m_layer.layer = m_config.embeddings_layer;
      m_layer.source = fmt::format("{}: embeddings_layer", m_config.source);
    }
  }

  const outputs::OutputFormat& format() const override { return outputs::npy_embeddings_format(); }

  outputs::Writer& make_writer(const std::string&) override {
    m_writer.emplace(m_files, m_dtype, m_options.normalize);
    return *m_writer;
  }

  inference::Predictor& load_model() override {
    inference::LoadRequest request = m_options.job.load;
    request.batch_size = m_options.job.loop.batch_size;
    request.layer = m_layer;
    request.rows = [pool = m_pool](const models::Output& output, size_t n, std::vector<std::vector<float>>& rows) {
      inference::pool_rows(output, n, pool, rows);
    };
    m_model = m_kind.load(m_config, request);
    util::info(fmt::format("model: {}", m_model->description()));
    return m_model->predictor();
  }

  const config::Preprocess& preprocess() const override { return m_config.preprocess; }

  const config::ModelConfig& model_config() const override { return m_config; }

  nlohmann::ordered_json settings() const override {
    return {{"layer", m_layer.layer},
            {"pool", m_options.pool},
            {"dtype", io::npy_dtype_name(m_dtype)},
            {"normalize", m_options.normalize}};
  }

  // The summary's file names, layer and the output's shape.
  void describe(EmbedSummary& summary) const {
    summary.output = m_files.npy;
    summary.index = m_files.index;
    summary.errors = m_files.errors;
    summary.layer = m_layer.layer;
    summary.dtype = io::npy_dtype_name(m_dtype);
    if (m_writer) {
      summary.rows = m_writer->rows();
      summary.dims = m_writer->cols();
    } else {  // a finished shard: nothing was opened
      const io::NpyHeader header = io::read_npy_header(m_files.npy);
      summary.rows = header.rows();
      summary.dims = header.rows() > 0 ? header.cols() : 0;
    }
  }

 private:
  const EmbedOptions& m_options;
  const inference::Pool m_pool;
  const io::NpyDtype m_dtype;
  const config::ModelConfig m_config;
  const inference::ModelKind& m_kind;
  const outputs::NpyEmbeddingsFiles m_files;
  models::OutputLayer m_layer;
  std::optional<outputs::NpyEmbeddings> m_writer;
  std::unique_ptr<inference::LoadedModel> m_model;
};

}  // namespace

EmbedSummary run_embed(const EmbedOptions& options, const std::atomic<bool>* interrupt) {
  if (options.job.output.empty() || options.job.output == "-") {
    throw Error(ErrorKind::usage, "zoo embed needs an output file: -o FILE.npy");
  }
  EmbedJob job(options);
  EmbedSummary summary;
  static_cast<inference::RunSummary&>(summary) = run_batch_job(options.job, job, interrupt);
  job.describe(summary);
  return summary;
}

}  // namespace zoo::jobs
