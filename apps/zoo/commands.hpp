// The subcommand table: each cmd_<name>.cpp registers its options on a
// CLI11 subcommand and returns the function that runs it.
#pragma once

#include <functional>

#include <string>

#include <CLI/CLI.hpp>

namespace zoo::app {

// Runs a parsed subcommand; returns the process exit code.
using Runner = std::function<int()>;

Runner register_apply(CLI::App& app);
Runner register_bench(CLI::App& app);
Runner register_draw(CLI::App& app);
Runner register_embed(CLI::App& app);
Runner register_eval(CLI::App& app);
Runner register_inspect(CLI::App& app);
Runner register_load(CLI::App& app);
Runner register_ls(CLI::App& app);
Runner register_merge(CLI::App& app);
Runner register_models(CLI::App& app);
Runner register_report(CLI::App& app);
Runner register_save(CLI::App& app);
Runner register_train(CLI::App& app);
Runner register_upload(CLI::App& app);

}  // namespace zoo::app

namespace zoo::draw {
struct DrawSummary;
}

namespace zoo::app {

// Prints what a drawing run drew, and each input it could not draw, on
// stderr; returns 3 when an input could not be drawn, else 0.
int report_drawing(const draw::DrawSummary& summary, const std::string& out_dir);

}  // namespace zoo::app
