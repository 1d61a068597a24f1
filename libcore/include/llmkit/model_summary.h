// The facts a user asks of a model file, derived from GGUF metadata and the tensor table only
// (header reads; no tensor data touched). Shared by gguf-info and the memory planner.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "llmkit/gguf.h"

namespace llmkit {

struct ModelSummary {
  std::string architecture;           // general.architecture ("" when absent)
  std::string name;                   // general.name
  uint64_t parameters = 0;            // elements over all tensors
  std::string file_type;              // preset name: "Q4_K_M"
  std::optional<uint32_t> file_type_id;
  bool file_type_guessed = false;
  uint64_t file_size = 0;
  uint64_t tensor_bytes = 0;
  double bits_per_weight = 0;         // tensor bytes * 8 / parameters
  std::optional<int64_t> context_length, embedding_length, block_count, head_count, head_count_kv,
      feed_forward_length, vocab_size;
  std::string tokenizer_model;        // tokenizer.ggml.model: llama, gpt2, bert, ...
  std::string tokenizer_pre;          // tokenizer.ggml.pre
  bool has_chat_template = false;
  std::map<std::string, uint64_t> tensor_types;  // type name -> count
};

ModelSummary summarize(const GgufFile& f);

// Plain-language tokenizer family for a tokenizer.ggml.model value.
const char* tokenizer_family(const std::string& model);

}  // namespace llmkit
