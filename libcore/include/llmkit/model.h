// A transformer loaded from a GGUF file: the decoders and encoders of the architecture table
// (arch.h): hyperparameters from metadata, weights used in place from the mapping (any type llmkit
// can dequantize).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "llmkit/arch.h"
#include "llmkit/gguf.h"
#include "llmkit/kv_cache.h"

namespace llmkit::kernels::onednn {
class Product;
}

namespace llmkit {

struct ModelParams {
  std::string arch;
  const ArchSpec* spec = nullptr;
  int64_t n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, n_vocab = 0, n_ctx_train = 0;
  int64_t head_dim = 0, n_rot = 0;  // head_dim from attention.key_length, else n_embd / n_head
  int64_t q_dim() const { return n_head * head_dim; }
  int64_t kv_dim() const { return n_head_kv * head_dim; }
  // Rope: angle = pos * base^(-2i/n_rot) / factor_i / scale; cos and sin times attn_factor.
  // Windowed layers have their own base and scale.
  float rope_base = 10000.f, rope_scale = 1.f, rope_base_swa = 10000.f, rope_scale_swa = 1.f, rope_attn_factor = 1.f;
  int64_t n_ctx_orig = 0;  // LongRoPE: contexts beyond this use the long factors
  float norm_eps = 1e-5f;
  bool rope_neox = false;  // rotate pairs (i, i + n_rot/2) instead of (2i, 2i+1)
  Activation act = Activation::Silu;
  bool embd_scale = false;     // embeddings times sqrt(n_embd)
  float q_scale = 0.f;         // > 0: queries are multiplied by it and scores are not scaled
  float attn_softcap = 0.f;    // > 0: scores = cap * tanh(scores / cap)
  float final_softcap = 0.f;   // > 0: the same on the logits
  int64_t swa_window = 0;      // windowed layers attend to the last swa_window positions
  std::vector<uint8_t> swa_layer;  // 1: layer l is windowed
  bool layer_is_swa(int64_t l) const { return swa_window > 0 && swa_layer[static_cast<size_t>(l)]; }
  // Encoders: LayerNorm after attention and after the FFN, GELU, learned positions, and
  // attention over the whole sequence (bert.attention.causal false).
  bool encoder = false;
  bool causal = true;
  int pooling = -1;  // <arch>.pooling_type: 0 none, 1 mean, 2 cls, 3 last, 4 rank; -1 absent
};

// A weight matrix: its tensor in the file, and, when this CPU has a faster kernel for an
// interleaved layout of the type, its first packed_rows rows repacked into that layout at load
// (the rest, fewer than one group, stay in the file's layout).
struct Weight {
  const TensorInfo* t = nullptr;
  const uint8_t* packed = nullptr;
  int64_t packed_rows = 0;
  // F32 and BF16 weights: products of at least dnn_min_tokens tokens go through oneDNN.
  const kernels::onednn::Product* dnn = nullptr;
  int64_t dnn_min_tokens = 0;
  const TensorInfo& operator*() const { return *t; }
  const TensorInfo* operator->() const { return t; }
};

// Who computes the F32 and BF16 weight products (the other types always use llmkit's kernels):
// Auto picks oneDNN for products of enough tokens (a prompt, several sequences) where oneDNN has
// native kernels for the type; Cpu never uses it, OneDnn always does (A/B runs: --backend).
enum class Backend { Auto, Cpu, OneDnn };
// "auto", "cpu", "onednn" -> Backend; Error("usage") otherwise.
Backend parse_backend(const std::string& name);

struct LoadOptions {
  bool repack = true;  // false: weights only in place, as in the file (llama.cpp's --no-repack)
  Backend backend = Backend::Auto;
  // Check the header only (hyperparameters, every tensor's presence and shape), reading no tensor
  // data: what gguf-convert runs on the file it is about to write. Such a model cannot compute.
  bool header_only = false;
};

struct LayerWeights {
  // wqkv: Q, K and V in one matrix (Phi-3); w_gate_up: gate and up in one (Phi-3). No w_gate in an
  // encoder.
  Weight wq, wk, wv, wqkv, wo, w_gate, w_up, w_gate_up, w_down;
  // Small vectors, converted to F32 once at load instead of on every forward pass. Empty when the
  // model has none. In an encoder attn_norm/ffn_norm are the LayerNorms after attention and after
  // the FFN, with their biases. q_norm/k_norm: per-head RMS norms of the queries and keys;
  // post_attn_norm/post_ffn_norm: RMS norms of each block's output before the residual (Gemma).
  std::vector<float> attn_norm, ffn_norm, bq, bk, bv, bo, b_up, b_down, attn_norm_b, ffn_norm_b;
  std::vector<float> q_norm, k_norm, post_attn_norm, post_ffn_norm;
};

class Model {
 public:
  // Throws Error("unsupported_model" | "bad_model", ...) naming what is missing or wrong.
  static std::unique_ptr<Model> load(std::shared_ptr<const GgufFile> file, const LoadOptions& opt = {});
  ~Model();

  const ModelParams& params() const { return p_; }
  const GgufFile& file() const { return *file_; }
  const TensorInfo& token_embd() const { return *tok_embd_; }
  const std::vector<float>& output_norm() const { return out_norm_; }
  const Weight& output() const { return output_; }  // the token embedding when tied
  uint64_t packed_bytes() const { return packed_bytes_; }  // memory held by repacked weights
  // "CPU", or "CPU+oneDNN" when some products go through oneDNN (llm-bench's backend column).
  std::string backend_name() const { return dnn_.empty() ? "CPU" : "CPU+oneDNN"; }
  const std::vector<LayerWeights>& layers() const { return layers_; }
  // Every weight matrix a product reads: the output, then each layer's that the model has.
  std::vector<const Weight*> matrices() const;
  // Encoders: learned positions, the token-type embedding of type 0, the embeddings' LayerNorm.
  const TensorInfo* pos_embd() const { return pos_embd_; }
  const std::vector<float>& type_embd() const { return type_embd_; }
  const std::vector<float>& embd_norm() const { return embd_norm_; }
  const std::vector<float>& embd_norm_b() const { return embd_norm_b_; }
  // Rope frequency divisors, n_rot/2 of them, for a context of n_ctx tokens per sequence (empty:
  // none): Llama 3's rope_freqs, or Phi-3's long factors beyond its original context.
  const std::vector<float>& rope_factors(int64_t n_ctx) const {
    if (!rope_freqs_.empty()) return rope_freqs_;
    return n_ctx > p_.n_ctx_orig && !rope_long_.empty() ? rope_long_ : rope_short_;
  }

 private:
  std::shared_ptr<const GgufFile> file_;
  ModelParams p_;
  const TensorInfo* tok_embd_ = nullptr;
  Weight output_;
  struct FreeDeleter {
    void operator()(void* p) const;
  };
  std::unique_ptr<uint8_t, FreeDeleter> packed_;  // every repacked weight, one after another
  uint64_t packed_bytes_ = 0;
  static uint64_t packed_size(const Weight& w);  // bytes w takes repacked (64-aligned); 0: not repacked
  void repack(Weight& w, uint8_t* dst);
  std::vector<std::unique_ptr<kernels::onednn::Product>> dnn_;
  bool header_only_ = false;
  void use_onednn(Backend backend);
  std::vector<Weight*> mutable_matrices();  // every weight matrix a product reads: output, then each layer's
  std::vector<float> out_norm_;
  std::vector<LayerWeights> layers_;
  const TensorInfo* pos_embd_ = nullptr;
  std::vector<float> type_embd_, embd_norm_, embd_norm_b_;
  std::vector<float> rope_freqs_, rope_long_, rope_short_;
  float llama3_factor_ = 0.f;  // rope.scaling.type llama3: the factor its rope_freqs come from
  void read_hparams();
  void load_tensors();
  Weight* matrix_slot(Role r, LayerWeights* w);
  std::vector<float>* vector_slot(Role r, LayerWeights* w);
};

// Tokens to run together in one forward pass: any mix of sequences (slots of the KV cache). The
// tokens of one sequence take the next positions of that sequence, in batch order.
struct Batch {
  std::vector<int32_t> token, seq;
  std::vector<uint8_t> logits;  // 1: return this token's logits
  void add(int32_t tok, int32_t s, bool want_logits) {
    token.push_back(tok);
    seq.push_back(s);
    logits.push_back(want_logits);
  }
  void clear() { token.clear(), seq.clear(), logits.clear(); }
  size_t size() const { return token.size(); }
};

enum class DecodeOutput {
  Logits,  // n_vocab floats per marked token
  Hidden,  // the final hidden state after the output norm: n_embd floats per marked token
};

// Sees the input of every weight product of a decoder pass (llm-imatrix sums its squares): `x` is
// n rows of w.ne[0] floats, the batch's tokens in batch order (the output product: the marked ones).
struct ProductObserver {
  virtual ~ProductObserver() = default;
  virtual void on_product(const TensorInfo& w, const float* x, int64_t n) = 0;
};

// Runs a batch through a decoder and appends its keys and values to the cache. Returns, for every
// token marked in batch.logits, in batch order, its logits (or hidden state). Throws
// Error("context_full") when a sequence would outgrow the cache (nothing is written then).
std::vector<float> decode(const Model& m, KvCache& kv, const Batch& batch, DecodeOutput out = DecodeOutput::Logits,
                          ProductObserver* observer = nullptr);

// Runs sequences through an encoder, all in one pass; each token attends to every token of its
// own sequence. Returns the final hidden states, n_embd floats per token, the sequences one after
// another. Throws Error("context_full") for a sequence longer than the model's positions.
std::vector<float> encode(const Model& m, std::span<const std::vector<int32_t>> seqs);

// One sequence (slot 0): `tokens` at positions n_past .. n_past+n-1, in batches of at most
// n_batch tokens. Returns the logits of every position when all_logits, else of the last one.
std::vector<float> forward(const Model& m, KvCache& kv, const std::vector<int32_t>& tokens, bool all_logits,
                           int64_t n_batch = 512, ProductObserver* observer = nullptr);

}  // namespace llmkit
