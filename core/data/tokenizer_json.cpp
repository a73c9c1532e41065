// BpeTokenizer::from_file / from_json: reads a Hugging Face tokenizer.json (ByteLevel BPE) and checks every
// part of it; errors name the file and the JSON path of what is wrong.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/common/error.h"
#include "core/data/byte_level.h"
#include "core/data/tokenizer_impl.h"
#include "core/io/atomic_file.h"

namespace dm::data {

using namespace byte_level;

namespace tokenizer_detail {
namespace {

std::string json_type_of(const nlohmann::json& v) { return v.type_name(); }

[[noreturn]] void fail_at(const std::string& source, const std::string& what) { throw FileError(source, what); }

}  // namespace

// Reading tokenizer.json: errors name the file and the JSON path of what is wrong.
struct JsonReader {
  const std::string& src;
  [[noreturn]] void fail(const std::string& what) const { fail_at(src, what); }
  bool get_bool(const nlohmann::json& obj, const char* key, bool def, const std::string& where) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return def;
    if (!it->is_boolean()) fail(where + "." + key + " must be true or false, found " + it->dump());
    return it->get<bool>();
  }
  // The "type" of a component object.
  std::string type_of(const nlohmann::json& obj, const std::string& where) const {
    if (!obj.is_object()) fail(where + " must be an object or null, found " + json_type_of(obj));
    auto it = obj.find("type");
    if (it == obj.end() || !it->is_string()) fail(where + " has no \"type\" string");
    return it->get<std::string>();
  }
};

// An entry of added_tokens as the file gives it.
struct AddedIn {
  std::string content;
  int64_t id;
  bool special, normalized;
};

constexpr int64_t kMaxId = (int64_t{1} << 26);

}  // namespace tokenizer_detail

using tokenizer_detail::AddedIn;
using tokenizer_detail::json_type_of;
using tokenizer_detail::JsonReader;
using tokenizer_detail::kMaxId;
using tokenizer_detail::pair_key;

BpeTokenizer BpeTokenizer::from_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw FileError(path, "tokenizer file does not exist");
  if (std::filesystem::is_directory(path, ec)) throw FileError(path, "is a folder, expected a tokenizer.json file");
  const std::string text = io::read_file(path);  // regular files only: a FIFO is refused, never waited on
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw FileError(path, std::string("invalid JSON in tokenizer file (truncated or damaged?): ") + e.what());
  }
  return from_json(j, path);
}

BpeTokenizer BpeTokenizer::from_json(const nlohmann::json& j, const std::string& src) {
  const JsonReader r{src};
  if (!j.is_object()) r.fail("tokenizer.json must be a JSON object, found " + json_type_of(j));
  BpeTokenizer tok;
  Impl& t = *tok.impl_;
  t.source = src;
  t.read_components(j, r);
  auto mit = j.find("model");
  if (mit == j.end() || !mit->is_object()) r.fail("\"model\" object is missing");
  t.read_model_options(*mit, r);
  int64_t max_id = t.read_vocab(*mit, r);
  // Added tokens: their ids come from the file and must agree with model.vocab.
  const auto added_in = t.read_added_tokens(j, r, max_id);
  t.build_id_tables(added_in, max_id, r);
  t.build_added_tries(added_in, r);
  t.read_unk_and_bytes(*mit, r);
  t.read_merges(*mit, r);
  t.build_id_bytes(r);
  return tok;
}

void BpeTokenizer::Impl::read_components(const nlohmann::json& j, const JsonReader& r) {
  // normalizer
  if (auto it = j.find("normalizer"); it != j.end() && !it->is_null()) {
    const std::string ty = r.type_of(*it, "normalizer");
    if (ty != "NFC") r.fail("normalizer type \"" + ty + "\" is not supported (only NFC or null)");
    nfc = true;
  }

  // pre-tokenizer
  {
    auto it = j.find("pre_tokenizer");
    if (it == j.end() || it->is_null()) r.fail("pre_tokenizer is missing; only ByteLevel is supported");
    const std::string ty = r.type_of(*it, "pre_tokenizer");
    if (ty != "ByteLevel") r.fail("pre_tokenizer type \"" + ty + "\" is not supported (only ByteLevel)");
    add_prefix_space = r.get_bool(*it, "add_prefix_space", true, "pre_tokenizer");
    use_regex = r.get_bool(*it, "use_regex", true, "pre_tokenizer");
  }

  // decoder (null is decoded as ByteLevel too)
  if (auto it = j.find("decoder"); it != j.end() && !it->is_null()) {
    const std::string ty = r.type_of(*it, "decoder");
    if (ty != "ByteLevel") r.fail("decoder type \"" + ty + "\" is not supported (only ByteLevel or null)");
  }
}

void BpeTokenizer::Impl::read_model_options(const nlohmann::json& model, const JsonReader& r) {
  {
    auto ty = model.find("type");
    if (ty != model.end()) {
      if (!ty->is_string()) r.fail("model.type must be a string");
      if (ty->get<std::string>() != "BPE")
        r.fail("model type \"" + ty->get<std::string>() + "\" is not supported (only BPE)");
    } else if (!model.contains("merges")) {
      r.fail("model has no \"type\" and no \"merges\": not a BPE model");
    }
  }
  if (auto d = model.find("dropout"); d != model.end() && !d->is_null()) {
    if (!d->is_number()) r.fail("model.dropout must be a number or null");
    if (d->get<double>() != 0.0) r.fail("model.dropout " + d->dump() + " is not supported (only null or 0)");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    auto v = model.find(key);
    if (v != model.end() && !v->is_null() && !(v->is_string() && v->get<std::string>().empty()))
      r.fail(std::string("model.") + key + " " + v->dump() + " is not supported (only null)");
  }
  if (r.get_bool(model, "byte_fallback", false, "model"))
    r.fail("model.byte_fallback true is not supported with a ByteLevel pre-tokenizer");
  fuse_unk = r.get_bool(model, "fuse_unk", false, "model");
  ignore_merges = r.get_bool(model, "ignore_merges", false, "model");
}

int64_t BpeTokenizer::Impl::read_vocab(const nlohmann::json& model, const JsonReader& r) {
  auto vit = model.find("vocab");
  if (vit == model.end() || !vit->is_object()) r.fail("model.vocab must be an object token → id");
  int64_t max_id = -1;
  vocab.reserve(vit->size() * 2);
  for (auto it = vit->begin(); it != vit->end(); ++it) {
    if (!it.value().is_number_integer())
      r.fail("model.vocab[\"" + it.key() + "\"] must be an integer id, found " + it.value().dump());
    const int64_t id = it.value().get<int64_t>();
    if (id < 0 || id >= kMaxId)
      r.fail("model.vocab[\"" + it.key() + "\"] = " + std::to_string(id) + " is out of range [0, 2^26)");
    vocab[it.key()] = static_cast<int32_t>(id);
    max_id = std::max(max_id, id);
  }
  return max_id;
}

std::vector<AddedIn> BpeTokenizer::Impl::read_added_tokens(const nlohmann::json& j, const JsonReader& r,
                                                           int64_t& max_id) const {
  using nlohmann::json;
  std::vector<AddedIn> added_in;
  if (auto ait = j.find("added_tokens"); ait != j.end() && !ait->is_null()) {
    if (!ait->is_array()) r.fail("added_tokens must be an array");
    for (size_t k = 0; k < ait->size(); ++k) {
      const json& e = (*ait)[k];
      const std::string where = "added_tokens[" + std::to_string(k) + "]";
      if (!e.is_object()) r.fail(where + " must be an object");
      auto id = e.find("id");
      auto content = e.find("content");
      if (id == e.end() || !id->is_number_integer()) r.fail(where + " has no integer \"id\"");
      if (content == e.end() || !content->is_string()) r.fail(where + " has no string \"content\"");
      AddedIn a;
      a.content = content->get<std::string>();
      a.id = id->get<int64_t>();
      if (a.id < 0 || a.id >= kMaxId) r.fail(where + ".id " + std::to_string(a.id) + " is out of range [0, 2^26)");
      if (a.content.empty()) r.fail(where + " has empty content");
      a.special = r.get_bool(e, "special", false, where);
      a.normalized = r.get_bool(e, "normalized", !a.special, where);
      for (const char* key : {"single_word", "lstrip", "rstrip"})
        if (r.get_bool(e, key, false, where))
          r.fail(where + " (\"" + a.content + "\"): " + key + " = true is not supported");
      if (auto v = vocab.find(a.content); v != vocab.end() && v->second != a.id)
        r.fail(where + " \"" + a.content + "\" has id " + std::to_string(a.id) + " but model.vocab gives it id " +
               std::to_string(v->second));
      max_id = std::max(max_id, a.id);
      added_in.push_back(std::move(a));
    }
  }
  return added_in;
}

void BpeTokenizer::Impl::build_id_tables(const std::vector<AddedIn>& added_in, int64_t max_id, const JsonReader& r) {
  size = max_id + 1;
  id_token.assign(static_cast<size_t>(size), std::string());
  id_kind.assign(static_cast<size_t>(size), 0);
  for (const auto& [token, id] : vocab) {
    if (id_kind[id])
      r.fail("model.vocab: id " + std::to_string(id) + " is used by both \"" + id_token[id] + "\" and \"" + token +
             "\"");
    id_kind[id] = 1;
    id_token[id] = token;
  }
  for (const auto& a : added_in) {
    const auto id = static_cast<size_t>(a.id);
    if (id_kind[id] >= 2) r.fail("added_tokens: id " + std::to_string(a.id) + " is used twice");
    if (id_kind[id] == 1 && id_token[id] != a.content)
      r.fail("added token \"" + a.content + "\" has id " + std::to_string(a.id) + ", which model.vocab gives to \"" +
             id_token[id] + "\"");
    id_kind[id] = a.special ? 3 : 2;
    id_token[id] = a.content;
  }
}

void BpeTokenizer::Impl::build_added_tries(const std::vector<AddedIn>& added_in, const JsonReader& r) {
  // Unnormalised contents on raw text, normalised (NFC'd) contents on normalised text. When a
  // content appears twice the first entry wins (the trie is filled in reverse order).
  for (const auto& a : added_in) {
    try {
      validate_utf8(a.content, "content");
    } catch (const Error&) {
      r.fail("added token with id " + std::to_string(a.id) + " is not valid UTF-8");
    }
    added.push_back({a.content, static_cast<int32_t>(a.id), a.special, a.normalized});
    added_ids.emplace(a.content, static_cast<int32_t>(a.id));
  }
  for (size_t k = added.size(); k-- > 0;) {
    const auto& a = added[k];
    if (a.normalized) {
      std::string c;
      if (nfc)
        nfc_into(a.content, c);
      else
        c = a.content;
      norm_trie.add(c, static_cast<int32_t>(k));
    } else {
      raw_trie.add(a.content, static_cast<int32_t>(k));
    }
  }
}

void BpeTokenizer::Impl::read_unk_and_bytes(const nlohmann::json& model, const JsonReader& r) {
  if (auto u = model.find("unk_token"); u != model.end() && !u->is_null()) {
    if (!u->is_string()) r.fail("model.unk_token must be a string or null");
    auto v = vocab.find(u->get<std::string>());
    if (v == vocab.end()) r.fail("model.unk_token \"" + u->get<std::string>() + "\" is not in model.vocab");
    unk_id = v->second;
  }

  // byte → id
  const ByteTable& bt = byte_table();
  for (int b = 0; b < 256; ++b) {
    auto v = vocab.find(bt.to_utf8[b]);
    byte_id[b] = v == vocab.end() ? -1 : v->second;
  }
}

void BpeTokenizer::Impl::read_merges(const nlohmann::json& model, const JsonReader& r) {
  using nlohmann::json;
  auto mg = model.find("merges");
  if (mg == model.end() || !mg->is_array()) r.fail("model.merges must be an array");
  merges.reserve(mg->size() * 2);
  for (size_t rank = 0; rank < mg->size(); ++rank) {
    const json& e = (*mg)[rank];
    const std::string where = "model.merges[" + std::to_string(rank) + "]";
    std::string a, b;
    if (e.is_string()) {
      const std::string line = e.get<std::string>();
      std::vector<size_t> spaces;
      for (size_t p = 0; p < line.size(); ++p)
        if (line[p] == ' ') spaces.push_back(p);
      if (spaces.empty()) r.fail(where + " \"" + line + "\" is not of the form \"a b\"");
      if (spaces.size() == 1) {
        a = line.substr(0, spaces[0]);
        b = line.substr(spaces[0] + 1);
      } else {  // resolve against the vocabulary
        int found = 0;
        for (size_t p : spaces) {
          std::string x = line.substr(0, p), y = line.substr(p + 1);
          if (vocab.count(x) && vocab.count(y) && vocab.count(x + y)) {
            a = x;
            b = y;
            ++found;
          }
        }
        if (found != 1)
          r.fail(where + " \"" + line + "\" is ambiguous: " + std::to_string(found) +
                 " ways to split it into two vocabulary tokens");
      }
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      a = e[0].get<std::string>();
      b = e[1].get<std::string>();
    } else {
      r.fail(where + " must be a string \"a b\" or a pair [\"a\", \"b\"], found " + e.dump());
    }
    auto ia = vocab.find(a), ib = vocab.find(b);
    if (ia == vocab.end()) r.fail(where + " (\"" + a + "\", \"" + b + "\"): token \"" + a + "\" is not in model.vocab");
    if (ib == vocab.end()) r.fail(where + " (\"" + a + "\", \"" + b + "\"): token \"" + b + "\" is not in model.vocab");
    auto iab = vocab.find(a + b);
    if (iab == vocab.end())
      r.fail(where + " (\"" + a + "\", \"" + b + "\"): merged token \"" + a + b + "\" is not in model.vocab");
    // A repeated pair takes the later rank, as the reference's map does.
    merges[pair_key(ia->second, ib->second)] = {static_cast<int32_t>(rank), iab->second};
  }
}

// Decoded bytes per id (spec §4.7 step 2): the ByteLevel table's bytes, or the token text itself.
void BpeTokenizer::Impl::build_id_bytes(const JsonReader& r) {
  const ByteTable& bt = byte_table();
  id_bytes.assign(static_cast<size_t>(size), std::string());
  for (int64_t id = 0; id < size; ++id) {
    if (!id_kind[id]) continue;
    const std::string& tokstr = id_token[id];
    const auto* s = reinterpret_cast<const unsigned char*>(tokstr.data());
    std::string bytes;
    bool all = true;
    size_t i = 0, len = 0;
    try {
      validate_utf8(tokstr, "token");
    } catch (const Error&) {
      r.fail("token with id " + std::to_string(id) + " is not valid UTF-8");
    }
    while (i < tokstr.size()) {
      const char32_t c = decode_at(s, i, len);
      auto f = bt.to_byte.find(c);
      if (f == bt.to_byte.end()) {
        all = false;
        break;
      }
      bytes.push_back(static_cast<char>(f->second));
      i += len;
    }
    id_bytes[id] = all ? std::move(bytes) : tokstr;
  }
}

}  // namespace dm::data
