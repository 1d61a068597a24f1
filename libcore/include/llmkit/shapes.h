// One catalog of named model shapes (the published config.json hyperparameters of popular
// models), served to gguf-synth and llm-bench --synthetic (random weights of the shape) and to
// llm-memcalc (memory plans without a file), and the tensor list a shape has under its
// architecture (arch.h).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace llmkit {

struct ModelShape {
  const char* name;  // "llama3.1-8b"
  const char* arch;  // an architecture of arch.h
  int64_t layers, embd, heads, kv_heads, head_dim, ff, vocab, context;
  bool tied;  // the output shares the token embedding
  float rope_base = 10000.f;
  int64_t swa_window = 0;    // sliding-window span of the windowed layers (the pattern is the architecture's)
  float rope_llama3 = 0.f;   // Llama 3.1 rope scaling factor: a rope_freqs tensor (0: none)
  int64_t experts = 0, experts_used = 0;  // mixture of experts (llm-memcalc only)
  int64_t longrope_ctx = 0;  // Phi-3 LongRoPE: the original context (rope factor tensors; 0: none)
  int64_t q_dim() const { return heads * head_dim; }
  int64_t kv_dim() const { return kv_heads * head_dim; }
};

std::span<const ModelShape> model_shapes();
const ModelShape* find_shape(const std::string& name);  // case-insensitive, '-', '_' and ' ' ignored
std::string shape_names();                               // for messages
bool names_match(const std::string& a, const std::string& b);  // case-insensitive, '-', '_' and ' ' ignored

// A tensor of a shape: the architecture's tensors that a model of this shape has (the required
// ones, the output when untied, rope_freqs for Llama 3.1 scaling, experts in place of the FFN).
struct ShapeTensor {
  std::string name;
  std::vector<int64_t> ne;  // one entry: a vector
  bool norm = false;        // a norm's weights (around 1), else a bias or matrix (around 0)
};
// Throws Error("usage") when the shape is inconsistent or its architecture unknown.
std::vector<ShapeTensor> shape_tensors(const ModelShape& s);
uint64_t shape_parameters(const ModelShape& s);

// Llama 3.1's rope frequency divisors (n_rot/2 of them) for a scaling factor, with the published
// defaults (low_freq_factor 1, high_freq_factor 4, original context 8192) unless given.
// Phi-3 LongRoPE's attention factor for a context extended from original_context: the published
// rule sqrt(1 + ln(scale) / ln(original_context)), 1 when not extended.
float longrope_attn_factor(int64_t context, int64_t original_context);

std::vector<float> llama3_rope_factors(float base, int64_t n_rot, float factor, float low_freq_factor = 1.f,
                                       float high_freq_factor = 4.f, int64_t original_context = 8192);

}  // namespace llmkit
