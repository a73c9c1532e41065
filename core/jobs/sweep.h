// Sweeps: one base job and a grid of values, every combination queued as its own run, all grouped under
// one sweep record of the run store. The grid is written as the seed's overrides with a list where a key
// takes one value: `optimizer.lr=[1e-4,5e-4,1e-3] optimizer.weight_decay=[0,0.1]` (6 runs). For a key
// whose value is itself a list (trainer.devices), a list of lists is the grid: `trainer.devices=[[0],[1]]`.
#pragma once

#include <string>
#include <vector>

namespace dm::jobs {

struct GridAxis {
  std::string key;
  std::vector<std::string> values;  // each as it is passed on: key=value
};

struct Grid {
  std::vector<std::string> fixed;  // every argument that is not an axis, in the order given
  std::vector<GridAxis> axes;      // in the order given
  size_t size() const;             // the number of combinations (1 without axes)
};

// Splits train arguments into fixed ones and grid axes. Throws ConfigError for an axis with no values, a
// key given twice, or a grid over 10,000 combinations.
Grid parse_grid(const std::vector<std::string>& args);

// Every combination's arguments: the fixed ones, then key=value per axis; the first axis varies slowest.
std::vector<std::vector<std::string>> combinations(const Grid& g);

// {"key": [values…], …} as JSON text, in the axes' order (the sweep record's grid).
std::string grid_json(const Grid& g);

}  // namespace dm::jobs
