// zoo train MODEL --data DIR -o OUTDIR: options and reporting; the job is
// train::run_train.
#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "batch_run.hpp"
#include "commands.hpp"
#include "packaging/package.hpp"
#include "options.hpp"
#include "train/trainer.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace zoo::app {
namespace {

struct TrainArgs {
  train::TrainOptions options;
  std::string resume_dir;
  std::string progress = "auto";
  bool quiet = false;
  StoreArgs store;
  std::string save;  // --save NAME
};

int run_train(TrainArgs& args, const CLI::App& app) {
  util::set_quiet(args.quiet);
  auto& o = args.options;
  // What the command line gave: the config's train: section sets the rest.
  for (const CLI::Option* option : app.get_options()) {
    if (option->count() == 0 || option->get_lnames().empty()) continue;
    std::string key = option->get_lnames().front();
    std::replace(key.begin(), key.end(), '-', '_');
    o.given.insert(key);
  }
  o.progress = args.quiet ? util::ProgressMode::none : util::parse_progress_mode(args.progress);
  if (!args.resume_dir.empty()) {
    if (!o.output.empty() && o.output != args.resume_dir) {
      throw Error(ErrorKind::usage, "--resume {} and -o {} name different folders", args.resume_dir, o.output);
    }
    o.output = args.resume_dir;
    o.resume = true;
  } else {
    if (o.model.empty()) throw Error(ErrorKind::usage, "zoo train needs MODEL (a config with a built-in entrypoint)");
    if (o.output.empty()) throw Error(ErrorKind::usage, "zoo train needs -o OUTDIR");
    o.model = resolve_model_arg(o.model, args.store);
  }
  if (!args.save.empty()) store::validate_name(args.save, "--save");
  train::TrainResult r;
  {
    InterruptGuard guard;
    r = train::run_train(o, guard.flag());
  }

  std::string summary = fmt::format("{} in {:.1f} s on {} training images", util::count_of(r.epochs_done, "epoch"),
                                    r.seconds, r.train_samples);
  if (r.best_val_accuracy >= 0) {
    summary += fmt::format("; best val_accuracy {:.2f}% (epoch {}, {} validation images)", 100 * r.best_val_accuracy,
                           r.best_epoch, r.val_samples);
  }
  if (r.bad_files) summary += fmt::format("; {} skipped", util::count_of(r.bad_files, "unreadable file"));
  if (r.early_stopped) summary += "; stopped early (--patience)";
  util::info(summary);
  if (r.interrupted) {
    util::warn(fmt::format("interrupted after epoch {}; continue with: zoo train --resume {}", r.epochs_done, o.output));
    return 130;
  }
  util::info(fmt::format("model: {}/model.yaml", o.output));
  if (!args.save.empty()) {
    packaging::SaveOptions save;
    save.model = o.output;
    save.name = args.save;
    save.store = args.store.store;
    save.remote = args.store.remote();
    save.threads = o.threads;
    const auto saved = packaging::save_model(save);
    fmt::print("{}:{} {}\n", saved.name, saved.version, saved.digest);
    util::info(fmt::format("saved {}:{} in {}", saved.name, saved.version, saved.location));
  }
  return 0;
}

}  // namespace

Runner register_train(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto& o = args->options;
  app.add_option("MODEL", o.model, "Model config with a built-in entrypoint (e.g. configs/digits-cnn.yaml), a store reference, or a zoo model name (its weights to start from)");
  app.add_option("--data", o.data, "Training data: a class-per-folder tree, or a CSV/JSONL of filepath,label");
  app.add_option("--val", o.val, "Validation data (same forms; default: split off --val-split of --data)");
  app.add_option("--val-split", o.val_split, "Fraction of each class held out for validation when --val is not given")
      ->capture_default_str()->check(k_finite)->check(CLI::Range(0.0, 0.9));
  app.add_option("-o,--output", o.output, "Output folder (model.yaml, model.pt, labels.txt, metrics.json, events.jsonl, checkpoints/)");
  app.add_option("--resume", args->resume_dir,
                 "Continue the run in OUTDIR from its last checkpoint, with the options it was started with");
  app.add_option("--seed", o.seed, "Seed for the split, shuffling, augmentation, init and dropout")->capture_default_str();
  app.add_option("--epochs", o.epochs, "Epochs (default 10; with --resume, a larger number extends the run)")
      ->check(CLI::PositiveNumber);
  app.add_option("-b,--batch-size", o.batch_size, "Images per step")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--lr", o.lr, "Learning rate (default: adam/adamw 1e-3, sgd 0.01)")
      ->check(k_finite)
      ->check(CLI::PositiveNumber);
  app.add_option("--optimizer", o.optimizer, "sgd, adam or adamw")->capture_default_str()
      ->check(CLI::IsMember({"sgd", "adam", "adamw"}));
  app.add_option("--momentum", o.momentum, "SGD momentum")->capture_default_str()->check(k_finite);
  app.add_option("--weight-decay", o.weight_decay, "Weight decay")->capture_default_str()->check(k_finite);
  app.add_option("--schedule", o.schedule, "Learning-rate schedule per epoch: constant, step or cosine")
      ->capture_default_str()->check(CLI::IsMember({"constant", "step", "cosine"}));
  app.add_option("--step-size", o.step_size, "step schedule: epochs between decays (default: epochs/3)");
  app.add_option("--gamma", o.gamma, "step schedule: decay factor")->capture_default_str()->check(k_finite);
  app.add_option("--warmup-epochs", o.warmup_epochs, "Linear learning-rate warm-up epochs")->capture_default_str();
  app.add_option("--label-smoothing", o.label_smoothing, "Label smoothing (0-1)")->capture_default_str()
      ->check(k_finite)->check(CLI::Range(0.0, 1.0));
  app.add_option("--patience", o.patience, "Stop after N epochs without a lower validation loss (0 = never)")
      ->capture_default_str();
  app.add_flag("--freeze", o.freeze, "Train only the head (the last layer with weights): fine-tuning");
  app.add_option("--freeze-until", o.freeze_until, "Freeze every layer up to and including LAYER (e.g. layer3)");
  add_threads_option(app, o.threads, "Torch threads (same count = same weights)");
  app.add_option("--workers", o.workers, "Decode and augmentation threads (default: all cores)");
  app.add_option("--progress", args->progress, "auto (bar on a terminal), bar, json (events on stderr), none")
      ->capture_default_str();
  add_quiet_flag(app, args->quiet, "Print only errors");
  app.add_option("--save", args->save, "When training succeeds, also save OUTDIR as a new version of NAME in --store "
                                       "(with the training options and metrics in its card)");
  add_store_options(app, args->store, "Store for --save and for a MODEL reference (default: $ZOO_STORE, else "
                                      "~/.local/share/zoo/store)");
  app.footer(R"(The config may carry its recipe in a train: section: any of the options
above that decide the weights, spelt without the dashes and with
underscores (data, val, val_split, seed, epochs, batch_size, lr,
optimizer, momentum, weight_decay, schedule, step_size, gamma,
warmup_epochs, label_smoothing, patience, threads, freeze, freeze_until;
data and val relative to the config's folder). A flag overrides its key;
train.json records the options the run used and "from_config" the keys
the config set.

Writes OUTDIR/model.yaml (usable by zoo apply as is), model.pt, labels.txt,
metrics.json (final and best validation metrics, per-class precision/recall,
confusion matrix), events.jsonl (Marcelle TrainingStatus events, one per line)
and checkpoints/last, checkpoints/best. Interrupted (Ctrl-C, kill, crash)? Run
`zoo train --resume OUTDIR`: it continues after the last finished epoch.

Examples:
  ./scripts/make-digits.sh build/digits
  zoo train configs/digits-cnn.yaml --data build/digits/train -o build/digits-model   # the config's recipe
  zoo train configs/digits-cnn.yaml --data build/digits/train --val build/digits/test --epochs 12 -o build/digits-12
  zoo apply build/digits-model build/digits/test -o predictions.jsonl
  zoo train --resume build/digits-model)");
  return [args, &app] { return run_train(*args, app); };
}

}  // namespace zoo::app
