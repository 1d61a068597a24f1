#include "hf_json.h"

#include <filesystem>

#include "llmkit/atomic_file.h"
#include "llmkit/error.h"

namespace llmkit::hf {

std::unique_ptr<JsonFile> load_json(const std::string& path, bool required) {
  if (!std::filesystem::exists(path)) {
    if (required) throw Error("bad_checkpoint", path + ": missing");
    return nullptr;
  }
  if (!std::filesystem::is_regular_file(path)) throw Error("bad_checkpoint", path + ": not a regular file");
  note_input_file(path);
  auto f = std::make_unique<JsonFile>();
  f->path = path;
  simdjson::padded_string text;
  if (simdjson::padded_string::load(path).get(text)) throw Error("io", path + ": cannot read");
  // The parser's document holds the parsed values; the text itself is not needed afterwards.
  if (auto err = f->parser.parse(text).get(f->root); err)
    throw Error("bad_checkpoint", path + ": not valid JSON (" + simdjson::error_message(err) + ")");
  return f;
}

std::optional<int64_t> JsonFile::get_int(const char* key) const {
  simdjson::dom::element e;
  if (root[key].get(e) || e.is_null()) return std::nullopt;
  int64_t v;
  if (e.get_int64().get(v)) throw Error("bad_checkpoint", path + ": " + key + " is not an integer");
  return v;
}

std::optional<double> JsonFile::get_double(const char* key) const {
  simdjson::dom::element e;
  if (root[key].get(e) || e.is_null()) return std::nullopt;
  double v;
  if (e.get_double().get(v)) throw Error("bad_checkpoint", path + ": " + key + " is not a number");
  return v;
}

std::optional<bool> JsonFile::get_bool(const char* key) const {
  simdjson::dom::element e;
  if (root[key].get(e) || e.is_null()) return std::nullopt;
  bool v;
  if (e.get_bool().get(v)) throw Error("bad_checkpoint", path + ": " + key + " is not true or false");
  return v;
}

std::optional<std::string> JsonFile::get_string(const char* key) const {
  simdjson::dom::element e;
  if (root[key].get(e) || e.is_null()) return std::nullopt;
  std::string_view v;
  if (e.get_string().get(v)) throw Error("bad_checkpoint", path + ": " + key + " is not a string");
  return std::string(v);
}

int64_t JsonFile::need_int(const char* key) const {
  auto v = get_int(key);
  if (!v) throw Error("bad_checkpoint", path + ": " + key + " is missing");
  return *v;
}

std::optional<std::string> token_text(simdjson::dom::element e) {
  std::string_view s;
  if (!e.get_string().get(s)) return std::string(s);
  if (!e["content"].get_string().get(s)) return std::string(s);
  return std::nullopt;
}

void set_kv(std::vector<GgufKV>& kv, const std::string& key, GgufValue v) {
  for (auto& e : kv)
    if (e.key == key) {
      e.value = std::move(v);
      return;
    }
  kv.push_back({key, std::move(v)});
}

}  // namespace llmkit::hf
