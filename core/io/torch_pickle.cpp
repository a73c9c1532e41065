#include "core/io/torch_pickle.h"

#include <caffe2/serialize/inline_container.h>
#include <cstring>
#include <map>
#include <memory>
#include <torch/torch.h>
#include <unordered_map>

#include "core/common/error.h"
#include "core/io/mapped_file.h"

namespace dm::io {
namespace {

// One Python value of the pickle machine. Shared, because the memo and the stack alias objects that
// later opcodes mutate (SETITEMS on a memoised dict).
struct Obj;
using Ref = std::shared_ptr<Obj>;
struct Obj {
  enum class Kind { None, Bool, Int, Float, Str, Tuple, List, Dict, Global, Storage, Tensor, Mark } kind;
  int64_t i = 0;
  double f = 0;
  std::string s;                        // Str; Global: "module.name"; Storage: record key
  std::vector<Ref> items;               // Tuple, List
  std::vector<std::pair<Ref, Ref>> kv;  // Dict, in insertion order
  size_t depth = 0;                     // containers: how deep the values they hold nest
  torch::ScalarType dtype = torch::kFloat;
  torch::Tensor tensor;  // Tensor; Storage: its 1-D data once loaded
};

// Limits of the unpickler. Every object it creates is charged to a budget proportional to data.pkl
// (a state dict needs a few hundred bytes of objects per tensor; a pickle that builds far more than its
// own size in objects is not one), and containers nest at most kMaxDepth deep (a state dict needs 4).
constexpr size_t kMaxDepth = 100;
constexpr size_t kObjBytes = sizeof(Obj) + 32;  // the object and its shared_ptr control block
constexpr size_t kMaxPickleBytes = size_t{64} << 20;  // a state dict of 100,000 tensors pickles to ~15 MB
size_t budget_for(size_t pickle_bytes) { return (size_t{64} << 20) + 32 * pickle_bytes; }

const char* kind_name(Obj::Kind k) {
  switch (k) {
    case Obj::Kind::None: return "None";
    case Obj::Kind::Bool: return "bool";
    case Obj::Kind::Int: return "int";
    case Obj::Kind::Float: return "float";
    case Obj::Kind::Str: return "str";
    case Obj::Kind::Tuple: return "tuple";
    case Obj::Kind::List: return "list";
    case Obj::Kind::Dict: return "dict";
    case Obj::Kind::Global: return "class or function";
    case Obj::Kind::Storage: return "storage";
    case Obj::Kind::Tensor: return "tensor";
    case Obj::Kind::Mark: return "mark";
  }
  return "?";
}

// torch.<X>Storage → dtype; the only classes a persistent id may name.
const std::map<std::string, torch::ScalarType>& storage_classes() {
  static const std::map<std::string, torch::ScalarType> m = {
      {"torch.DoubleStorage", torch::kDouble}, {"torch.FloatStorage", torch::kFloat},
      {"torch.HalfStorage", torch::kHalf},     {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kLong},     {"torch.IntStorage", torch::kInt},
      {"torch.ShortStorage", torch::kShort},   {"torch.CharStorage", torch::kChar},
      {"torch.ByteStorage", torch::kByte},     {"torch.BoolStorage", torch::kBool}};
  return m;
}

bool allowed_function(const std::string& g) {
  return g == "collections.OrderedDict" || g == "torch._utils._rebuild_tensor_v2" ||
         g == "torch._utils._rebuild_tensor" || g == "torch._utils._rebuild_parameter" ||
         g == "torch._utils._rebuild_parameter_with_state";
}

class Unpickler {
 public:
  Unpickler(std::string_view code, std::string origin, std::function<torch::Tensor(const Obj&)> load_storage)
      : code_(code), origin_(std::move(origin)), load_storage_(std::move(load_storage)), budget_(budget_for(code.size())) {}
  // Objects are freed without recursion, however deep the pickle nested them (a chain of 200,000 tuples
  // would otherwise overflow the call stack in shared_ptr destructors), and cycles made through the memo
  // are broken: every object is held by the arena, its links are cut, then the arena is released.
  ~Unpickler() {
    stack_.clear();
    memo_.clear();
    storages_.clear();
    for (auto& o : arena_) {
      o->items.clear();
      o->kv.clear();
    }
    arena_.clear();
  }
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;

  Ref run() {
    for (;;) {
      const auto at = pos_;
      const auto op = static_cast<uint8_t>(bytes(1)[0]);
      switch (op) {
        case 0x80: bytes(1); break;          // PROTO
        case 0x95: bytes(8); break;          // FRAME (protocol 4)
        case '.': {                          // STOP
          auto v = pop(at);
          if (!stack_.empty()) fail(at, "the pickle leaves extra values on the stack");
          return v;
        }
        case '(': push(make(Obj::Kind::Mark, at)); break;
        case 'N': push(make(Obj::Kind::None, at)); break;
        case 0x88: case 0x89: {  // NEWTRUE, NEWFALSE
          auto b = make(Obj::Kind::Bool, at);
          b->i = op == 0x88;
          push(b);
          break;
        }
        case 'K': push(integer(static_cast<uint8_t>(bytes(1)[0]), at)); break;  // BININT1
        case 'M': push(integer(static_cast<int64_t>(le(2)), at)); break;        // BININT2
        case 'J': push(integer(static_cast<int32_t>(le(4)), at)); break;        // BININT
        case 0x8a: {                                                        // LONG1
          const auto n = static_cast<uint8_t>(bytes(1)[0]);
          if (n > 8) fail(at, "an integer of " + std::to_string(n) + " bytes is too large");
          uint64_t v = n ? le(n) : 0;
          if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign-extend
          push(integer(static_cast<int64_t>(v), at));
          break;
        }
        case 'G': {  // BINFLOAT, big-endian
          uint64_t v = 0;
          for (char c : bytes(8)) v = (v << 8) | static_cast<uint8_t>(c);
          auto o = make(Obj::Kind::Float, at);
          std::memcpy(&o->f, &v, 8);
          push(o);
          break;
        }
        case 'X': push(str(bytes(le(4)), at)); break;                     // BINUNICODE
        case 0x8c: push(str(bytes(static_cast<uint8_t>(bytes(1)[0])), at)); break;  // SHORT_BINUNICODE
        case 0x8d: push(str(bytes(le(8)), at)); break;                    // BINUNICODE8
        case 'T': push(str(bytes(le(4)), at)); break;                     // BINSTRING
        case 'U': push(str(bytes(static_cast<uint8_t>(bytes(1)[0])), at)); break;  // SHORT_BINSTRING
        case 'B': push(str(bytes(le(4)), at)); break;                     // BINBYTES
        case 'C': push(str(bytes(static_cast<uint8_t>(bytes(1)[0])), at)); break;  // SHORT_BINBYTES
        case ')': push(make(Obj::Kind::Tuple, at)); break;
        case ']': push(make(Obj::Kind::List, at)); break;
        case '}': push(make(Obj::Kind::Dict, at)); break;
        case 't': {
          auto t = make(Obj::Kind::Tuple, at);
          t->items = pop_to_mark(at);
          contain(*t, t->items, at);
          push(t);
          break;
        }
        case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
          auto t = make(Obj::Kind::Tuple, at);
          t->items.resize(static_cast<size_t>(op - 0x84));
          for (auto it = t->items.rbegin(); it != t->items.rend(); ++it) *it = pop(at);
          contain(*t, t->items, at);
          push(t);
          break;
        }
        case 'c': {  // GLOBAL "module\nname\n"
          auto module = line(at), name = line(at);
          push(global(module + "." + name, at));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          auto name = pop(at), module = pop(at);
          if (name->kind != Obj::Kind::Str || module->kind != Obj::Kind::Str) fail(at, "STACK_GLOBAL needs two strings");
          push(global(module->s + "." + name->s, at));
          break;
        }
        case 'q': memo_[static_cast<uint8_t>(bytes(1)[0])] = top(at); break;  // BINPUT
        case 'r': memo_[le(4)] = top(at); break;                              // LONG_BINPUT
        case 0x94: memo_[memo_.size()] = top(at); break;                       // MEMOIZE
        case 'h': push(memo(static_cast<uint8_t>(bytes(1)[0]), at)); break;   // BINGET
        case 'j': push(memo(le(4), at)); break;                                // LONG_BINGET
        case 'Q': push(persistent(pop(at), at)); break;                        // BINPERSID
        case 'R': {                                                            // REDUCE
          auto args = pop(at), fn = pop(at);
          push(reduce(*fn, *args, at));
          break;
        }
        case 'b': {  // BUILD: object state (OrderedDict's _metadata, a parameter's __dict__) is not needed
          pop(at);
          const auto& obj = top(at);
          if (obj->kind != Obj::Kind::Dict && obj->kind != Obj::Kind::Tensor)
            fail(at, std::string("BUILD on a ") + kind_name(obj->kind));
          break;
        }
        case 's': {  // SETITEM
          auto v = pop(at), k = pop(at);
          auto d = as(top(at), Obj::Kind::Dict, at);
          contain(*d, {k, v}, at);
          d->kv.emplace_back(k, v);
          break;
        }
        case 'u': {  // SETITEMS
          auto items = pop_to_mark(at);
          if (items.size() % 2) fail(at, "SETITEMS with an odd number of values");
          auto d = as(top(at), Obj::Kind::Dict, at);
          contain(*d, items, at);
          for (size_t i = 0; i < items.size(); i += 2) d->kv.emplace_back(items[i], items[i + 1]);
          break;
        }
        case 'a': {  // APPEND
          auto v = pop(at);
          auto l = as(top(at), Obj::Kind::List, at);
          contain(*l, {v}, at);
          l->items.push_back(v);
          break;
        }
        case 'e': {  // APPENDS
          auto items = pop_to_mark(at);
          auto l = as(top(at), Obj::Kind::List, at);
          contain(*l, items, at);
          l->items.insert(l->items.end(), items.begin(), items.end());
          break;
        }
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", op);
          fail(at, std::string("pickle opcode ") + hex + " is not used by state dicts; refusing to interpret it");
        }
      }
    }
  }

 private:
  [[noreturn]] void fail(size_t at, const std::string& what) const {
    throw FileError(origin_, "data.pkl byte " + std::to_string(at) + ": " + what);
  }
  std::string_view bytes(uint64_t n) {
    if (n > code_.size() - pos_) fail(pos_, "truncated pickle (the archive is damaged)");
    auto v = code_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  uint64_t le(int n) {
    uint64_t v = 0;
    auto b = bytes(static_cast<uint64_t>(n));
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | static_cast<uint8_t>(b[static_cast<size_t>(k)]);
    return v;
  }
  std::string line(size_t at) {
    const auto nl = code_.find('\n', pos_);
    if (nl == std::string_view::npos) fail(at, "truncated GLOBAL");
    std::string s(code_.substr(pos_, nl - pos_));
    pos_ = nl + 1;
    return s;
  }
  // Every object is made here: charged to the budget and held by the arena (see the destructor).
  Ref make(Obj::Kind k, size_t at, size_t extra_bytes = 0) {
    charge(kObjBytes + extra_bytes, at);
    auto o = std::make_shared<Obj>();
    o->kind = k;
    arena_.push_back(o);
    return o;
  }
  void charge(size_t bytes, size_t at) {
    if (bytes > budget_ - used_)
      fail(at, "the pickle builds more than " + std::to_string(budget_ >> 20) + " MiB of objects from " +
                   std::to_string(code_.size()) + " bytes; a state dict never does (refusing a memory bomb)");
    used_ += bytes;
  }
  // `c` gains `children`: charged, and its nesting depth is kept (a state dict nests 4 deep).
  void contain(Obj& c, std::initializer_list<Ref> children, size_t at) { contain(c, std::vector<Ref>(children), at); }
  void contain(Obj& c, const std::vector<Ref>& children, size_t at) {
    charge(children.size() * sizeof(Ref), at);
    for (const auto& x : children) c.depth = std::max(c.depth, x->depth + 1);
    if (c.depth > kMaxDepth)
      fail(at, "containers nest more than " + std::to_string(kMaxDepth) + " deep; a state dict nests 4 (refused)");
  }
  Ref integer(int64_t v, size_t at) {
    auto o = make(Obj::Kind::Int, at);
    o->i = v;
    return o;
  }
  Ref str(std::string_view v, size_t at) {
    auto o = make(Obj::Kind::Str, at, v.size());
    o->s = std::string(v);
    return o;
  }
  Ref global(const std::string& name, size_t at) {
    if (!allowed_function(name) && !storage_classes().count(name))
      fail(at, "refers to the Python object '" + name + "', which a state dict does not contain; refusing to run it");
    auto g = make(Obj::Kind::Global, at);
    g->s = name;
    return g;
  }
  void push(Ref r) { stack_.push_back(std::move(r)); }
  Ref pop(size_t at) {
    if (stack_.empty() || stack_.back()->kind == Obj::Kind::Mark) fail(at, "stack underflow");
    auto r = std::move(stack_.back());
    stack_.pop_back();
    return r;
  }
  const Ref& top(size_t at) {
    if (stack_.empty() || stack_.back()->kind == Obj::Kind::Mark) fail(at, "stack underflow");
    return stack_.back();
  }
  std::vector<Ref> pop_to_mark(size_t at) {
    size_t m = stack_.size();
    while (m > 0 && stack_[m - 1]->kind != Obj::Kind::Mark) --m;
    if (m == 0) fail(at, "no MARK on the stack");
    std::vector<Ref> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m - 1);
    return items;
  }
  Ref memo(uint64_t k, size_t at) {
    auto it = memo_.find(k);
    if (it == memo_.end()) fail(at, "memo entry " + std::to_string(k) + " was never stored");
    return it->second;
  }
  Obj* as(const Ref& r, Obj::Kind k, size_t at) {
    if (r->kind != k) fail(at, std::string("expected a ") + kind_name(k) + ", found a " + kind_name(r->kind));
    return r.get();
  }
  std::vector<int64_t> ints(const Ref& r, size_t at) {
    as(r, Obj::Kind::Tuple, at);
    std::vector<int64_t> v;
    for (const auto& x : r->items) {
      if (x->kind != Obj::Kind::Int || x->i < 0) fail(at, "a tensor size or stride is not a non-negative integer");
      v.push_back(x->i);
    }
    return v;
  }

  // ('storage', torch.XStorage, key, location, numel)
  Ref persistent(const Ref& pid, size_t at) {
    as(pid, Obj::Kind::Tuple, at);
    const auto& it = pid->items;
    if (it.size() != 5 || it[0]->kind != Obj::Kind::Str || it[0]->s != "storage" || it[1]->kind != Obj::Kind::Global ||
        it[2]->kind != Obj::Kind::Str || it[4]->kind != Obj::Kind::Int || it[4]->i < 0)
      fail(at, "a persistent id is not ('storage', class, key, location, numel)");
    const auto cls = storage_classes().find(it[1]->s);
    if (cls == storage_classes().end()) fail(at, "'" + it[1]->s + "' is not a storage class");
    auto& s = storages_[it[2]->s];
    if (!s) {
      s = make(Obj::Kind::Storage, at);
      s->s = it[2]->s;
      s->dtype = cls->second;
      s->i = it[4]->i;
      s->tensor = load_storage_(*s);
    } else if (s->dtype != cls->second) {
      fail(at, "storage '" + s->s + "' is used with two dtypes");
    }
    return s;
  }

  Ref reduce(const Obj& fn, const Obj& args, size_t at) {
    if (fn.kind != Obj::Kind::Global || args.kind != Obj::Kind::Tuple)
      fail(at, "REDUCE needs a function and an argument tuple");
    const auto& a = args.items;
    if (fn.s == "collections.OrderedDict") {
      if (!a.empty()) fail(at, "OrderedDict with arguments");
      return make(Obj::Kind::Dict, at);
    }
    if (fn.s == "torch._utils._rebuild_tensor_v2" || fn.s == "torch._utils._rebuild_tensor") {
      if (a.size() < 4 || a[0]->kind != Obj::Kind::Storage || a[1]->kind != Obj::Kind::Int)
        fail(at, "_rebuild_tensor with unexpected arguments");
      const auto& st = *a[0];
      const auto size = ints(a[2], at), stride = ints(a[3], at);
      if (size.size() != stride.size()) fail(at, "tensor size and stride differ in length");
      // The offset of the last element must lie inside the storage; computed with overflow checks (sizes
      // and strides near 2^63 would otherwise wrap around to an offset that looks valid).
      int64_t last = a[1]->i;
      bool empty = false, overflow = false;
      for (size_t d = 0; d < size.size(); ++d) {
        empty |= size[d] == 0;
        int64_t step = 0;
        overflow |= size[d] > 0 && (__builtin_mul_overflow(size[d] - 1, stride[d], &step) ||
                                    __builtin_add_overflow(last, step, &last));
      }
      if (size.size() > 64) fail(at, "a tensor with " + std::to_string(size.size()) + " dimensions");
      if (!empty && overflow) fail(at, "a tensor's sizes and strides overflow a 64-bit offset");
      if (!empty && (a[1]->i < 0 || last >= st.i))
        fail(at, "a tensor reaches element " + std::to_string(last) + " of storage '" + st.s + "', which has " +
                     std::to_string(st.i));
      auto t = make(Obj::Kind::Tensor, at);
      t->tensor = empty ? torch::empty(size, torch::TensorOptions().dtype(st.dtype))
                        : st.tensor.as_strided(size, stride, a[1]->i);
      return t;
    }
    if (fn.s == "torch._utils._rebuild_parameter" || fn.s == "torch._utils._rebuild_parameter_with_state") {
      if (a.empty() || a[0]->kind != Obj::Kind::Tensor) fail(at, "_rebuild_parameter without a tensor");
      return a[0];
    }
    fail(at, "'" + fn.s + "' cannot be called");
  }

  std::string_view code_;
  std::string origin_;
  std::function<torch::Tensor(const Obj&)> load_storage_;
  size_t pos_ = 0;
  size_t budget_, used_ = 0;
  std::vector<Ref> arena_;
  std::vector<Ref> stack_;
  std::unordered_map<uint64_t, Ref> memo_;
  std::map<std::string, Ref> storages_;
};

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// Whether the zip entry `name` is stored uncompressed (method 0 in its local header; bytes 8-9).
bool stored_entry(const MappedFile& file, caffe2::serialize::PyTorchStreamReader& reader, const std::string& name) {
  const auto at = reader.getRecordHeaderOffset(name);
  const auto b = file.bytes();
  if (at > b.size() || b.size() - at < 30) throw FileError(file.path(), "zip entry '" + name + "' lies past the end");
  return static_cast<uint8_t>(b[at + 8]) == 0 && static_cast<uint8_t>(b[at + 9]) == 0;
}

}  // namespace

NamedTensors read_torch_state_dict(const std::string& path) {
  const auto file = MappedFile::open(path);
  const auto head = file->bytes().substr(0, 4);
  if (head.size() >= 2 && static_cast<uint8_t>(head[0]) == 0x80)
    throw FileError(path, "is in the legacy torch.save format (PyTorch < 1.6 or _use_new_zipfile_serialization=False); "
                          "re-save it with a current torch.save or as safetensors");
  if (head != std::string_view("PK\x03\x04", 4))
    throw FileError(path, head.size() < 4 ? "truncated: not a torch.save archive" : "not a torch.save (zip) archive");
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  std::string pickle;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
    if (reader->hasRecord("byteorder")) {
      auto [ptr, n] = reader->getRecord("byteorder");
      const std::string order(static_cast<const char*>(ptr.get()), n);
      if (order != "little") throw FileError(path, "stores " + order + "-endian data; only little-endian is supported");
    }
    if (!reader->hasRecord("data.pkl")) throw FileError(path, "has no data.pkl: not a torch.save archive");
    // Its declared size is checked before the reader allocates it: a zip bomb (a small compressed entry that
    // claims gigabytes) is refused instead of inflated.
    const auto declared = reader->getRecordSize("data.pkl");
    if (declared > kMaxPickleBytes || (stored_entry(*file, *reader, "data.pkl") && declared > file->bytes().size()))
      throw FileError(path, "data.pkl claims " + std::to_string(declared) + " bytes in a file of " +
                                std::to_string(file->bytes().size()) + " (at most " +
                                std::to_string(kMaxPickleBytes >> 20) + " MiB, and never more than the file " +
                                "when stored); refusing a damaged or hostile archive");
    auto [ptr, n] = reader->getRecord("data.pkl");
    pickle.assign(static_cast<const char*>(ptr.get()), n);
  } catch (const c10::Error& e) {
    throw FileError(path, "damaged torch.save archive: " + first_line(e.what_without_backtrace()));
  }
  auto load_storage = [&](const Obj& s) -> torch::Tensor {
    const std::string rec = "data/" + s.s;
    try {
      if (!reader->hasRecord(rec)) throw FileError(path, "the archive has no record '" + rec + "'");
      const auto esize = c10::elementSize(s.dtype);
      const auto have = reader->getRecordSize(rec);
      if (static_cast<uint64_t>(s.i) > file->bytes().size() / esize)
        throw FileError(path, "storage '" + s.s + "' claims " + std::to_string(s.i) + " elements, more than the " +
                                  std::to_string(file->bytes().size()) + "-byte file holds");
      const auto need = static_cast<size_t>(s.i) * esize;
      // Storages are mapped, not inflated: only a stored (uncompressed) entry is valid, as torch.save writes.
      if (!stored_entry(*file, *reader, rec))
        throw FileError(path, "record '" + rec + "' is compressed; torch.save stores tensors uncompressed");
      if (have < need)
        throw FileError(path, "record '" + rec + "' has " + std::to_string(have) + " bytes, its storage needs " +
                                  std::to_string(need));
      return MappedFile::tensor(file, reader->getRecordOffset(rec), s.i, s.dtype);
    } catch (const c10::Error& e) {
      throw FileError(path, "damaged record '" + rec + "': " + first_line(e.what_without_backtrace()));
    }
  };
  Unpickler unpickler(pickle, path, load_storage);  // alive until the tensors are taken out of its objects
  auto root = unpickler.run();
  if (root->kind != Obj::Kind::Dict)
    throw FileError(path, std::string("holds a ") + kind_name(root->kind) + ", not a state dict");
  NamedTensors out;
  for (const auto& [k, v] : root->kv) {
    if (k->kind != Obj::Kind::Str) throw FileError(path, "a state-dict key is not a string");
    if (v->kind != Obj::Kind::Tensor)
      throw FileError(path, "entry '" + k->s + "' is a " + kind_name(v->kind) + ", not a tensor");
    out.emplace_back(k->s, v->tensor);
  }
  return out;
}

}  // namespace dm::io
