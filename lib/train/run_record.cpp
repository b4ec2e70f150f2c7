#include "train/run_record.hpp"

#include <cmath>

namespace zoo::train {

using nlohmann::json;

json options_to_json(const TrainOptions& o) {
  return {{"model", o.model},           {"data", o.data},
          {"val", o.val},               {"val_split", o.val_split},
          {"seed", o.seed},             {"epochs", o.epochs},
          {"batch_size", o.batch_size}, {"lr", o.lr},
          {"optimizer", o.optimizer},   {"momentum", o.momentum},
          {"weight_decay", o.weight_decay}, {"schedule", o.schedule},
          {"step_size", o.step_size},   {"gamma", o.gamma},
          {"warmup_epochs", o.warmup_epochs}, {"label_smoothing", o.label_smoothing},
          {"patience", o.patience},     {"threads", o.threads},
          {"freeze", o.freeze},         {"freeze_until", o.freeze_until}};
}

TrainOptions options_from_json(const json& j, const TrainOptions& cli) {
  TrainOptions o = cli;  // runtime settings (workers, progress, output) stay the command line's
  o.model = j.at("model");
  o.data = j.at("data");
  o.val = j.at("val");
  o.val_split = j.at("val_split");
  o.seed = j.at("seed");
  o.epochs = cli.epochs > 0 ? cli.epochs : j.at("epochs").get<int>();
  o.batch_size = j.at("batch_size");
  o.lr = j.at("lr");
  o.optimizer = j.at("optimizer");
  o.momentum = j.at("momentum");
  o.weight_decay = j.at("weight_decay");
  o.schedule = j.at("schedule");
  o.step_size = j.at("step_size");
  o.gamma = j.at("gamma");
  o.warmup_epochs = j.at("warmup_epochs");
  o.label_smoothing = j.at("label_smoothing");
  o.patience = j.at("patience");
  o.threads = j.at("threads");  // bit-identical results need the same thread count
  o.freeze = j.at("freeze");
  o.freeze_until = j.at("freeze_until");
  return o;
}

TrainOptions with_recipe(const TrainOptions& options, const json& recipe) {
  json j = options_to_json(options);
  std::vector<std::string> applied;
  for (const auto& [key, value] : recipe.items()) {
    if (options.given.count(key)) continue;
    j[key] = value;
    applied.push_back(key);
  }
  // options_from_json keeps a positive --epochs over the file's; the
  // command line gave none when the recipe's applies.
  TrainOptions out = options_from_json(j, options);
  out.from_config = std::move(applied);
  return out;
}

json RunState::to_json() const {
  return {{"epochs_done", epochs_done}, {"best_epoch", best_epoch},
          {"best_val_loss", std::isfinite(best_val_loss) ? json(best_val_loss) : json(nullptr)},
          {"since_best", since_best},   {"history", history},
          {"best_metrics", best_metrics}, {"last_metrics", last_metrics},
          {"bad_files", bad_files}};
}

RunState RunState::from_json(const json& j) {
  RunState s;
  s.epochs_done = j.at("epochs_done");
  s.best_epoch = j.at("best_epoch");
  s.best_val_loss = j.at("best_val_loss").is_null() ? std::numeric_limits<double>::infinity()
                                                    : j.at("best_val_loss").get<double>();
  s.since_best = j.at("since_best");
  s.history = j.at("history");
  s.best_metrics = j.at("best_metrics");
  s.last_metrics = j.at("last_metrics");
  s.bad_files = j.at("bad_files").get<std::vector<std::string>>();
  return s;
}

}  // namespace zoo::train
