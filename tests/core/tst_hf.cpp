// HuggingFace Mamba2 directories: config.json with Infinity and omitted keys, single and sharded
// safetensors, bare and mamba_ssm names, tied heads, Diff-Mamba2's layout, and damaged directories.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>
#include <fstream>

#include "core/common/error.h"
#include "core/io/atomic_file.h"
#include "core/io/convert.h"
#include "core/io/hf_checkpoint.h"
#include "core/io/model_file.h"
#include "core/io/safetensors.h"
#include "core/io/torch_pickle.h"
#include "core/jobs/finetune_job.h"
#include "tests/core/test_util.h"

using namespace dm;

namespace {

model::ModelConfig tiny(model::Family f) {
  auto c = model::ModelConfig::hf_370m(f);
  c.vocab_size = 40;
  c.d_model = 32;
  c.n_layers = 4;
  c.head_dim = 16;
  c.d_state = 8;
  c.chunk_size = 8;
  c.tie_embeddings = true;
  return c;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// Fixtures written by PyTorch / transformers (tests/data/make_fixtures.py), never by our code.
std::string fixture(const std::string& rel) { return std::string(DM_TEST_DATA) + "/" + rel; }

using dm::test::error_of;

}  // namespace

class TestHf : public QObject {
  Q_OBJECT

 private slots:
  void config_with_infinity_and_defaults();
  void round_trip_both_families();
  void sharded_and_renamed_checkpoints();
  void damaged_directories();
  void conversion_slices_positionally();
  void torch_save_state_dicts();
  void hostile_legacy_and_damaged_torch_files();
  void reference_checkpoints_match_transformers();
  void transformers5_config_floats();
  void padded_batches_match_transformers();
  void mamba1_checkpoints_match_transformers();
};

void TestHf::config_with_infinity_and_defaults() {
  // As transformers writes it for AntonV/mamba2-370m-hf (checkpoint-formats §2.4), keys partly omitted.
  const std::string text = R"({"model_type": "mamba2", "hidden_size": 1024, "num_hidden_layers": 48, "head_dim": 64,
    "num_heads": 32, "state_size": 128, "n_groups": 1, "vocab_size": 50288, "tie_word_embeddings": true,
    "time_step_limit": [0.0, Infinity], "note": "Infinity inside a string stays", "diffmamba": true,
    "diffmamba_settings": "alternate"})";
  auto j = io::parse_json_lenient(text, "config.json");
  QCOMPARE(QString::fromStdString(j.at("note").get<std::string>()), QString("Infinity inside a string stays"));
  auto c = io::model_config_from_hf(j, "config.json");
  QCOMPARE(c.family, model::Family::diffmamba2);
  QCOMPARE(c.d_model, int64_t(1024));
  QCOMPARE(c.n_heads(), int64_t(32));
  QVERIFY(std::isinf(c.dt_limit_max));
  QCOMPARE(c.expand, int64_t(2));          // omitted: the class default
  QCOMPARE(c.conv_kernel, int64_t(4));
  QCOMPARE(c.norm_eps, 1e-5);
  QCOMPARE(QString::fromStdString(c.diff_layers), QString("alternate"));
  // num_heads inconsistent with expand · hidden_size / head_dim is refused.
  auto bad = j;
  bad["num_heads"] = 31;
  QVERIFY(error_of([&] { io::model_config_from_hf(bad, "config.json"); }).contains("num_heads"));
  bad = j;
  bad["hidden_size"] = "1024";
  QVERIFY(error_of([&] { io::model_config_from_hf(bad, "config.json"); }).contains("hidden_size"));
}

void TestHf::round_trip_both_families() {
  for (auto fam : {model::Family::mamba2, model::Family::diffmamba2}) {
    for (bool tied : {true, false}) {
      auto cfg = tiny(fam);
      cfg.tie_embeddings = tied;
      torch::manual_seed(4);
      model::LanguageModel m(cfg);
      QTemporaryDir d;
      io::save_hf_directory(m, d.path().toStdString());
      const auto text = io::read_file(d.filePath("config.json").toStdString());
      QVERIFY2(text.find("Infinity") != std::string::npos, "the unbounded dt limit is written as Infinity");
      auto back = io::load_hf_directory(d.path().toStdString());
      QCOMPARE(QString::fromStdString(back->config().to_json().dump()), QString::fromStdString(m->config().to_json().dump()));
      m->eval();
      back->eval();
      torch::NoGradGuard ng;
      auto ids = torch::randint(0, 40, {2, 12}, torch::kLong);
      QVERIFY(torch::equal(m->forward(ids), back->forward(ids)));
      auto st = io::read_safetensors(d.filePath("model.safetensors").toStdString());
      QCOMPARE(bool(st.find("lm_head.weight")), !tied);
      if (fam == model::Family::diffmamba2) {
        QVERIFY(st.find("backbone.layers.0.mixer_1.in_proj.weight"));
        QVERIFY(st.find("backbone.layers.2.lambda_q1"));
        QVERIFY(st.find("backbone.layers.1.mixer.A_log"));  // alternate: odd blocks stay plain
      }
    }
  }
}

void TestHf::sharded_and_renamed_checkpoints() {
  auto cfg = tiny(model::Family::mamba2);
  torch::manual_seed(5);
  model::LanguageModel m(cfg);
  QTemporaryDir d;
  io::save_hf_directory(m, d.path().toStdString());
  auto st = io::read_safetensors(d.filePath("model.safetensors").toStdString());
  QFile::remove(d.filePath("model.safetensors"));
  // Two shards with bare Mamba2Model names (no "backbone."), mamba_ssm's "embedding." spelling and a
  // stored copy of the tied head.
  io::NamedTensors a, b;
  nlohmann::json map;
  for (size_t i = 0; i < st.tensors.size(); ++i) {
    auto name = st.tensors[i].first.substr(std::string("backbone.").size());
    if (name == "embeddings.weight") name = "embedding.weight";
    (i % 2 ? b : a).emplace_back(name, st.tensors[i].second);
    map[name] = i % 2 ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors";
  }
  a.emplace_back("lm_head.weight", m->backbone->embeddings->weight);
  map["lm_head.weight"] = "model-00001-of-00002.safetensors";
  io::write_safetensors(d.filePath("model-00001-of-00002.safetensors").toStdString(), a, {{"format", "pt"}});
  io::write_safetensors(d.filePath("model-00002-of-00002.safetensors").toStdString(), b, {{"format", "pt"}});
  write(d.filePath("model.safetensors.index.json").toStdString(),
        nlohmann::json{{"metadata", {{"total_size", 0}}}, {"weight_map", map}}.dump(2));
  auto back = io::load_hf_directory(d.path().toStdString());
  torch::NoGradGuard ng;
  auto ids = torch::randint(0, 40, {1, 9}, torch::kLong);
  m->eval();
  back->eval();
  QVERIFY(torch::equal(m->forward(ids), back->forward(ids)));
}

void TestHf::damaged_directories() {
  auto cfg = tiny(model::Family::mamba2);
  model::LanguageModel m(cfg);
  QTemporaryDir d;
  const auto dir = d.path().toStdString();
  QVERIFY(error_of([&] { io::load_hf_directory(dir); }).contains("no config.json"));
  io::save_hf_directory(m, dir);
  // A truncated weights file.
  const auto w = d.filePath("model.safetensors").toStdString();
  const auto bytes = io::read_file(w);
  write(w, bytes.substr(0, bytes.size() - 100));
  QVERIFY(error_of([&] { io::load_hf_directory(dir); }).contains("model.safetensors"));
  // config.json that does not match the weights.
  io::save_hf_directory(m, dir);
  auto j = io::parse_json_lenient(io::read_file(d.filePath("config.json").toStdString()), "config.json");
  j["state_size"] = 16;
  write(d.filePath("config.json").toStdString(), j.dump());
  QVERIFY(error_of([&] { io::load_hf_directory(dir); }).contains("has shape"));
  // A config claiming a million layers for a file that holds a few: refused before anything is built.
  j["state_size"] = 8;
  j["num_hidden_layers"] = 1000000;
  write(d.filePath("config.json").toStdString(), j.dump());
  const auto many = error_of([&] { io::load_hf_directory(dir); });
  QVERIFY2(many.contains("config.json") && many.contains("1000000 blocks") && many.contains("nothing was built"),
           qPrintable(many));
  // Untied config without a head, broken JSON, a "pytorch_model.bin" that is not a torch.save file.
  j["state_size"] = 8;
  j["tie_word_embeddings"] = false;
  write(d.filePath("config.json").toStdString(), j.dump());
  QVERIFY(error_of([&] { io::load_hf_directory(dir); }).contains("lm_head.weight"));
  write(d.filePath("config.json").toStdString(), "{\"hidden_size\": ");
  QVERIFY(error_of([&] { io::load_hf_directory(dir); }).contains("not valid JSON"));
  io::save_hf_directory(m, dir);
  QFile::rename(d.filePath("model.safetensors"), d.filePath("pytorch_model.bin"));
  QVERIFY(error_of([&] { io::load_hf_directory(dir); }).contains("pytorch_model.bin"));
}

void TestHf::conversion_slices_positionally() {
  // D = 32, expand 2, head_dim 16 → full mixer: Di 64, H 4, N 8: in_proj 148 rows, conv 80 channels;
  // half mixer: Di 32, head_dim 8, H 4: in_proj 84 rows, conv 48 channels.
  auto cfg = tiny(model::Family::mamba2);
  cfg.tie_embeddings = false;
  torch::manual_seed(6);
  model::LanguageModel src(cfg);
  auto dst = io::convert_to_diffmamba(src, "alternate", 1);
  QCOMPARE(dst->config().family, model::Family::diffmamba2);
  torch::NoGradGuard ng;
  for (size_t i = 0; i < 4; ++i) {
    auto& d = dst->backbone->layers[i];
    auto& s = src->backbone->layers[i];
    QVERIFY(torch::equal(d->rms_norm->weight, s->rms_norm->weight));
    if (i % 2 == 1) {
      QCOMPARE(d->kind(), model::SubLayer::mamba2);
      QVERIFY(torch::equal(d->mixer->in_proj->weight, s->mixer->in_proj->weight));
      continue;
    }
    QCOMPARE(d->kind(), model::SubLayer::diffmamba2);
    QCOMPARE(d->lambda_init(), model::lambda_init(int64_t(i)));
    const auto& f = *s->mixer;
    const auto& m1 = *d->mixer_1;
    const auto& m2 = *d->mixer_2;
    QCOMPARE(f.in_proj->weight.size(0), int64_t(148));
    QCOMPARE(m1.in_proj->weight.size(0), int64_t(84));
    QVERIFY(torch::equal(m1.in_proj->weight, f.in_proj->weight.narrow(0, 0, 84)));
    QVERIFY(torch::equal(m2.in_proj->weight, f.in_proj->weight.narrow(0, 64, 84)));
    QVERIFY(torch::equal(m1.conv1d->weight, f.conv1d->weight.narrow(0, 0, 48)));
    QVERIFY(torch::equal(m2.conv1d->bias, f.conv1d->bias.narrow(0, 32, 48)));
    QVERIFY(torch::equal(m1.norm->weight, f.norm->weight.narrow(0, 0, 32)));
    QVERIFY(torch::equal(m2.out_proj->weight, f.out_proj->weight.narrow(1, 32, 32)));  // columns
    for (const auto* h : {&m1, &m2}) {
      QVERIFY(torch::equal(h->dt_bias, f.dt_bias));
      QVERIFY(torch::equal(h->A_log, f.A_log));
      QVERIFY(torch::equal(h->D, f.D));
    }
    QCOMPARE(d->subln->weight.min().item<double>(), 1.0);
    QVERIFY(d->lambda_q1.std().item<double>() > 0.5);  // fresh N(0, 1)
  }
  QVERIFY(torch::equal(dst->lm_head->weight, src->lm_head->weight));
  QVERIFY(torch::equal(dst->backbone->embeddings->weight, src->backbone->embeddings->weight));
  // Converting again with the same settings copies the differential blocks unchanged.
  auto again = io::convert_to_diffmamba(dst, "alternate", 2);
  QVERIFY(torch::equal(again->backbone->layers[2]->lambda_q1, dst->backbone->layers[2]->lambda_q1));
  // The converted model runs and saves/loads in the published Diff-Mamba2 layout.
  QTemporaryDir d;
  io::save_hf_directory(dst, d.path().toStdString());
  auto back = io::load_hf_directory(d.path().toStdString());
  auto ids = torch::randint(0, 40, {1, 10}, torch::kLong);
  dst->eval();
  back->eval();
  QVERIFY(torch::equal(dst->forward(ids), back->forward(ids)));
  QVERIFY(error_of([&] { io::convert_to_diffmamba(src, "every-other"); }).contains("diff_layers"));
}

void TestHf::torch_save_state_dicts() {
  const auto expected = io::read_safetensors(fixture("torch_save/state_dict.expected.safetensors"));
  for (const char* file : {"torch_save/state_dict.bin", "torch_save/plain_dict.bin"}) {
    const auto got = io::read_torch_state_dict(fixture(file));
    QCOMPARE(got.size(), expected.tensors.size());
    const std::vector<std::string> order = {"0.weight", "1.weight", "half", "bf16",  "int64",
                                            "view",     "scalar",   "param", "empty", "bool"};
    for (size_t i = 0; i < got.size(); ++i) {
      const auto& [name, t] = got[i];
      QCOMPARE(name, order[i]);  // the order the state dict was saved in
      QVERIFY2(expected.find(name) != nullptr, name.c_str());
      const auto& want = *expected.find(name);
      QVERIFY2(t.scalar_type() == want.scalar_type(), name.c_str());
      QVERIFY2(t.sizes() == want.sizes(), name.c_str());
      QVERIFY2(torch::equal(t, want), name.c_str());
    }
    // Tied weights were saved once and stay one storage; views keep their offset and strides.
    QCOMPARE(got[0].second.data_ptr(), got[1].second.data_ptr());
    const auto& view = got[5].second;
    QCOMPARE(view.strides().vec(), (std::vector<int64_t>{5, 1}));
    QCOMPARE(view.storage_offset(), int64_t{1});
  }
}

void TestHf::hostile_legacy_and_damaged_torch_files() {
  // A pickle that would call os.system: refused before anything runs.
  const auto evil = error_of([] { io::read_torch_state_dict(fixture("torch_save/evil.bin")); });
  QVERIFY2(evil.contains("system") && evil.contains("refusing"), qPrintable(evil));
  QVERIFY(error_of([] { io::read_torch_state_dict(fixture("torch_save/legacy.bin")); }).contains("legacy torch.save format"));
  QTemporaryDir d;
  const auto bytes = io::read_file(fixture("torch_save/state_dict.bin"));
  const auto cut = d.filePath("cut.bin").toStdString();
  for (size_t keep : {size_t{3}, size_t{200}, bytes.size() / 2, bytes.size() - 30}) {
    write(cut, bytes.substr(0, keep));
    const auto e = error_of([&] { io::read_torch_state_dict(cut); });
    QVERIFY2(e.contains("cut.bin"), qPrintable(QString("kept %1 bytes: '%2'").arg(keep).arg(e)));
  }
  QVERIFY(error_of([&] { io::read_torch_state_dict(d.filePath("missing.bin").toStdString()); }).contains("cannot open"));
  // A storage record shorter than its tensors need (flip the numel in data.pkl is hard; shrink instead):
  // a damaged pickle byte inside data.pkl gives an error naming data.pkl, never a crash.
  auto bad = bytes;
  const auto pkl = bad.find("collections");
  QVERIFY(pkl != std::string::npos);
  bad.replace(pkl, 11, "subprocess_");
  write(cut, bad);
  const auto e = error_of([&] { io::read_torch_state_dict(cut); });
  QVERIFY2(!e.isEmpty(), "a modified data.pkl must be refused");
}

void TestHf::reference_checkpoints_match_transformers() {
  // Written by transformers (Mamba2ForCausalLM) with its logits on fixed ids: a pytorch_model.bin with
  // HF names and a tied head on one storage; the same weights as a mamba_ssm checkpoint (its config
  // keys, `embedding` names, vocab 100 padded to 112); bf16 shards behind pytorch_model.bin.index.json.
  for (const char* dir : {"checkpoints/mamba2_tiny_bin", "checkpoints/mamba2_tiny_mamba_ssm",
                          "checkpoints/mamba2_tiny_sharded_bf16"}) {
    auto m = io::load_hf_directory(fixture(dir));
    m->eval();
    QCOMPARE(m->config().vocab_size, int64_t{112});
    const auto ref = io::read_safetensors(fixture(std::string(dir) + "/expected_logits.safetensors"));
    const auto ids = ref.find("ids")->unsqueeze(0);
    torch::NoGradGuard ng;
    const auto logits = m->forward(ids)[0];
    DM_COMPARE_REL(logits, *ref.find("logits"), 2e-5, dir);
    // Saved back in the HF layout (safetensors) and loaded again: identical.
    QTemporaryDir out;
    io::save_hf_directory(m, out.path().toStdString());
    auto back = io::load_hf_directory(out.path().toStdString());
    back->eval();
    QVERIFY(torch::equal(back->forward(ids)[0], logits));
  }
}

void TestHf::transformers5_config_floats() {
  auto j = io::parse_json_lenient(io::read_file(fixture("checkpoints/mamba2_tiny_bin/config.json")), "config.json");
  QVERIFY(j.at("time_step_limit")[1].is_object());  // {"__float__": "Infinity"} as transformers 5 writes it
  const auto c = io::model_config_from_hf(j, "config.json");
  QVERIFY(std::isinf(c.dt_limit_max));
  QCOMPARE(c.n_groups, int64_t{2});
  j["time_step_limit"][1] = {{"__float__", "banana"}};
  QVERIFY(error_of([&] { io::model_config_from_hf(j, "config.json"); }).contains("time_step_limit"));
  // Sizes are checked before anything divides by them (head_dim 0 was a SIGFPE in `logits`).
  for (const char* key : {"head_dim", "hidden_size", "expand", "num_heads", "num_hidden_layers"}) {
    auto bad = io::parse_json_lenient(io::read_file(fixture("checkpoints/mamba2_tiny_bin/config.json")), "config.json");
    bad[key] = 0;
    QVERIFY2(error_of([&] { io::model_config_from_hf(bad, "config.json"); }).contains(key), key);
  }
}


void TestHf::padded_batches_match_transformers() {
  // Left-padded batches as fine-tuning builds them, against transformers with the attention mask
  // (tests/data/make_fixtures.py padded_batches): a Mamba2ForCausalLM, and a Diff-Mamba2 whose
  // differential block is made of transformers' own Mamba2Mixers.
  for (const char* dir : {"checkpoints/mamba2_tiny_padded", "checkpoints/mamba2_tiny_diff_padded"}) {
    auto m = io::load_hf_directory(fixture(dir));
    m->eval();
    const auto ref = io::read_safetensors(fixture(std::string(dir) + "/expected_padded.safetensors"));
    const auto ids = *ref.find("ids"), mask = *ref.find("mask"), labels = *ref.find("labels");
    // collate builds the same batch from the two examples (pad id 0, -100 where the fixture has it).
    std::vector<jobs::Example> ex(static_cast<size_t>(ids.size(0)));
    std::vector<const jobs::Example*> ptrs;
    for (int64_t r = 0; r < ids.size(0); ++r) {
      const auto keep = mask[r].to(torch::kBool);
      const auto i = ids[r].masked_select(keep).contiguous(), l = labels[r].masked_select(keep).contiguous();
      ex[static_cast<size_t>(r)].ids.assign(i.data_ptr<int64_t>(), i.data_ptr<int64_t>() + i.numel());
      ex[static_cast<size_t>(r)].labels.assign(l.data_ptr<int64_t>(), l.data_ptr<int64_t>() + l.numel());
      ptrs.push_back(&ex[static_cast<size_t>(r)]);
    }
    const auto batch = jobs::collate(ptrs, 0);
    QVERIFY(torch::equal(batch.ids, ids));
    QVERIFY(torch::equal(batch.labels, labels));
    QVERIFY(torch::equal(batch.mask, mask));

    torch::NoGradGuard ng;
    const auto logits = m->head(m->hidden(ids, nullptr, nullptr, mask));
    DM_COMPARE_REL(logits, *ref.find("logits"), 2e-5, dir);
    // The fine-tuning loss (next-token, -100 ignored, padding masked) against transformers' loss.
    const double loss = jobs::batch_loss(m, batch).item<double>(), want = ref.find("loss")->item<double>();
    QVERIFY2(std::abs(loss - want) <= 1e-5 * want, qPrintable(QString("%1: loss %2, transformers %3").arg(dir).arg(loss).arg(want)));
    // Without the mask both sides agree too, and the mask really changes the loss.
    const auto l = ids.size(1);
    const double unmasked = m->loss(ids.narrow(1, 0, l - 1), labels.narrow(1, 1, l - 1)).item<double>();
    const double want_unmasked = ref.find("unmasked_loss")->item<double>();
    QVERIFY2(std::abs(unmasked - want_unmasked) <= 1e-5 * want_unmasked,
             qPrintable(QString("%1: unmasked loss %2, transformers %3").arg(dir).arg(unmasked).arg(want_unmasked)));
    QVERIFY(std::abs(unmasked - loss) > 1e-3);
    // With the mask, the padded row's real tokens see what they would see unpadded.
    const auto first = mask[1].nonzero()[0][0].item<int64_t>();
    const auto alone = m->forward(ids[1].narrow(0, first, l - first).unsqueeze(0))[0];
    DM_COMPARE_REL(logits[1].narrow(0, first, l - first), alone, 1e-5, "padded row vs the same tokens unpadded");
  }
}

void TestHf::mamba1_checkpoints_match_transformers() {
  // transformers' MambaForCausalLM (Mamba-1) as it saves itself (model.safetensors, config.json with
  // model_type "mamba", time_step_rank, a tied head): loaded, its logits against transformers', decoded
  // token by token, saved back in the HF layout and as our model file, and loaded again.
  const std::string dir = "checkpoints/mamba1_tiny";
  auto m = io::load_hf_directory(fixture(dir));
  m->eval();
  const auto& c = m->config();
  QCOMPARE(c.family, model::Family::mamba);
  QCOMPARE(c.d_state, int64_t{8});
  QCOMPARE(c.mamba1_mixer().rank(), int64_t{2});
  QVERIFY(m->backbone->layers[0]->mamba1);
  int64_t params = 0;
  for (const auto& p : m->parameters()) params += p.numel();
  QCOMPARE(static_cast<double>(params), c.parameter_count());  // the closed form, Mamba-1 blocks included
  const auto ref = io::read_safetensors(fixture(dir + "/expected_logits.safetensors"));
  const auto ids = ref.find("ids")->unsqueeze(0);
  torch::NoGradGuard ng;
  const auto logits = m->forward(ids)[0];
  DM_COMPARE_REL(logits, *ref.find("logits"), 1e-5, "Mamba-1 logits vs transformers");
  // Decoding: prefill 12 tokens, then one at a time, the full forward's logits.
  auto state = m->initial_state(1);
  auto h = m->hidden(ids.narrow(1, 0, 12), nullptr, &state);
  DM_COMPARE_REL(m->head(h.select(1, 11))[0], logits[11], 1e-5, "prefill");
  for (int64_t t = 12; t < ids.size(1); ++t)
    DM_COMPARE_REL(m->step(ids.select(1, t), state)[0], logits[t], 1e-5, "Mamba-1 decoding step");
  // The HF layout back, and our model file: identical logits.
  QTemporaryDir out;
  io::save_hf_directory(m, out.path().toStdString());
  const auto cfgText = io::read_file(out.filePath("config.json").toStdString());
  QVERIFY2(cfgText.find("\"mamba\"") != std::string::npos && cfgText.find("MambaForCausalLM") != std::string::npos,
           cfgText.c_str());
  auto back = io::load_hf_directory(out.path().toStdString());
  back->eval();
  QVERIFY(torch::equal(back->forward(ids)[0], logits));
  const auto file = out.filePath("m.safetensors").toStdString();
  io::save_model(m, file);
  auto ours = io::load_model(file);
  ours->eval();
  QCOMPARE(ours->config().family, model::Family::mamba);
  QVERIFY(torch::equal(ours->forward(ids)[0], logits));
  // Diff-Mamba on Mamba-1 in the HF layout ("diffmamba" keys, mixer_1 / mixer_2): saved and loaded back exactly.
  {
    auto dc = c;
    dc.family = model::Family::diffmamba;
    dc.diff_layers = "all";
    model::LanguageModel dm(dc);
    dm->eval();
    QTemporaryDir dd;
    io::save_hf_directory(dm, dd.path().toStdString());
    auto dback = io::load_hf_directory(dd.path().toStdString());
    dback->eval();
    QCOMPARE(dback->config().family, model::Family::diffmamba);
    QVERIFY(dback->named_parameters().contains("backbone.layers.1.mixer_2.x_proj.weight"));
    QVERIFY(torch::equal(dback->forward(ids), dm->forward(ids)));
  }
  // Mamba-1 is not converted to Diff-Mamba2 (that conversion is for Mamba2 checkpoints).
  QVERIFY(error_of([&] { io::convert_to_diffmamba(m, "alternate"); }).contains("only Mamba2"));
  // A config whose intermediate_size disagrees with expand · hidden_size is refused.
  auto j = io::parse_json_lenient(io::read_file(fixture(dir + "/config.json")), "config.json");
  j["intermediate_size"] = 100;
  QVERIFY(error_of([&] { io::model_config_from_hf(j, "config.json"); }).contains("intermediate_size"));
}

QTEST_APPLESS_MAIN(TestHf)
#include "tst_hf.moc"
