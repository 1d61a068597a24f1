// One description per model architecture, as data: the tensors a GGUF file of it holds (name,
// shape in terms of the hyperparameters, role, required or not, and the Hugging Face name it is
// converted from) and the flags of its forward pass. The loader's checks, the forward pass,
// gguf-synth, llm-memcalc's catalog and gguf-convert all read this table; adding an architecture
// is one entry here plus only the operations that are truly new.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace llmkit {

// What a tensor is for; the model keeps each in the slot of its role.
enum class Role : uint8_t {
  TokEmbd, PosEmbd, TokTypes, EmbdNorm, EmbdNormB, OutputNorm, Output,
  RopeFreqs, RopeLong, RopeShort,  // per-dimension rope frequency divisors (Llama 3, Phi-3 LongRoPE)
  AttnNorm, AttnNormB, Q, K, V, QKV, Qb, Kb, Vb, O, Ob, QNorm, KNorm, PostAttnNorm,
  FfnNorm, FfnNormB, Gate, Up, GateUp, Down, UpB, DownB, PostFfnNorm,
};

// A shape term, resolved from the hyperparameters (Hyper below).
enum class Dim : uint8_t {
  Embd,     // n_embd
  Vocab,    // rows of the token embedding (any number for token_embd itself)
  Ctx,      // at least the training context (learned positions)
  Any,      // not checked
  QDim,     // n_head * head_dim
  KVDim,    // n_head_kv * head_dim
  QKVDim,   // QDim + 2 KVDim: fused Q, K, V
  HeadDim,  // head_dim: per-head norms
  FF,       // n_ff
  FF2,      // 2 n_ff: fused gate | up
  RopeHalf, // n_rot / 2
  One,
};

struct TensorSpec {
  Role role;
  const char* name;  // llama.cpp's name; "blk.N." is prefixed when `layer`
  bool layer;
  Dim ne0, ne1;      // ne1 One: a vector
  bool required;
  const char* hf;    // the Hugging Face checkpoint's name ("%d" for the layer), or nullptr
};

enum class Activation : uint8_t { Silu, Gelu };

struct ArchSpec {
  const char* name;               // general.architecture
  bool encoder;                   // BERT: bidirectional, LayerNorm after each block, GELU, no cache
  bool rope_neox;                 // rope rotates pairs (i, i + n_rot/2) instead of (2i, 2i+1)
  Activation act;
  bool embd_scale;                // embeddings times sqrt(n_embd) (Gemma)
  bool q_prescale;                // queries scaled before attention (Gemma, Phi-3), not the scores
  int swa_period;                 // sliding-window pattern: every swa_period-th layer global; 0 none
  float swa_rope_base;            // rope base of the windowed layers; 0: the global one
  int64_t swa_default_window;     // when the file does not say; 0: no windows
  bool attn_softcap;              // scores = cap * tanh(scores / cap) (Gemma 2)
  int64_t embd_head_scale_layers; // with this many layers the query scale is 1/sqrt(n_embd/n_head) (Gemma 27B)
  float norm_eps;                 // when the file does not say
  std::span<const TensorSpec> tensors;
  std::span<const char* const> hf_classes;  // Hugging Face "architectures" converted to this
};

std::span<const ArchSpec> architectures();
const ArchSpec* find_arch(const std::string& name);  // nullptr when unknown
std::string arch_names();                            // "llama, qwen2, ..." for messages

// The hyperparameters shapes are written in.
struct Hyper {
  int64_t n_embd = 0, n_head = 0, n_head_kv = 0, head_dim = 0, n_ff = 0, n_vocab = 0, n_ctx = 0, n_rot = 0;
};
int64_t dim_value(Dim d, const Hyper& h);  // -1 for Any (and Vocab, Ctx when unknown)
// "blk.3.attn_q.weight" for layer 3; the plain name for model-wide tensors.
std::string tensor_name(const TensorSpec& t, int64_t layer);

}  // namespace llmkit
