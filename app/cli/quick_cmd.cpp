// `diffmamba quick-comparison`: the window's Quick comparison without a window (core/jobs/quick_comparison),
// for servers: every family (the pair, or with --ablation four) through every stage, then each family's
// accuracy cells against Mamba2 with their 95 % intervals and the difference's, and (with the plotting
// library) the figures the window shows, under the workspace.
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>

#include "app/cli/commands.h"
#include "app/cli/console.h"
#include "core/common/stats.h"
#include "core/jobs/quick_comparison.h"
#include "core/model/config.h"
#include "core/store/run_store.h"

namespace fs = std::filesystem;

namespace dm::cli {
namespace {

struct Cell {
  double percent = 0;
  int64_t samples = 0;
};

std::map<std::pair<std::string, std::string>, Cell> accuracy_cells(const store::RunStore& db, int64_t run) {
  std::map<std::pair<std::string, std::string>, Cell> out;
  for (const auto& c : db.eval_cells(run))
    if (c.metric == "accuracy") out[{c.task, c.length}] = {c.value, c.samples};
  return out;
}

std::string interval_text(const stats::Interval& i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "[%4.1f, %5.1f]", 100 * i.low, 100 * i.high);
  return buf;
}

// One family against the baseline, cell by cell.
void print_quick_cells(const store::RunStore& db, const jobs::QuickFamilyRuns& base, const jobs::QuickFamilyRuns& other,
                       const std::vector<std::string>& tasks, const std::vector<std::string>& lengths) {
  const auto m = accuracy_cells(db, base.eval), d = accuracy_cells(db, other.eval);
  const std::string bn = model::display_name(model::family_from_string(base.family)),
                    on = model::display_name(model::family_from_string(other.family));
  std::printf("\nBABILong accuracy %% with 95 %% Wilson intervals; difference = %s − %s with its 95 %% "
              "Newcombe interval (* = the interval excludes 0)\n",
              on.c_str(), bn.c_str());
  std::printf("%-5s %-6s %5s  %-24s %-24s %s\n", "task", "length", "n", bn.c_str(), on.c_str(), "difference");
  int wins = 0, losses = 0, cells = 0;
  double sum_m = 0, sum_d = 0;
  for (const auto& t : tasks)
    for (const auto& l : lengths) {
      const auto im = m.find({t, l}), id = d.find({t, l});
      if (im == m.end() || id == d.end()) {
        std::printf("%-5s %-6s   (not evaluated)\n", t.c_str(), l.c_str());
        continue;
      }
      const Cell a = im->second, b = id->second;
      const auto ia = stats::wilson(a.percent / 100, a.samples), ib = stats::wilson(b.percent / 100, b.samples);
      const auto diff = stats::newcombe_difference(b.percent / 100, b.samples, a.percent / 100, a.samples);
      const bool clear = !diff.contains(0.0);
      if (clear) (b.percent > a.percent ? wins : losses)++;
      ++cells;
      sum_m += a.percent;
      sum_d += b.percent;
      std::printf("%-5s %-6s %5lld  %5.1f %-18s %5.1f %-18s %+6.1f %s%s\n", t.c_str(), l.c_str(),
                  static_cast<long long>(std::min(a.samples, b.samples)), a.percent, interval_text(ia).c_str(), b.percent,
                  interval_text(ib).c_str(), b.percent - a.percent, interval_text(diff).c_str(), clear ? " *" : "");
    }
  if (cells > 0)
    std::printf("mean over %d cells: %s %.1f %%, %s %.1f %%; clearly better: %s in %d, %s in %d, neither in %d\n", cells,
                bn.c_str(), sum_m / cells, on.c_str(), sum_d / cells, on.c_str(), wins, bn.c_str(), losses,
                cells - wins - losses);
}

}  // namespace

int run_quick_comparison(const QuickArgs& a, std::atomic<bool>& cancel) {
  const auto ws = a.workspace.empty() ? jobs::Workspace::default_location() : jobs::Workspace{a.workspace};
  ws.ensure();
  jobs::QuickComparisonOptions o;
  o.train_overrides.insert(o.train_overrides.end(), a.overrides.begin(), a.overrides.end());
  if (a.needle_steps > 0) o.needle_steps = a.needle_steps;
  if (a.needle_samples > 0) o.needle_samples = a.needle_samples;
  if (a.eval_samples > 0) o.eval_samples = a.eval_samples;
  if (!a.tasks.empty()) o.tasks = a.tasks;
  if (!a.lengths.empty()) o.lengths = a.lengths;
  if (a.lens_steps > 0) o.lens_steps = a.lens_steps;
  if (a.lens_tokens_per_step > 0) o.lens_tokens_per_step = a.lens_tokens_per_step;
  if (a.lens_samples > 0) o.lens_samples = a.lens_samples;
  o.seed = a.seed;
  o.device = a.device;
  if (a.ablation) o.families = jobs::quick_ablation_families();
  std::string names;
  for (size_t i = 0; i < o.families.size(); ++i)
    names += (i == 0 ? "" : i + 1 == o.families.size() ? " and " : ", ") +
             model::display_name(model::family_from_string(o.families[i]));
  std::printf("workspace: %s\nQuick comparison: %s, each trained (demo preset", ws.root.c_str(), names.c_str());
  for (const auto& x : o.train_overrides) std::printf(" %s", x.c_str());
  std::printf("), fine-tuned on ");
  for (const auto& t : o.needle_tasks) std::printf("%s ", t.c_str());
  std::printf("needles (%lld steps), evaluated on BABILong (%lld samples per cell), with a tuned lens\n",
              static_cast<long long>(o.needle_steps), static_cast<long long>(o.eval_samples));
  std::fflush(stdout);
  ConsoleOptions co;
  co.quiet = a.quiet;
  co.every = 50;
  co.percent = true;
  const ConsolePrinter printer(co);
  const auto r = jobs::run_quick_comparison(ws, o, printer.sink(), cancel);
  printer.end_line();
  std::printf("\nruns (training, needle, BABILong, lens):");
  for (const auto& f : r.families)
    std::printf(" %s %lld, %lld, %lld, %lld;", f.family.c_str(), static_cast<long long>(f.train),
                static_cast<long long>(f.needle), static_cast<long long>(f.eval), static_cast<long long>(f.lens));
  std::printf("\n");
  if (r.status != "finished") {
    std::printf("stopped: %s\n", r.message.c_str());
    return r.status == "cancelled" ? 130 : 3;
  }
  {
    const store::RunStore db(ws.db_path());
    for (size_t i = 1; i < r.families.size(); ++i) print_quick_cells(db, r.families[0], r.families[i], o.tasks, o.lengths);
  }
  if (a.no_figures) return 0;
#ifdef DM_HAVE_PLOTTING
  const std::string dir = a.figures.empty() ? (fs::path(ws.root) / "figures" / "quick-comparison").string() : a.figures;
  std::vector<PlotArgs> plots;
  // Each figure as PDF (with the CSV of its numbers) and PNG.
  auto add = [&](const char* action, const std::string& file, const std::function<void(PlotArgs&)>& set) {
    for (const std::string ext : {".pdf", ".png"}) {
      PlotArgs p;
      p.action = action;
      p.workspace = ws.root;
      p.output_file = (fs::path(dir) / (file + ext)).string();
      p.no_csv = ext != ".pdf";
      set(p);
      plots.push_back(p);
    }
  };
  const auto& base = r.families.front();
  for (const auto& f : r.families) add("heatmap", "babilong-" + f.family, [&](PlotArgs& p) { p.runs = {f.eval}; });
  for (size_t i = 1; i < r.families.size(); ++i) {
    const auto& f = r.families[i];
    for (const std::string action : {"compare", "ratio"})
      add(action.c_str(), action + "-" + f.family + "-vs-" + base.family, [&](PlotArgs& p) {
        p.runs = {f.eval};
        p.baseline_runs = {base.eval};
      });
    add("lens", "lens-" + f.family + "-vs-" + base.family, [&](PlotArgs& p) {
      p.diff_run = f.lens;
      p.mamba_run = base.lens;
    });
  }
  return run_plots(plots);
#else
  std::printf("\nfigures: this build has no plotting library (Qt 6 + QCustomPlot); on a machine with it run e.g.\n"
              "  diffmamba plot compare --workspace %s --run %lld --baseline-run %lld\n",
              ws.root.c_str(), static_cast<long long>(r.families.at(1).eval), static_cast<long long>(r.families.front().eval));
  return 0;
#endif
}

}  // namespace dm::cli
