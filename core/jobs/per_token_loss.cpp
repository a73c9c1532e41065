#include "core/jobs/per_token_loss.h"

#include <sys/stat.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/io/atomic_file.h"
#include "core/io/mapped_file.h"
#include "core/io/npy.h"
#include "core/io/npz.h"
#include "core/jobs/model_source.h"
#include "core/jobs/run_session.h"
#include "core/train/autocast.h"

namespace dm::jobs {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMaxTextFile = 1ull << 30;  // one document is read whole

// The documents, in order: the files named, and each named folder's regular files (one level), sorted.
std::vector<std::string> data_files(const std::vector<std::string>& data) {
  std::vector<std::string> out;
  for (const auto& d : data) {
    std::error_code ec;
    if (fs::is_directory(d, ec)) {
      std::vector<std::string> in;
      for (const auto& e : fs::directory_iterator(d, ec))
        if (e.is_regular_file(ec)) in.push_back(e.path().string());
      std::sort(in.begin(), in.end());
      out.insert(out.end(), in.begin(), in.end());
    } else if (fs::is_regular_file(d, ec)) {
      out.push_back(d);
    } else {
      throw FileError(d, "is neither a regular file nor a folder");
    }
  }
  if (out.empty()) throw ConfigError("data", "(none)", "name text, .npy or .bin files, or folders holding them");
  return out;
}

// Tokens from the documents, one sequence of n + 1 at a time (inputs n, the last one a label only).
class TokenStream {
 public:
  TokenStream(std::vector<std::string> files, const data::Codec& codec, int64_t vocab)
      : files_(std::move(files)), codec_(codec), vocab_(vocab) {}

  bool next(std::vector<int64_t>& seq, int64_t n) {
    while (static_cast<int64_t>(buf_.size()) - at_ < n + 1) {
      if (file_ >= files_.size()) return false;
      // Drop what was consumed before appending the next document.
      buf_.erase(buf_.begin(), buf_.begin() + at_);
      at_ = 0;
      append(files_[file_++]);
    }
    seq.assign(buf_.begin() + at_, buf_.begin() + at_ + n + 1);
    at_ += n + 1;
    return true;
  }

 private:
  void append(const std::string& path) {
    const auto ext = fs::path(path).extension().string();
    std::vector<int64_t> ids;
    if (ext == ".npy") {
      const auto t = io::read_npy(path);
      if (t.dim() != 1 || !(t.scalar_type() == torch::kLong || t.scalar_type() == torch::kInt))
        throw FileError(path, "a token file must be a 1-D integer array, got " + std::to_string(t.dim()) + "-D " +
                                  std::string(c10::toString(t.scalar_type())));
      const auto l = t.to(torch::kLong).contiguous();
      ids.assign(l.data_ptr<int64_t>(), l.data_ptr<int64_t>() + l.numel());
    } else if (ext == ".bin") {
      const auto f = io::MappedFile::open(path);
      const auto bytes = f->bytes();
      if (bytes.size() % 2 != 0) throw FileError(path, "a .bin token file holds uint16 ids: its size must be even");
      ids.resize(bytes.size() / 2);
      for (size_t i = 0; i < ids.size(); ++i) {
        uint16_t v;
        std::memcpy(&v, bytes.data() + 2 * i, 2);
        ids[i] = v;
      }
    } else {
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_size) > kMaxTextFile)
        throw FileError(path, "a text document must be a readable file of at most 1 GiB");
      ids = codec_.encode(codec_.normalize(io::read_file(path)));
      if (const auto eos = codec_.eos_id()) ids.push_back(*eos);
    }
    for (int64_t id : ids)
      if (id < 0 || id >= vocab_)
        throw FileError(path, "token id " + std::to_string(id) + " is outside the model's vocabulary of " +
                                  std::to_string(vocab_));
    buf_.insert(buf_.end(), ids.begin(), ids.end());
  }

  std::vector<std::string> files_;
  const data::Codec& codec_;
  int64_t vocab_;
  size_t file_ = 0;
  std::vector<int64_t> buf_;
  int64_t at_ = 0;
};

}  // namespace

std::vector<int64_t> per_token_lengths(int64_t eval_len) {
  std::vector<int64_t> out;
  for (int64_t l = 512; l < eval_len; l *= 2) out.push_back(l);
  out.push_back(eval_len);
  return out;
}

PerTokenLossResult run_per_token_loss(const Workspace& ws, const PerTokenLossOptions& opt, const train::EventSink& user_sink,
                                      const std::atomic<bool>& cancel) {
  if (opt.eval_len < 2 || opt.eval_len > (1 << 24)) throw ConfigError("eval_len", std::to_string(opt.eval_len), "must be in [2, 2^24]");
  if (opt.chunk <= 0) throw ConfigError("chunk", std::to_string(opt.chunk), "must be positive");
  if (opt.eval_tokens < 0) throw ConfigError("eval_tokens", std::to_string(opt.eval_tokens), "must be ≥ 0");
  if (opt.save_every <= 0) throw ConfigError("save_every", std::to_string(opt.save_every), "must be positive");
  if (opt.output_dir.empty()) throw ConfigError("output_dir", "(none)", "name the folder for the results");
  const auto files = data_files(opt.data);
  const fs::path out(opt.output_dir);
  fs::create_directories(out);
  PerTokenLossResult result;
  if (fs::exists(out / "results.json")) {
    const auto j = nlohmann::json::parse(io::read_file((out / "results.json").string()));
    result.status = "finished";
    result.loss_per_token = j.at("val/loss_per_token").get<std::vector<double>>();
    result.sequences = j.value("sequences", int64_t{0});
    for (int64_t l : per_token_lengths(opt.eval_len))
      if (j.contains("val/loss_avg_len_" + std::to_string(l))) result.loss_avg[l] = j.at("val/loss_avg_len_" + std::to_string(l));
    return result;
  }
  jobs::HeldEvents early;
  const auto device = jobs::device_from_option(opt.device, early.sink());
  auto tm = open_text_model(opt.ckpt_path, opt.tokenizer);
  auto& m = tm.model;
  m->to(device);
  m->eval();
  const auto autocast = jobs::autocast_from_option("precision", opt.precision, device, true);  // fp32 weights
  const int64_t L = opt.eval_len;
  // What a saved progress must match to be continued.
  const nlohmann::json fingerprint = {
      {"model", tm.source}, {"data", files}, {"eval_len", L}, {"precision", jobs::precision_name(autocast)}};
  std::vector<double> sums(static_cast<size_t>(L), 0.0);
  int64_t done = 0;
  const auto progress = out / "progress.json", sums_file = out / "loss_sum.npy";
  if (fs::exists(progress) && fs::exists(sums_file)) {
    const auto p = nlohmann::json::parse(io::read_file(progress.string()));
    if (p.at("fingerprint") != fingerprint)
      throw ConfigError("output_dir", opt.output_dir,
                        "holds the progress of another evaluation (model, data, eval_len or precision differ); use a new folder");
    const auto t = io::read_npy(sums_file.string()).to(torch::kDouble).contiguous();
    if (t.numel() != L) throw FileError(sums_file.string(), "does not hold eval_len sums");
    std::copy(t.data_ptr<double>(), t.data_ptr<double>() + L, sums.begin());
    done = p.at("sequences").get<int64_t>();
  }
  const nlohmann::json cfg = {{"ckpt_path", opt.ckpt_path}, {"model", tm.source}, {"data", files}, {"eval_len", L},
                              {"eval_tokens", opt.eval_tokens}, {"chunk", opt.chunk}, {"output_dir", opt.output_dir},
                              {"precision", jobs::precision_name(autocast)}};
  store::RunStore db(ws.db_path());
  RunSpec spec;
  spec.name = opt.name.empty() ? "per-token-loss" : opt.name;
  spec.kind = "per-token-loss";
  spec.family = model::to_string(m->config().family);
  spec.device = device.str();
  spec.config_json = cfg.dump();
  RunSession session(db, ws, spec);
  auto sink = session.sink(user_sink);
  early.replay(sink);
  auto save = [&] {
    io::write_npy(sums_file.string(), torch::tensor(sums, torch::kDouble));
    io::write_file_atomic(progress.string(), nlohmann::json({{"fingerprint", fingerprint}, {"sequences", done}}).dump());
  };
  try {
    TokenStream stream(files, *tm.codec, m->config().vocab_size);
    std::vector<int64_t> seq;
    for (int64_t i = 0; i < done; ++i)  // the sequences a saved progress already holds
      if (!stream.next(seq, L)) throw Error("the data hold fewer sequences than the saved progress counted");
    const int64_t limit = opt.eval_tokens > 0 ? std::max<int64_t>(1, opt.eval_tokens / L) : INT64_MAX;
    torch::NoGradGuard off;
    const auto started = std::chrono::steady_clock::now();
    const int64_t done_before = done;
    while (done < limit && !cancel && stream.next(seq, L)) {
      const auto ids = torch::tensor(seq, torch::kLong).to(device);
      model::DecodeState state;  // position 0: each sequence starts fresh
      for (int64_t c0 = 0; c0 < L && !cancel; c0 += opt.chunk) {
        const int64_t n = std::min(opt.chunk, L - c0);
        torch::Tensor logits;
        {
          const train::AutocastScope mixed(device.type(), autocast);
          auto h = m->hidden(ids.narrow(0, c0, n).unsqueeze(0), nullptr, &state);
          logits = m->head(h).squeeze(0).to(torch::kFloat);
        }
        auto nll = torch::nn::functional::cross_entropy(logits, ids.narrow(0, c0 + 1, n),
                                                        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone))
                       .to(torch::kDouble)
                       .cpu()
                       .contiguous();
        const double* p = nll.data_ptr<double>();
        for (int64_t t = 0; t < n; ++t) sums[static_cast<size_t>(c0 + t)] += p[t];
      }
      if (cancel) break;
      ++done;
      double mean = 0;
      for (double v : sums) mean += v;
      mean /= static_cast<double>(L) * static_cast<double>(done);
      train::TrainEvent ev;
      ev.kind = train::TrainEvent::Kind::step;
      ev.step = done;
      ev.metrics = {{"val/loss_running", mean}};
      if (limit != INT64_MAX) ev.progress = std::min(1.0, static_cast<double>(done) / static_cast<double>(limit));
      sink(ev);
      if (done % opt.save_every == 0) save();
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    result.tokens_this_run = (done - done_before) * L;
    if (done > 0) save();
    if (cancel) {
      session.finish("cancelled", std::to_string(done) + " sequences done; rerun to continue");
      result.status = "cancelled";
      result.sequences = done;
      result.run_id = session.id();
      return result;
    }
    if (done == 0)
      throw ConfigError("data", files.front(), "holds fewer than eval_len + 1 = " + std::to_string(L + 1) + " tokens");
    nlohmann::json results;
    result.loss_per_token.resize(static_cast<size_t>(L));
    for (int64_t t = 0; t < L; ++t) result.loss_per_token[static_cast<size_t>(t)] = sums[static_cast<size_t>(t)] / static_cast<double>(done);
    results["val/loss_per_token"] = result.loss_per_token;
    std::vector<std::pair<std::string, std::vector<double>>> npz = {{"val/loss_per_token", result.loss_per_token}};
    double prefix = 0;
    int64_t upto = 0;
    for (int64_t l : per_token_lengths(L)) {
      for (; upto < l; ++upto) prefix += result.loss_per_token[static_cast<size_t>(upto)];
      const double avg = prefix / static_cast<double>(l);
      result.loss_avg[l] = avg;
      const std::string ls = std::to_string(l);
      results["val/loss_avg_len_" + ls] = avg;
      results["val/perplexity_len_" + ls] = std::exp(avg);
      npz.push_back({"val/loss_avg_len_" + ls, {avg}});
      npz.push_back({"val/perplexity_len_" + ls, {std::exp(avg)}});
      session.add_metric(l, 0, "val/loss_avg_len", avg);
      db.put_eval_cell(session.id(), store::EvalCell{"per-token", ls, "loss_avg", avg, done});
    }
    results["sequences"] = done;
    if (result.seconds > 0 && result.tokens_this_run > 0) results["tokens_per_second"] = static_cast<double>(result.tokens_this_run) / result.seconds;
    results["eval_len"] = L;
    io::NpzWriter w((out / "results.npz").string());
    for (const auto& [name, values] : npz) w.add(name, torch::tensor(values, torch::kDouble));
    w.finish();
    io::write_file_atomic((out / "results.json").string(), results.dump());
    db.add_artifact(session.id(), "results", fs::absolute(out / "results.json").string());
    session.finish("finished", std::to_string(done) + " sequences of " + std::to_string(L) + " tokens");
    result.status = "finished";
    result.sequences = done;
    result.run_id = session.id();
  } catch (const std::exception& e) {
    if (session.fail(e, cancel)) {
      result.status = "cancelled";
      return result;
    }
    throw;
  }
  return result;
}

}  // namespace dm::jobs
