#include "train/checkpoints.hpp"

#include <fstream>
#include <set>

#include <torch/serialize.h>

#include <fmt/format.h>

#include "models/builtin.hpp"
#include "util/error.hpp"
#include "util/files.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace zoo::train {
namespace {

// Points the symlink DIR/LINK at the checkpoint folder NAME, atomically.
void point_link(const fs::path& dir, const std::string& link, const std::string& name) {
  std::error_code ec;
  const fs::path tmp_link = dir / (link + ".tmp");
  fs::remove(tmp_link, ec);
  fs::create_directory_symlink(name, tmp_link, ec);
  if (!ec) fs::rename(tmp_link, dir / link, ec);
  if (ec) throw Error(ErrorKind::io, "{}: cannot update: {}", (dir / link).string(), ec.message());
}

std::string checkpoint_name(int epoch) { return fmt::format("epoch-{:04d}", epoch); }

}  // namespace

// checkpoints/epoch-NNNN/{model.pt, optimizer.pt, state.json}, written to a
// .tmp folder, synced and renamed; `last` and `best` are symlinks replaced
// by rename, so a kill at any moment leaves a complete checkpoint behind.
void save_checkpoint(const fs::path& out, int epoch, bool is_best, torch::jit::Module& module,
                     torch::optim::Optimizer& optimizer, const RunState& state) {
  const fs::path dir = out / "checkpoints";
  const std::string name = checkpoint_name(epoch);
  const fs::path tmp = dir / (name + ".tmp");
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) throw Error(ErrorKind::io, "{}: cannot create: {}", tmp.string(), ec.message());
  try {
    module.save((tmp / "model.pt").string());
    torch::save(optimizer, (tmp / "optimizer.pt").string());
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::io, "{}: cannot write checkpoint: {}", tmp.string(), e.msg());
  }
  util::write_file_atomic((tmp / "state.json").string(), state.to_json().dump() + "\n");
  util::fsync_path((tmp / "model.pt").string());
  util::fsync_path((tmp / "optimizer.pt").string());
  fs::remove_all(dir / name, ec);
  fs::rename(tmp, dir / name, ec);
  if (ec) throw Error(ErrorKind::io, "{}: cannot write checkpoint: {}", (dir / name).string(), ec.message());
  util::fsync_path(dir.string());
  point_link(dir, "last", name);
  if (is_best) point_link(dir, "best", name);
  util::fsync_path(dir.string());
  // Keep only the epochs `last` and `best` point to.
  std::set<std::string> keep;
  for (const char* link : {"last", "best"}) {
    if (fs::is_symlink(dir / link, ec)) keep.insert(fs::read_symlink(dir / link, ec).filename().string());
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (file.rfind("epoch-", 0) == 0 && !keep.count(file)) fs::remove_all(entry.path(), ec);
  }
}

bool load_checkpoint(const fs::path& out, torch::jit::Module& module, torch::optim::Optimizer& optimizer,
                     RunState& state) {
  const fs::path last = out / "checkpoints" / "last";
  std::error_code ec;
  if (!fs::exists(last / "state.json", ec)) return false;
  std::ifstream in(last / "state.json");
  try {
    state = RunState::from_json(json::parse(in));
  } catch (const json::exception& e) {
    throw Error(ErrorKind::data, "{}: unreadable checkpoint state: {}", (last / "state.json").string(), e.what());
  }
  auto dict = models::read_state_dict((last / "model.pt").string(), "");
  models::load_state_dict(module, dict, true, (last / "model.pt").string());
  try {
    torch::load(optimizer, (last / "optimizer.pt").string());
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::data, "{}: unreadable optimizer state: {}", (last / "optimizer.pt").string(), e.msg());
  }
  // A kill between moving `last` and `best` to a new best epoch leaves
  // `best` at an older one; the state knows which epoch is best, and when
  // it is the last one its folder is there.
  const fs::path dir = out / "checkpoints";
  const std::string best = checkpoint_name(state.best_epoch);
  if (state.best_epoch > 0 && fs::read_symlink(dir / "best", ec).filename() != best &&
      fs::exists(dir / best / "model.pt", ec)) {
    point_link(dir, "best", best);
  }
  return true;
}

}  // namespace zoo::train
