#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "core/common/error.h"
#include "core/io/atomic_file.h"
#include "core/jobs/run_session.h"
#include "core/jobs/train_job.h"
#include "core/store/run_filter.h"
#include "core/store/run_store.h"

namespace dm::cli {

int run_runs(const RunsArgs& a) {
  const auto ws = a.workspace.empty() ? jobs::Workspace::default_location() : jobs::Workspace{a.workspace};
  if (!std::filesystem::exists(ws.db_path())) {
    std::printf("no runs yet (workspace %s has no runs.db)\n", ws.root.c_str());
    return a.action == "list" ? 0 : 2;
  }
  store::RunStore db(ws.db_path());
  if (db.read_only())
    std::fprintf(stderr, "note: the workspace %s is read-only: runs can be listed, shown and exported, not changed\n",
                 ws.root.c_str());
  // A run whose process died shows as crashed here, never as running.
  const auto reaped = jobs::reap_dead_runs(db);
  for (const auto id : reaped) {
    const auto r = db.run(id);
    if (!r) continue;
    std::fprintf(stderr, "run %lld (%s) crashed: %s\n", static_cast<long long>(id), r->name.c_str(), r->message.c_str());
    if (r->kind == "train")
      std::fprintf(stderr, "  resume with: diffmamba train --workspace %s --resume %lld\n", ws.root.c_str(),
                   static_cast<long long>(id));
  }
  if (a.action == "list") {
    std::printf("%5s  %-28s %-10s %-11s %7s  %-12s %s\n", "id", "name", "family", "status", "steps", "val", "created");
    int hidden = 0, shown = 0;
    const auto filter = store::RunFilter::parse(a.filter);
    std::vector<store::RunFields> every;
    for (const auto& r : db.runs()) {
      if (r.archived && !a.all) {
        ++hidden;
        continue;
      }
      if (!filter.empty()) {
        every.push_back(store::run_fields(r, db.last_metrics(r.id)));
        if (!filter.matches(every.back())) continue;
      }
      ++shown;
      std::string val = "–";
      for (const char* m : {"val/bpc", "val/ppl"}) {  // two lookups by name; val/ppl wins when both exist
        auto rows = db.metrics(r.id, m);
        if (!rows.empty()) {
          char buf[48];
          std::snprintf(buf, sizeof buf, "%s %.4f", m + 4, rows.back().value);
          val = buf;
        }
      }
      std::printf("%5lld  %-28s %-10s %-11s %7lld  %-12s %s\n", static_cast<long long>(r.id), r.name.c_str(),
                  r.family.c_str(), (r.status + (r.archived ? "*" : "")).c_str(),
                  static_cast<long long>(std::max<int64_t>(0, db.last_step(r.id))), val.c_str(), r.created_at.c_str());
    }
    if (!filter.empty() && shown == 0) {
      std::string unknown;
      for (const auto& k : filter.unknown_keys(every)) unknown += (unknown.empty() ? "" : ", ") + k;
      std::printf("no run matches '%s'%s (filter syntax: %s)\n", a.filter.c_str(),
                  unknown.empty() ? "" : ("; no run has " + unknown).c_str(), store::RunFilter::syntax());
    }
    if (a.all && hidden == 0) std::printf("(* = archived)\n");
    if (hidden > 0) std::printf("(%d archived run%s not shown: runs list --all)\n", hidden, hidden == 1 ? "" : "s");
    return 0;
  }
  const auto rec = db.run(a.id);
  if (!rec) throw Error("run " + std::to_string(a.id) + " does not exist in " + ws.db_path());
  if (a.action == "show") {
    std::printf("run %lld: %s\n  kind %s, family %s, preset %s\n  status %s%s%s\n  created %s, started %s, ended %s\n"
                "  host %s (process %lld), device %s, git %s\n  folder %s\n  overrides %s\n  config hash %s\n",
                static_cast<long long>(rec->id), rec->name.c_str(), rec->kind.c_str(), rec->family.c_str(),
                rec->preset.empty() ? "–" : rec->preset.c_str(), rec->status.c_str(), rec->message.empty() ? "" : ": ",
                rec->message.c_str(), rec->created_at.c_str(), rec->started_at.c_str(), rec->ended_at.c_str(),
                rec->host.c_str(), static_cast<long long>(rec->pid), rec->device.c_str(), rec->git_rev.c_str(), rec->run_dir.c_str(),
                rec->overrides_json.c_str(), rec->config_hash.c_str());
    if (rec->kind == "train" && (rec->status == "crashed" || rec->status == "cancelled" || rec->status == "failed"))
      std::printf("  resume with: diffmamba train --workspace %s --resume %lld\n", ws.root.c_str(),
                  static_cast<long long>(rec->id));
    std::printf("  last values:\n");
    for (const auto& m : db.last_metrics(a.id))
      std::printf("    %-24s %.6g (step %lld)\n", m.name.c_str(), m.value, static_cast<long long>(m.step));
    std::printf("  config:\n%s\n", nlohmann::json::parse(rec->config_json).dump(2).c_str());
    return 0;
  }
  if (a.action == "export") {
    if (a.csv.empty()) throw Error("runs export needs --csv FILE");
    std::ofstream out(a.csv);
    if (!out) throw FileError(a.csv, "cannot write");
    out << "run,step,epoch,name,value,wall_time\n";
    out.precision(10);
    for (const auto& m : db.metrics(a.id))
      out << a.id << ',' << m.step << ',' << m.epoch << ',' << m.name << ',' << m.value << ',' << m.wall_time << '\n';
    std::printf("wrote %s\n", a.csv.c_str());
    return 0;
  }
  if (a.action == "archive" || a.action == "unarchive") {
    db.set_archived(a.id, a.action == "archive");
    std::printf("%s run %lld\n", a.action == "archive" ? "archived" : "unarchived", static_cast<long long>(a.id));
    return 0;
  }
  if (a.action == "delete") {
    if (rec->status == "running") throw Error("run " + std::to_string(a.id) + " is running; stop it first");
    db.delete_run(a.id);
    if (a.files && !rec->run_dir.empty()) dm::io::remove_tree(rec->run_dir);
    std::printf("deleted run %lld%s\n", static_cast<long long>(a.id), a.files ? " and its folder" : "");
    return 0;
  }
  throw Error("unknown runs action '" + a.action + "'");
}

}  // namespace dm::cli
