#include "core/jobs/workspace.h"

#include <cstdlib>
#include <filesystem>

#include "core/common/error.h"

namespace dm::jobs {

namespace fs = std::filesystem;

std::string Workspace::db_path() const { return (fs::path(root) / "runs.db").string(); }
std::string Workspace::run_dir(int64_t id) const { return (fs::path(root) / "runs" / std::to_string(id)).string(); }
std::string Workspace::data_dir() const { return (fs::path(root) / "data").string(); }

Workspace Workspace::default_location() {
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return {(fs::path(x) / "diffmamba-studio" / "workspace").string()};
  if (const char* h = std::getenv("HOME"); h && *h)
    return {(fs::path(h) / ".local" / "share" / "diffmamba-studio" / "workspace").string()};
  return {"diffmamba-workspace"};
}

void Workspace::ensure() const {
  std::error_code ec;
  fs::create_directories(fs::path(root) / "runs", ec);
  if (ec) throw FileError(root, "cannot create the workspace folder: " + ec.message());
  fs::create_directories(data_dir(), ec);
}

}  // namespace dm::jobs
