#include "llmkit/model_summary.h"

#include <algorithm>

#include "llmkit/file_type.h"

namespace llmkit {
namespace {

// Hyperparameters can be per-layer arrays (e.g. head counts in OpenELM): report the largest.
std::optional<int64_t> int_or_max(const GgufFile& f, const std::string& key) {
  const GgufValue* v = f.find(key);
  if (!v) return std::nullopt;
  int64_t i;
  if (v->to_int64(&i)) return i;
  if (const GgufArray* a = std::get_if<GgufArray>(&v->v)) {
    std::optional<int64_t> best;
    for (uint64_t k = 0; k < a->size(); ++k) {
      int64_t x;
      switch (a->elem_type) {
        case GgufType::I32: x = a->at<int32_t>(k); break;
        case GgufType::U32: x = a->at<uint32_t>(k); break;
        case GgufType::I64: x = a->at<int64_t>(k); break;
        case GgufType::U64: x = static_cast<int64_t>(std::min<uint64_t>(a->at<uint64_t>(k), INT64_MAX)); break;
        default: return std::nullopt;
      }
      best = best ? std::max(*best, x) : x;
    }
    return best;
  }
  return std::nullopt;
}

std::string string_or_empty(const GgufFile& f, const std::string& key) {
  const GgufValue* v = f.find(key);
  if (!v) return {};
  if (const std::string* s = std::get_if<std::string>(&v->v)) return *s;
  return {};
}

}  // namespace

const char* tokenizer_family(const std::string& model) {
  if (model == "llama") return "SentencePiece";
  if (model == "gpt2") return "byte-level BPE";
  if (model == "bert") return "WordPiece";
  if (model == "t5") return "Unigram";
  if (model == "rwkv") return "RWKV";
  if (model == "none" || model.empty()) return "none";
  return "unknown";
}

ModelSummary summarize(const GgufFile& f) {
  ModelSummary s;
  s.architecture = string_or_empty(f, "general.architecture");
  s.name = string_or_empty(f, "general.name");
  for (const auto& t : f.tensors()) {
    s.parameters += t.n_elements;
    s.tensor_bytes += t.n_bytes;
    s.tensor_types[ggml_type_name(t.type)]++;
  }
  FileTypeGuess ft = file_type_of(f);
  s.file_type = ft.name;
  s.file_type_id = ft.id;
  s.file_type_guessed = ft.guessed;
  s.file_size = f.file_size();
  s.bits_per_weight = s.parameters ? double(s.tensor_bytes) * 8.0 / double(s.parameters) : 0.0;

  const std::string a = s.architecture + ".";
  if (!s.architecture.empty()) {
    s.context_length = int_or_max(f, a + "context_length");
    s.embedding_length = int_or_max(f, a + "embedding_length");
    s.block_count = int_or_max(f, a + "block_count");
    s.head_count = int_or_max(f, a + "attention.head_count");
    s.head_count_kv = int_or_max(f, a + "attention.head_count_kv");
    if (!s.head_count_kv) s.head_count_kv = s.head_count;  // no key: one KV head per head
    s.feed_forward_length = int_or_max(f, a + "feed_forward_length");
    s.vocab_size = int_or_max(f, a + "vocab_size");
  }
  if (!s.vocab_size)
    if (const GgufArray* tokens = f.get_array_opt("tokenizer.ggml.tokens"))
      s.vocab_size = static_cast<int64_t>(tokens->size());
  s.tokenizer_model = string_or_empty(f, "tokenizer.ggml.model");
  s.tokenizer_pre = string_or_empty(f, "tokenizer.ggml.pre");
  s.has_chat_template = f.has("tokenizer.chat_template");
  return s;
}

}  // namespace llmkit
