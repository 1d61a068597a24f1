#include "llmkit/jsonl.h"

#include <simdjson.h>
#include <zstd.h>

#include <cstring>

#include "llmkit/error.h"
#include "llmkit/json_writer.h"

namespace llmkit {
namespace {

simdjson::dom::parser& thread_parser() {
  thread_local simdjson::dom::parser p;
  return p;
}

// Parses a serialised JSON scalar kept in a JsonObject.
simdjson::dom::element reparse(const std::string& raw) {
  simdjson::dom::element e;
  if (thread_parser().parse(raw).get(e) != simdjson::SUCCESS) return {};
  return e;
}

}  // namespace

void JsonObject::set_raw(std::string_view key, std::string json) {
  for (auto& [k, v] : fields_)
    if (k == key) {
      v = std::move(json);
      return;
    }
  fields_.emplace_back(std::string(key), std::move(json));
}

void JsonObject::set(std::string_view key, std::string_view s) { set_raw(key, json_string(s)); }
void JsonObject::set(std::string_view key, int64_t v) { set_raw(key, std::to_string(v)); }
void JsonObject::set(std::string_view key, double v) { set_raw(key, json_number(v)); }
void JsonObject::set(std::string_view key, bool v) { set_raw(key, v ? "true" : "false"); }

void JsonObject::erase(std::string_view key) {
  std::erase_if(fields_, [&](const auto& f) { return f.first == key; });
}

const std::string* JsonObject::raw(std::string_view key) const {
  for (const auto& [k, v] : fields_)
    if (k == key) return &v;
  return nullptr;
}

std::optional<std::string> JsonObject::get_string(std::string_view key) const {
  const std::string* r = raw(key);
  if (!r || r->empty() || (*r)[0] != '"') return std::nullopt;
  std::string_view s;
  if (reparse(*r).get_string().get(s) != simdjson::SUCCESS) return std::nullopt;
  return std::string(s);
}

std::optional<double> JsonObject::get_number(std::string_view key) const {
  const std::string* r = raw(key);
  if (!r) return std::nullopt;
  simdjson::dom::element e = reparse(*r);
  double d;
  if (e.is_number() && e.get_double().get(d) == simdjson::SUCCESS) return d;
  return std::nullopt;
}

std::optional<int64_t> JsonObject::get_int(std::string_view key) const {
  const std::string* r = raw(key);
  if (!r) return std::nullopt;
  int64_t i;
  if (reparse(*r).get_int64().get(i) == simdjson::SUCCESS) return i;
  return std::nullopt;
}

std::optional<std::vector<int64_t>> JsonObject::get_int_array(std::string_view key) const {
  const std::string* r = raw(key);
  if (!r) return std::nullopt;
  simdjson::dom::array arr;
  if (reparse(*r).get_array().get(arr) != simdjson::SUCCESS) return std::nullopt;
  std::vector<int64_t> out;
  for (simdjson::dom::element e : arr) {
    int64_t v;
    if (e.get_int64().get(v) != simdjson::SUCCESS) return std::nullopt;
    out.push_back(v);
  }
  return out;
}

std::optional<std::vector<std::string>> JsonObject::get_string_array(std::string_view key) const {
  if (auto one = get_string(key)) return std::vector<std::string>{*one};
  const std::string* r = raw(key);
  if (!r) return std::nullopt;
  simdjson::dom::array arr;
  if (reparse(*r).get_array().get(arr) != simdjson::SUCCESS) return std::nullopt;
  std::vector<std::string> out;
  for (simdjson::dom::element e : arr) {
    std::string_view v;
    if (e.get_string().get(v) != simdjson::SUCCESS) return std::nullopt;
    out.emplace_back(v);
  }
  return out;
}

std::optional<std::vector<JsonObject>> JsonObject::get_object_array(std::string_view key) const {
  const std::string* r = raw(key);
  if (!r) return std::nullopt;
  simdjson::dom::array arr;
  if (reparse(*r).get_array().get(arr) != simdjson::SUCCESS) return std::nullopt;
  // Serialised first: parsing each object reuses this thread's parser, which owns `arr`.
  std::vector<std::string> texts;
  for (simdjson::dom::element e : arr) {
    if (!e.is_object()) return std::nullopt;
    texts.push_back(simdjson::minify(e));
  }
  std::vector<JsonObject> out;
  for (const std::string& t : texts) out.push_back(parse_json_object(t));
  return out;
}

std::string JsonObject::dump() const {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : fields_) {
    if (!first) out += ',';
    first = false;
    json_append_string(out, k);
    out += ':';
    out += v;
  }
  out += '}';
  return out;
}

JsonObject parse_json_object(std::string_view line) {
  simdjson::padded_string padded(line);
  simdjson::dom::element doc;
  auto err = thread_parser().parse(padded).get(doc);
  // The usual cause is pretty-printed input (jq without -c): say what JSON-lines needs.
  if (err)
    throw Error("bad_json", std::string("invalid JSON: ") + simdjson::error_message(err) +
                                "; a record must be one JSON object on a single line (pretty-printed JSON, "
                                "such as jq writes without -c, is not JSON-lines)");
  simdjson::dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) throw Error("not_object", "record is not a JSON object");
  JsonObject out;
  for (auto field : obj) out.set_raw(field.key, simdjson::minify(field.value));
  return out;
}

struct JsonlReader::ZstdState {
  ZSTD_DStream* ds = ZSTD_createDStream();
  ~ZstdState() { ZSTD_freeDStream(ds); }
};

JsonlReader::JsonlReader(std::istream& in) : in_(in) {}
JsonlReader::~JsonlReader() = default;

bool JsonlReader::fill() {
  if (raw_pos_ == raw_end_) {
    if (eof_) {
      if (frame_open_)
        throw Error("bad_input", "the zstd-compressed input ends inside a frame (truncated at byte " +
                                     std::to_string(raw_base_ + raw_end_) + ")");
      return false;
    }
    raw_base_ += raw_end_;
    in_.read(raw_.data(), static_cast<std::streamsize>(raw_.size()));
    raw_pos_ = 0, raw_end_ = static_cast<size_t>(in_.gcount());
    if (raw_end_ < raw_.size()) eof_ = true;
    return true;
  }
  ZSTD_inBuffer zin{raw_.data(), raw_end_, raw_pos_};
  char out[1 << 16];
  ZSTD_outBuffer zout{out, sizeof out, 0};
  const size_t r = ZSTD_decompressStream(zstd_->ds, &zout, &zin);
  if (ZSTD_isError(r))
    throw Error("bad_input", std::string("corrupt zstd-compressed input near byte ") + std::to_string(raw_base_ + zin.pos) +
                                 ": " + ZSTD_getErrorName(r));
  frame_open_ = r != 0;
  raw_pos_ = zin.pos;
  text_.append(out, zout.pos);
  return true;
}

bool JsonlReader::next_text_line(std::string& line) {
  if (!zstd_) return static_cast<bool>(std::getline(in_, line));
  size_t nl = text_.find('\n', pos_);
  while (nl == std::string::npos) {
    if (pos_ > 0) text_.erase(0, pos_), pos_ = 0;
    const size_t searched = text_.size();
    if (!fill()) break;
    nl = text_.find('\n', searched);
  }
  if (nl == std::string::npos && pos_ >= text_.size()) return false;
  const size_t end = nl == std::string::npos ? text_.size() : nl;
  line.assign(text_, pos_, end - pos_);
  pos_ = nl == std::string::npos ? text_.size() : nl + 1;
  return true;
}

bool JsonlReader::next_line(std::string& line, uint64_t& line_no) {
  if (!started_) {
    started_ = true;
    // A zstd frame starts 28 B5 2F FD; no JSON-lines record starts with '(' (0x28). Plain input
    // is read a line at a time, so records that trickle in through a pipe are answered at once.
    if (in_.peek() == 0x28) {
      zstd_ = std::make_unique<ZstdState>();
      ZSTD_initDStream(zstd_->ds);
      raw_.resize(size_t(1) << 16);
    }
  }
  while (next_text_line(line)) {
    ++line_no_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    line_no = line_no_;
    return true;
  }
  return false;
}

std::string error_record(const JsonObject* input, std::string_view code, std::string_view message,
                         std::optional<uint64_t> line_no) {
  JsonObject rec;
  if (input) rec = *input;
  JsonWriter e;
  e.begin_object().field("code", code).field("message", message);
  if (line_no) e.field("line", *line_no);
  e.end_object();
  rec.set_raw("error", e.take());
  return rec.dump();
}

}  // namespace llmkit
