// The architecture table: llama.cpp's tensor names and shapes for each architecture llmkit runs
// (as its converters write them), the Hugging Face names they come from, and what differs in the
// forward pass. Facts from the public model definitions (config.json, modeling_*.py) and
// llama.cpp's GGUF conventions.
#include "llmkit/arch.h"

#include <cstdio>

namespace llmkit {
namespace {

using enum Role;
using D = Dim;

// The decoder layer of the llama family; the other decoders add or replace a few entries.
#define LLAMA_TOP                                                                   \
  {TokEmbd, "token_embd.weight", false, D::Embd, D::Vocab, true, "model.embed_tokens.weight"}, \
  {OutputNorm, "output_norm.weight", false, D::Embd, D::One, true, "model.norm.weight"},       \
  {Output, "output.weight", false, D::Embd, D::Vocab, false, "lm_head.weight"}
#define ATTN_QKVO                                                                                     \
  {AttnNorm, "attn_norm.weight", true, D::Embd, D::One, true, "model.layers.%d.input_layernorm.weight"}, \
  {Q, "attn_q.weight", true, D::Embd, D::QDim, true, "model.layers.%d.self_attn.q_proj.weight"},          \
  {K, "attn_k.weight", true, D::Embd, D::KVDim, true, "model.layers.%d.self_attn.k_proj.weight"},         \
  {V, "attn_v.weight", true, D::Embd, D::KVDim, true, "model.layers.%d.self_attn.v_proj.weight"},         \
  {O, "attn_output.weight", true, D::QDim, D::Embd, true, "model.layers.%d.self_attn.o_proj.weight"}
#define FFN_GATED                                                                               \
  {Gate, "ffn_gate.weight", true, D::Embd, D::FF, true, "model.layers.%d.mlp.gate_proj.weight"},  \
  {Up, "ffn_up.weight", true, D::Embd, D::FF, true, "model.layers.%d.mlp.up_proj.weight"},        \
  {Down, "ffn_down.weight", true, D::FF, D::Embd, true, "model.layers.%d.mlp.down_proj.weight"}
#define QK_NORM                                                                                          \
  {QNorm, "attn_q_norm.weight", true, D::HeadDim, D::One, true, "model.layers.%d.self_attn.q_norm.weight"}, \
  {KNorm, "attn_k_norm.weight", true, D::HeadDim, D::One, true, "model.layers.%d.self_attn.k_norm.weight"}

constexpr TensorSpec kLlama[] = {
    LLAMA_TOP,
    {RopeFreqs, "rope_freqs.weight", false, D::RopeHalf, D::One, false, nullptr},
    ATTN_QKVO,
    // Some converters write Q/K/V biases for llama-family models (optional, as llama.cpp has them).
    {Qb, "attn_q.bias", true, D::QDim, D::One, false, "model.layers.%d.self_attn.q_proj.bias"},
    {Kb, "attn_k.bias", true, D::KVDim, D::One, false, "model.layers.%d.self_attn.k_proj.bias"},
    {Vb, "attn_v.bias", true, D::KVDim, D::One, false, "model.layers.%d.self_attn.v_proj.bias"},
    {FfnNorm, "ffn_norm.weight", true, D::Embd, D::One, true, "model.layers.%d.post_attention_layernorm.weight"},
    FFN_GATED,
};

constexpr TensorSpec kQwen2[] = {
    LLAMA_TOP,
    ATTN_QKVO,
    {Qb, "attn_q.bias", true, D::QDim, D::One, true, "model.layers.%d.self_attn.q_proj.bias"},
    {Kb, "attn_k.bias", true, D::KVDim, D::One, true, "model.layers.%d.self_attn.k_proj.bias"},
    {Vb, "attn_v.bias", true, D::KVDim, D::One, true, "model.layers.%d.self_attn.v_proj.bias"},
    {FfnNorm, "ffn_norm.weight", true, D::Embd, D::One, true, "model.layers.%d.post_attention_layernorm.weight"},
    FFN_GATED,
};

constexpr TensorSpec kQwen3[] = {
    LLAMA_TOP,
    ATTN_QKVO,
    QK_NORM,
    {FfnNorm, "ffn_norm.weight", true, D::Embd, D::One, true, "model.layers.%d.post_attention_layernorm.weight"},
    FFN_GATED,
};

// Gemma: a norm before and after each block; the output is always the token embedding.
#define GEMMA_NORMS                                                                                                   \
  {PostAttnNorm, "post_attention_norm.weight", true, D::Embd, D::One, true,                                           \
   "model.layers.%d.post_attention_layernorm.weight"},                                                                \
  {FfnNorm, "ffn_norm.weight", true, D::Embd, D::One, true, "model.layers.%d.pre_feedforward_layernorm.weight"},      \
  {PostFfnNorm, "post_ffw_norm.weight", true, D::Embd, D::One, true, "model.layers.%d.post_feedforward_layernorm.weight"}

// llama.cpp's gemma2 always ties the output to the token embedding (no output.weight).
constexpr TensorSpec kGemma2[] = {
    {TokEmbd, "token_embd.weight", false, D::Embd, D::Vocab, true, "model.embed_tokens.weight"},
    {OutputNorm, "output_norm.weight", false, D::Embd, D::One, true, "model.norm.weight"},
    ATTN_QKVO,
    GEMMA_NORMS,
    FFN_GATED,
};

constexpr TensorSpec kGemma3[] = {
    LLAMA_TOP,
    ATTN_QKVO,
    QK_NORM,
    GEMMA_NORMS,
    FFN_GATED,
};

constexpr TensorSpec kPhi3[] = {
    LLAMA_TOP,
    {RopeLong, "rope_factors_long.weight", false, D::RopeHalf, D::One, false, nullptr},
    {RopeShort, "rope_factors_short.weight", false, D::RopeHalf, D::One, false, nullptr},
    {AttnNorm, "attn_norm.weight", true, D::Embd, D::One, true, "model.layers.%d.input_layernorm.weight"},
    {QKV, "attn_qkv.weight", true, D::Embd, D::QKVDim, true, "model.layers.%d.self_attn.qkv_proj.weight"},
    {O, "attn_output.weight", true, D::QDim, D::Embd, true, "model.layers.%d.self_attn.o_proj.weight"},
    {FfnNorm, "ffn_norm.weight", true, D::Embd, D::One, true, "model.layers.%d.post_attention_layernorm.weight"},
    {GateUp, "ffn_up.weight", true, D::Embd, D::FF2, true, "model.layers.%d.mlp.gate_up_proj.weight"},
    {Down, "ffn_down.weight", true, D::FF, D::Embd, true, "model.layers.%d.mlp.down_proj.weight"},
};

// BERT: the embeddings' LayerNorm, then per layer attention with biases, the LayerNorm after
// attention (attn_output_norm), the FFN with biases and the LayerNorm after it.
constexpr TensorSpec kBert[] = {
    {TokEmbd, "token_embd.weight", false, D::Embd, D::Vocab, true, "embeddings.word_embeddings.weight"},
    {PosEmbd, "position_embd.weight", false, D::Embd, D::Ctx, true, "embeddings.position_embeddings.weight"},
    {TokTypes, "token_types.weight", false, D::Embd, D::Any, false, "embeddings.token_type_embeddings.weight"},
    {EmbdNorm, "token_embd_norm.weight", false, D::Embd, D::One, true, "embeddings.LayerNorm.weight"},
    {EmbdNormB, "token_embd_norm.bias", false, D::Embd, D::One, true, "embeddings.LayerNorm.bias"},
    {Q, "attn_q.weight", true, D::Embd, D::Embd, true, "encoder.layer.%d.attention.self.query.weight"},
    {Qb, "attn_q.bias", true, D::Embd, D::One, false, "encoder.layer.%d.attention.self.query.bias"},
    {K, "attn_k.weight", true, D::Embd, D::Embd, true, "encoder.layer.%d.attention.self.key.weight"},
    {Kb, "attn_k.bias", true, D::Embd, D::One, false, "encoder.layer.%d.attention.self.key.bias"},
    {V, "attn_v.weight", true, D::Embd, D::Embd, true, "encoder.layer.%d.attention.self.value.weight"},
    {Vb, "attn_v.bias", true, D::Embd, D::One, false, "encoder.layer.%d.attention.self.value.bias"},
    {O, "attn_output.weight", true, D::Embd, D::Embd, true, "encoder.layer.%d.attention.output.dense.weight"},
    {Ob, "attn_output.bias", true, D::Embd, D::One, false, "encoder.layer.%d.attention.output.dense.bias"},
    {AttnNorm, "attn_output_norm.weight", true, D::Embd, D::One, true, "encoder.layer.%d.attention.output.LayerNorm.weight"},
    {AttnNormB, "attn_output_norm.bias", true, D::Embd, D::One, true, "encoder.layer.%d.attention.output.LayerNorm.bias"},
    {Up, "ffn_up.weight", true, D::Embd, D::FF, true, "encoder.layer.%d.intermediate.dense.weight"},
    {UpB, "ffn_up.bias", true, D::FF, D::One, false, "encoder.layer.%d.intermediate.dense.bias"},
    {Down, "ffn_down.weight", true, D::FF, D::Embd, true, "encoder.layer.%d.output.dense.weight"},
    {DownB, "ffn_down.bias", true, D::Embd, D::One, false, "encoder.layer.%d.output.dense.bias"},
    {FfnNorm, "layer_output_norm.weight", true, D::Embd, D::One, true, "encoder.layer.%d.output.LayerNorm.weight"},
    {FfnNormB, "layer_output_norm.bias", true, D::Embd, D::One, true, "encoder.layer.%d.output.LayerNorm.bias"},
};

constexpr const char* kLlamaHf[] = {"LlamaForCausalLM", "MistralForCausalLM"};
constexpr const char* kQwen2Hf[] = {"Qwen2ForCausalLM"};
constexpr const char* kQwen3Hf[] = {"Qwen3ForCausalLM"};
constexpr const char* kGemma2Hf[] = {"Gemma2ForCausalLM"};
constexpr const char* kGemma3Hf[] = {"Gemma3ForCausalLM"};
constexpr const char* kPhi3Hf[] = {"Phi3ForCausalLM"};
constexpr const char* kBertHf[] = {"BertModel", "BertForMaskedLM"};

//  name      encoder neox   act               embd_scale q_pre  swa  swa_base  window  softcap  27B  eps
constexpr ArchSpec kArchs[] = {
    {"llama", false, false, Activation::Silu, false, false, 0, 0.f, 0, false, 0, 1e-5f, kLlama, kLlamaHf},
    {"qwen2", false, true, Activation::Silu, false, false, 0, 0.f, 0, false, 0, 1e-6f, kQwen2, kQwen2Hf},
    {"qwen3", false, true, Activation::Silu, false, false, 0, 0.f, 0, false, 0, 1e-6f, kQwen3, kQwen3Hf},
    {"gemma2", false, true, Activation::Gelu, true, true, 2, 0.f, 4096, true, 46, 1e-6f, kGemma2, kGemma2Hf},
    {"gemma3", false, true, Activation::Gelu, true, true, 6, 10000.f, 0, false, 62, 1e-6f, kGemma3, kGemma3Hf},
    {"phi3", false, true, Activation::Silu, false, true, 0, 0.f, 0, false, 0, 1e-5f, kPhi3, kPhi3Hf},
    {"bert", true, false, Activation::Gelu, false, false, 0, 0.f, 0, false, 0, 1e-12f, kBert, kBertHf},
};

}  // namespace

std::span<const ArchSpec> architectures() { return kArchs; }

const ArchSpec* find_arch(const std::string& name) {
  for (const ArchSpec& a : kArchs)
    if (name == a.name) return &a;
  return nullptr;
}

std::string arch_names() {
  std::string s;
  for (const ArchSpec& a : kArchs) s += std::string(s.empty() ? "" : ", ") + a.name;
  return s;
}

int64_t dim_value(Dim d, const Hyper& h) {
  switch (d) {
    case Dim::Embd: return h.n_embd;
    case Dim::Vocab: return h.n_vocab > 0 ? h.n_vocab : -1;
    case Dim::Ctx: return h.n_ctx > 0 ? h.n_ctx : -1;
    case Dim::Any: return -1;
    case Dim::QDim: return h.n_head * h.head_dim;
    case Dim::KVDim: return h.n_head_kv * h.head_dim;
    case Dim::QKVDim: return (h.n_head + 2 * h.n_head_kv) * h.head_dim;
    case Dim::HeadDim: return h.head_dim;
    case Dim::FF: return h.n_ff;
    case Dim::FF2: return 2 * h.n_ff;
    case Dim::RopeHalf: return h.n_rot / 2;
    case Dim::One: return 1;
  }
  return -1;
}

std::string tensor_name(const TensorSpec& t, int64_t layer) {
  return t.layer ? "blk." + std::to_string(layer) + "." + t.name : std::string(t.name);
}

}  // namespace llmkit
