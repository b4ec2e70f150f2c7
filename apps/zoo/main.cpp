// zoo: run Torch image models from the shell. One catch for the whole
// program: errors print as "zoo: error: ..." and pick the exit code
// (2 usage/config, 1 anything else).
#include <cstdio>
#include <cstdlib>
#include <map>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "commands.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

// Keeps freed memory in the process for the next batch. By default glibc
// hands blocks over 32 MB (a batch's activations) to mmap and unmaps them
// when freed, and trims the heap top, so every batch faulted its activation
// memory in afresh from the kernel: for efficientnet_b3 at batch 16 that
// was 9.7 of 11.6 s in the kernel and half the speed (17 vs 34 img/s);
// mobilenet_v2 at batch 16 went from 126 to 198 img/s, resnet50 from 22 to
// 25 (docs/performance.md). The cost: the peak stays allocated until exit,
// which a run's next batch needs anyway. GLIBC_TUNABLES, when set, decides
// instead.
void keep_freed_memory() {
#if defined(__GLIBC__)
  if (std::getenv("GLIBC_TUNABLES")) return;
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
#endif
}

int main(int argc, char** argv) {
  keep_freed_memory();
  CLI::App app{"zoo - run Torch image models from the shell", "zoo"};
  app.set_version_flag("--version", std::string("zoo ") + ZOO_VERSION);
  app.require_subcommand(1);
  app.footer("Run `zoo COMMAND --help` for a command's options and examples.");

  struct Entry {
    const char* name;
    zoo::app::Runner (*register_fn)(CLI::App&);
    const char* description;
  };
  const Entry table[] = {
      {"apply", zoo::app::register_apply, "Run a model over images and folders, write one label record per image"},
      {"embed", zoo::app::register_embed, "Run a model over images and folders, write embeddings from any layer to .npy"},
      {"eval", zoo::app::register_eval, "Score a classifier's labels against ground truth, with CI gates"},
      {"draw", zoo::app::register_draw, "Draw the labels of zoo apply on the images and videos, into a folder"},
      {"report", zoo::app::register_report, "Write an HTML page of a labelling run: classes, confidences, failures, gallery"},
      {"merge", zoo::app::register_merge, "Join the part files of a sharded zoo apply or zoo embed job"},
      {"inspect", zoo::app::register_inspect, "Show a model's weights, preprocessing, layers with shapes, and contract"},
      {"train", zoo::app::register_train, "Train or fine-tune a classifier on a folder of labelled images"},
      {"save", zoo::app::register_save, "Save a model (config, trained folder or reference) as a new version in a store"},
      {"load", zoo::app::register_load, "Fetch a model version from a store into a runnable folder"},
      {"upload", zoo::app::register_upload, "Bring external model files into a store as a new version, with their contract"},
      {"ls", zoo::app::register_ls, "List the models and versions in a store"},
      {"models", zoo::app::register_models, "Models by name: list, info, download, rm, path (torchvision and TF.js weights)"},
      {"bench", zoo::app::register_bench, "Measure a model's own throughput on pre-made input tensors"},
  };
  std::map<CLI::App*, zoo::app::Runner> runners;
  for (const auto& entry : table) {
    CLI::App* sub = app.add_subcommand(entry.name, entry.description);
    runners[sub] = entry.register_fn(*sub);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    zoo::util::error(e.what());
    std::fprintf(stderr, "Run `zoo --help` or `zoo COMMAND --help` for usage.\n");
    return 2;
  }

  try {
    for (auto& [sub, run] : runners) {
      if (sub->parsed()) return run();
    }
    return 2;
  } catch (const zoo::Error& e) {
    zoo::util::error(e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    zoo::util::error(e.what());
    return 1;
  }
}
