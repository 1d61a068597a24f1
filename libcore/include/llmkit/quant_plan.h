// Which type each tensor gets under a quantization preset: llama.cpp's file types and its
// per-tensor rules (output and embedding, attn_v/ffn_down layers that get more bits, fallbacks
// for rows that are not a multiple of 256, tensors that are never quantized).
#pragma once
#include <cstdint>
#include <regex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llmkit/gguf.h"

namespace llmkit {

struct QuantPreset {
  uint32_t ftype;    // general.file_type written to the output
  const char* name;  // "Q4_K_M"
  GgmlType base;     // the type most weights get
};

std::span<const QuantPreset> quant_presets();
const QuantPreset* find_preset(std::string_view name);  // case-insensitive; nullptr if unknown

struct TypeOverride {
  std::string pattern;  // as given by the user (regex, searched in the tensor name)
  std::regex re;
  GgmlType type;
};
// Parses "REGEX=TYPE"; throws Error("usage", ...) on a bad regex or type.
TypeOverride parse_type_override(const std::string& spec);

struct QuantPlanOptions {
  bool pure = false;              // every quantized tensor gets the base type: no mixture rules
  bool allow_requantize = false;  // quantized input tensors may be converted
  std::vector<TypeOverride> overrides;  // first match wins, replaces the mixture rules
  bool has_imatrix = false;       // an importance matrix weights the fits (some rules differ then)
};

struct TensorPlan {
  const TensorInfo* src = nullptr;
  GgmlType to = GgmlType::F32;
  uint64_t out_bytes = 0;
  bool convert = false;   // to != src->type
  std::string note;       // e.g. "fallback: row 300 not a multiple of 256"
};

struct QuantPlan {
  const QuantPreset* preset = nullptr;
  std::vector<TensorPlan> tensors;  // in output order (llama.cpp's: by layer, then by name)
  uint64_t in_bytes = 0, out_bytes = 0, parameters = 0;
};

// Throws Error("unsupported_type" | "requantize", ...) for inputs it cannot convert.
QuantPlan plan_quantization(const GgufFile& src, const QuantPreset& preset, const QuantPlanOptions& opt);

// ggml's count of dimensions: trailing dimensions of size 1 do not count (at least 1).
int ggml_n_dims(const TensorInfo& t);

}  // namespace llmkit
