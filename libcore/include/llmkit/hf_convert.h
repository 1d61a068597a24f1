// Hugging Face model folders (config.json, safetensors weights, tokenizer files) to GGUF, as
// llama.cpp's converter lays them out: its architecture names, hyperparameter keys, tensor
// names and layouts (the Q/K row order llama's rope wants), vocabulary, merges, special tokens,
// chat template and pre-tokenizer name. Converting and quantizing is one streaming pass.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "llmkit/gguf.h"
#include "llmkit/quantize.h"
#include "llmkit/safetensors.h"

namespace llmkit {

// What goes into the GGUF: metadata, and each tensor with where its data comes from.
struct HfTensor {
  std::string name;             // GGUF name ("blk.0.attn_q.weight")
  const StTensor* src = nullptr;
  const SafetensorsFile* file = nullptr;  // the shard holding it
  std::vector<int64_t> shape;   // ggml order: shape[0] is the row length
  GgmlType type = GgmlType::F32;  // as llama.cpp's converter writes it at the float output type
  int permute_heads = 0;        // > 0: rows reordered for llama's rope, in this many heads
  // Computed here rather than copied (rope factors, Gemma's norms as 1 + w): written as F32
  // from these values; src is nullptr when no checkpoint tensor lies behind them.
  std::vector<float> values;
};

struct HfModel {
  std::string hf_arch;  // config.json "architectures"[0]
  std::string arch;     // GGUF general.architecture
  std::vector<GgufKV> metadata;  // in the order they are written
  std::vector<HfTensor> tensors;
  std::string pre_source;  // how tokenizer.ggml.pre was found: "hash", "pattern", "option", "n/a"
  std::string pre_hash;    // the sha256 of the check text's token ids
};

struct ConvertOptions {
  std::string outtype = "f16";  // f32, f16, bf16 or any gguf-quantize preset
  std::string pre;              // force tokenizer.ggml.pre instead of identifying it
  std::string name;             // general.name (default: from the config or the folder name)
  int threads = 0;
  std::function<void(const QuantizeProgress&)> on_tensor_done;
};

struct ConvertResult {
  HfModel model;
  QuantizeResult q;  // bytes, types, parameters, seconds
};

// Reads and checks the folder: throws Error("bad_checkpoint" | "bad_safetensors" |
// "unsupported_model" | "unknown_pre_tokenizer" | "bad_vocab", ...) with what is wrong.
HfModel read_hf_model(const std::string& dir, const Checkpoint& ck, const ConvertOptions& opt);

// The whole conversion: nothing is left at out_path on failure.
ConvertResult convert_hf_model(const std::string& dir, const std::string& out_path, const ConvertOptions& opt);

// The architectures gguf-convert reads (config.json "architectures").
std::vector<std::string> hf_supported_architectures();

// sha256 of bytes, lower-case hex (the pre-tokenizer check hashes token ids with it).
std::string sha256_hex(std::string_view data);

}  // namespace llmkit
