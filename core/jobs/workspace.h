// A workspace: runs.db, runs/<id>/ (checkpoints, models, samples) and data/<corpus>/ — the folder
// every job of the CLI and the window reads and writes.
#pragma once

#include <cstdint>
#include <string>

namespace dm::jobs {

struct Workspace {
  std::string root;
  std::string db_path() const;
  std::string run_dir(int64_t run_id) const;
  std::string data_dir() const;
  // $XDG_DATA_HOME/diffmamba-studio/workspace, else ~/.local/share/diffmamba-studio/workspace.
  static Workspace default_location();
  // Creates the folders if needed.
  void ensure() const;
};

}  // namespace dm::jobs
