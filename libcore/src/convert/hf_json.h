// The JSON files of a Hugging Face model folder, read with simdjson; small typed lookups that
// name the file and key when a value is missing or has the wrong type.
#pragma once
#include <simdjson.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llmkit/gguf.h"
#include "llmkit/hf_convert.h"

namespace llmkit::hf {

struct JsonFile {
  std::string path;
  simdjson::dom::parser parser;
  simdjson::dom::element root;

  std::optional<int64_t> get_int(const char* key) const;
  std::optional<double> get_double(const char* key) const;
  std::optional<bool> get_bool(const char* key) const;
  std::optional<std::string> get_string(const char* key) const;
  int64_t need_int(const char* key) const;
};

// nullptr when the file does not exist and is not required; Error("bad_checkpoint") when it
// exists but is not JSON.
std::unique_ptr<JsonFile> load_json(const std::string& path, bool required);

// A special token as tokenizer_config.json writes it: "text" or {"content": "text", ...}.
std::optional<std::string> token_text(simdjson::dom::element e);

void set_kv(std::vector<GgufKV>& kv, const std::string& key, GgufValue v);

// Architecture: hyperparameters and tensors (hf_arch.cpp).
void read_arch(const std::string& dir, const JsonFile& config, const Checkpoint& ck, GgmlType float_type, HfModel& m);
// Tokenizer: vocabulary, special tokens, chat template, pre-tokenizer (hf_vocab.cpp).
void read_vocab(const std::string& dir, const JsonFile& config, const ConvertOptions& opt, HfModel& m);

}  // namespace llmkit::hf
