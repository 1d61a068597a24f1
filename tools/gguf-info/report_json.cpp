#include <xxhash.h>

#include <cinttypes>
#include <cstdio>

#include "llmkit/gguf_json.h"
#include "llmkit/json_writer.h"
#include "llmkit/model_summary.h"
#include "report.h"

using llmkit::JsonObject;
using llmkit::JsonWriter;

namespace {

// Metadata arrays longer than this are summarised unless --full (vocabularies run to 150k).
constexpr uint64_t kSummariseOver = 64;

void set_opt(JsonObject& r, const char* key, const std::optional<int64_t>& v) {
  if (v) r.set(key, *v);
  else r.set_raw(key, "null");
}

}  // namespace

void json_summary(JsonObject& r, const std::string& path, const llmkit::GgufFile& f, const ReportOptions& opt) {
  llmkit::ModelSummary s = llmkit::summarize(f);
  r.set("path", path);
  r.set("gguf_version", int64_t(f.version()));
  r.set("architecture", s.architecture);
  r.set("name", s.name);
  r.set("parameters", int64_t(s.parameters));
  r.set("file_type", s.file_type);
  set_opt(r, "file_type_id", s.file_type_id ? std::optional<int64_t>(*s.file_type_id) : std::nullopt);
  r.set("file_type_guessed", s.file_type_guessed);
  r.set("file_size", int64_t(s.file_size));
  r.set("tensor_bytes", int64_t(s.tensor_bytes));
  if (s.parameters) r.set("bits_per_weight", s.bits_per_weight);
  else r.set_raw("bits_per_weight", "null");
  set_opt(r, "context_length", s.context_length);
  set_opt(r, "embedding_length", s.embedding_length);
  set_opt(r, "block_count", s.block_count);
  set_opt(r, "head_count", s.head_count);
  set_opt(r, "head_count_kv", s.head_count_kv);
  set_opt(r, "feed_forward_length", s.feed_forward_length);
  set_opt(r, "vocab_size", s.vocab_size);
  r.set("tokenizer_model", s.tokenizer_model);
  r.set("tokenizer_pre", s.tokenizer_pre);
  r.set("has_chat_template", s.has_chat_template);
  r.set("tensor_count", int64_t(f.tensors().size()));
  JsonWriter types;
  types.begin_object();
  for (const auto& [name, n] : s.tensor_types) types.field(name, n);
  r.set_raw("tensor_types", types.end_object().take());
  r.set("alignment", int64_t(f.alignment()));
  r.set("data_offset", int64_t(f.data_offset()));
  JsonWriter md;
  md.begin_object();
  for (const auto& kv : f.metadata()) {
    md.key(kv.key);
    llmkit::write_gguf_value(md, kv.value, opt.full ? 0 : kSummariseOver);
  }
  r.set_raw("metadata", md.end_object().take());
}

std::vector<std::string> tensor_records(const JsonObject& base, const std::string& path,
                                        const llmkit::GgufFile& f, const ReportOptions& opt) {
  const auto& ts = f.tensors();
  std::vector<uint64_t> hashes(opt.hash ? ts.size() : 0);
  if (opt.hash) {
    // Reads the data: spread tensors over threads; output order stays the file's.
#pragma omp parallel for schedule(dynamic)
    for (size_t i = 0; i < ts.size(); ++i) {
      auto d = f.tensor_data(ts[i]);
      hashes[i] = XXH64(d.data(), d.size(), 0);
    }
  }
  std::vector<std::string> out;
  out.reserve(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    const auto& t = ts[i];
    JsonObject r = base;
    r.set("path", path);
    r.set("name", t.name);
    r.set("type", std::string_view(llmkit::ggml_type_name(t.type)));
    JsonWriter shape;
    shape.begin_array();
    for (uint32_t d = 0; d < t.n_dims; ++d) shape.value(t.ne[d]);
    r.set_raw("shape", shape.end_array().take());
    r.set("elements", int64_t(t.n_elements));
    r.set("offset", int64_t(t.file_offset));
    r.set("bytes", int64_t(t.n_bytes));
    if (opt.hash) {
      char hex[17];
      std::snprintf(hex, sizeof hex, "%016" PRIx64, hashes[i]);
      r.set("xxh64", std::string_view(hex));
    }
    out.push_back(r.dump());
  }
  return out;
}
