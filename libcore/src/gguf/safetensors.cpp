#include "llmkit/safetensors.h"

#include <simdjson.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "llmkit/error.h"

namespace llmkit {
namespace {

struct DtypeInfo {
  StDtype d;
  const char* name;
  uint32_t bytes;
};
constexpr DtypeInfo kDtypes[] = {
    {StDtype::F64, "F64", 8},   {StDtype::F32, "F32", 4}, {StDtype::F16, "F16", 2},
    {StDtype::BF16, "BF16", 2}, {StDtype::I64, "I64", 8}, {StDtype::I32, "I32", 4},
    {StDtype::I16, "I16", 2},   {StDtype::I8, "I8", 1},   {StDtype::U8, "U8", 1},
    {StDtype::BOOL, "BOOL", 1}, {StDtype::F8_E4M3, "F8_E4M3", 1}, {StDtype::F8_E5M2, "F8_E5M2", 1},
};

[[noreturn]] void bad(const std::string& file, const std::string& what) {
  throw Error("bad_safetensors", file + ": " + what);
}

std::string shown(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 80)) out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  if (s.size() > 80) out += "...";
  return out + "'";
}

}  // namespace

const char* st_dtype_name(StDtype d) {
  for (const auto& i : kDtypes)
    if (i.d == d) return i.name;
  return "?";
}
uint32_t st_dtype_bytes(StDtype d) {
  for (const auto& i : kDtypes)
    if (i.d == d) return i.bytes;
  return 0;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
    bad(path, "empty file (0 bytes)");
  std::shared_ptr<ByteSource> src;
  try {
    src = map_file(path);
  } catch (const Error& e) {
    throw Error("io", path + ": " + e.what());
  }
  return parse(std::move(src), path);
}

SafetensorsFile SafetensorsFile::parse(std::shared_ptr<ByteSource> src, const std::string& name) {
  SafetensorsFile f;
  f.src_ = std::move(src);
  f.path_ = name;
  const auto bytes = f.src_->bytes();
  if (bytes.size() < 8)
    bad(name, "only " + std::to_string(bytes.size()) + " bytes: too short for the 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[static_cast<size_t>(i)];
  if (n > kSafetensorsMaxHeader)
    bad(name, "header length " + std::to_string(n) + " is over the limit of " + std::to_string(kSafetensorsMaxHeader) +
                  " bytes (not a safetensors file, or corrupt)");
  if (n > bytes.size() - 8)
    bad(name, "header length " + std::to_string(n) + " runs past the end of the file (" + std::to_string(bytes.size()) +
                  " bytes): truncated?");
  if (n < 2) bad(name, "header of " + std::to_string(n) + " bytes cannot hold a JSON object");
  const uint64_t data_start = 8 + n;
  const uint64_t data_size = bytes.size() - data_start;

  simdjson::dom::parser parser;
  simdjson::padded_string json(reinterpret_cast<const char*>(bytes.data() + 8), static_cast<size_t>(n));
  simdjson::dom::element root;
  if (auto err = parser.parse(json).get(root); err)
    bad(name, std::string("header is not valid JSON (") + simdjson::error_message(err) + ")");
  simdjson::dom::object obj;
  if (root.get_object().get(obj)) bad(name, "header is not a JSON object");

  for (auto [key, value] : obj) {
    std::string k(key);
    if (k == "__metadata__") {
      simdjson::dom::object m;
      if (value.get_object().get(m)) bad(name, "__metadata__ is not an object");
      for (auto [mk, mv] : m) {
        std::string_view s;
        if (mv.get_string().get(s)) bad(name, "__metadata__ value " + shown(mk) + " is not a string");
        f.meta_[std::string(mk)] = std::string(s);
      }
      continue;
    }
    if (f.index_.count(k)) bad(name, "tensor " + shown(k) + " appears twice in the header");
    StTensor t;
    t.name = k;
    simdjson::dom::object to;
    if (value.get_object().get(to)) bad(name, "tensor " + shown(k) + ": entry is not an object");
    std::string_view dtype;
    if (to["dtype"].get_string().get(dtype)) bad(name, "tensor " + shown(k) + ": no dtype string");
    const DtypeInfo* di = nullptr;
    for (const auto& i : kDtypes)
      if (dtype == i.name) di = &i;
    if (!di) bad(name, "tensor " + shown(k) + ": unknown dtype " + shown(dtype));
    t.dtype = di->d;
    simdjson::dom::array shape;
    if (to["shape"].get_array().get(shape)) bad(name, "tensor " + shown(k) + ": no shape array");
    if (shape.size() > 8) bad(name, "tensor " + shown(k) + ": " + std::to_string(shape.size()) + " dimensions (at most 8)");
    for (auto d : shape) {
      int64_t v;
      if (d.get_int64().get(v) || v < 0) bad(name, "tensor " + shown(k) + ": shape holds something not a count");
      t.shape.push_back(v);
      if (v != 0 && t.n_elements > (uint64_t(1) << 56) / static_cast<uint64_t>(v))
        bad(name, "tensor " + shown(k) + ": shape has more elements than any file could hold");
      t.n_elements *= static_cast<uint64_t>(v);
    }
    simdjson::dom::array off;
    if (to["data_offsets"].get_array().get(off) || off.size() != 2)
      bad(name, "tensor " + shown(k) + ": data_offsets is not a pair");
    uint64_t b, e;
    if (off.at(0).get_uint64().get(b) || off.at(1).get_uint64().get(e))
      bad(name, "tensor " + shown(k) + ": data_offsets are not byte offsets");
    if (b > e) bad(name, "tensor " + shown(k) + ": data_offsets end before they begin");
    if (e > data_size)
      bad(name, "tensor " + shown(k) + ": data ends at byte " + std::to_string(e) + " of a data section of " +
                    std::to_string(data_size) + " bytes (truncated file or lying offsets)");
    const uint64_t want = t.n_elements * di->bytes;
    if (e - b != want)
      bad(name, "tensor " + shown(k) + ": " + std::string(di->name) + " shape needs " + std::to_string(want) +
                    " bytes, data_offsets give " + std::to_string(e - b));
    t.begin = b;
    t.end = e;
    t.data = bytes.subspan(static_cast<size_t>(data_start + b), static_cast<size_t>(e - b));
    f.index_[k] = f.tensors_.size();
    f.tensors_.push_back(std::move(t));
  }

  // The data section must be covered exactly once: no two tensors share bytes, and no bytes
  // are left unaccounted for (the reference reader's rule as well).
  std::vector<const StTensor*> by_offset;
  for (const auto& t : f.tensors_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const StTensor* a, const StTensor* b) { return a->begin != b->begin ? a->begin < b->begin : a->end < b->end; });
  uint64_t at = 0;
  for (const StTensor* t : by_offset) {
    if (t->begin < at) bad(name, "tensor " + shown(t->name) + " overlaps the tensor before it in the data section");
    if (t->begin > at)
      bad(name, "bytes " + std::to_string(at) + " to " + std::to_string(t->begin) + " of the data section belong to no tensor");
    at = t->end;
  }
  if (at != data_size)
    bad(name, "the data section has " + std::to_string(data_size - at) + " bytes after its last tensor");
  return f;
}

const StTensor* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

Checkpoint Checkpoint::open_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  Checkpoint c;
  const fs::path d(dir);
  const fs::path single = d / "model.safetensors";
  const fs::path index = d / "model.safetensors.index.json";
  std::map<std::string, std::string> weight_map;  // tensor -> shard
  if (fs::exists(index)) {
    simdjson::dom::parser parser;
    simdjson::padded_string json;
    if (simdjson::padded_string::load(index.string()).get(json)) throw Error("io", index.string() + ": cannot read");
    simdjson::dom::element root;
    if (parser.parse(json).get(root)) throw Error("bad_checkpoint", index.string() + ": not valid JSON");
    simdjson::dom::object wm;
    if (root["weight_map"].get_object().get(wm)) throw Error("bad_checkpoint", index.string() + ": no weight_map object");
    for (auto [k, v] : wm) {
      std::string_view shard;
      if (v.get_string().get(shard)) throw Error("bad_checkpoint", index.string() + ": weight_map value is not a file name");
      const std::string s(shard);
      if (s.empty() || s.find('/') != std::string::npos || s == "..")
        throw Error("bad_checkpoint", index.string() + ": shard name " + shown(s) + " is not a plain file name");
      weight_map[std::string(k)] = s;
    }
    std::set<std::string> shards;
    for (const auto& [k, s] : weight_map) shards.insert(s);
    c.names_.assign(shards.begin(), shards.end());
  } else if (fs::exists(single)) {
    c.names_.push_back("model.safetensors");
  } else {
    throw Error("bad_checkpoint", dir + ": no model.safetensors or model.safetensors.index.json (only safetensors "
                                        "checkpoints are read; PyTorch .bin files are not)");
  }
  for (const auto& n : c.names_) {
    const std::string p = (d / n).string();
    if (!fs::exists(p)) throw Error("bad_checkpoint", p + ": the index names this shard, but it is missing");
    c.files_.push_back(std::make_unique<SafetensorsFile>(SafetensorsFile::open(p)));
  }
  for (size_t i = 0; i < c.files_.size(); ++i) {
    for (const auto& t : c.files_[i]->tensors()) {
      if (c.index_.count(t.name))
        throw Error("bad_checkpoint", "tensor " + shown(t.name) + " is in two shards (" + c.names_[i] + " and another)");
      if (!weight_map.empty()) {
        auto it = weight_map.find(t.name);
        if (it == weight_map.end() || it->second != c.names_[i])
          throw Error("bad_checkpoint", c.names_[i] + ": tensor " + shown(t.name) + " is not where the index says");
      }
      c.index_[t.name] = c.entries_.size();
      c.entries_.push_back({c.files_[i].get(), &t});
    }
  }
  for (const auto& [k, s] : weight_map)
    if (!c.index_.count(k)) throw Error("bad_checkpoint", s + ": the index names tensor " + shown(k) + " but the shard lacks it");
  return c;
}

const StTensor* Checkpoint::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : entries_[it->second].tensor;
}

}  // namespace llmkit
