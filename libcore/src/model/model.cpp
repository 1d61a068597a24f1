#include "llmkit/model.h"

#include <sys/mman.h>

#include <cmath>
#include <cstdlib>

#include "llmkit/error.h"
#include "onednn/onednn_matmul.h"
#include "llmkit/quant.h"

namespace llmkit {
namespace {

const TensorInfo* need(const GgufFile& f, const std::string& name, int64_t ne0, int64_t ne1) {
  const TensorInfo* t = f.find_tensor(name);
  if (!t) throw Error("bad_model", "tensor '" + name + "' is missing");
  if (t->ne[0] != ne0 || (ne1 >= 0 && t->ne[1] != ne1))
    throw Error("bad_model", "tensor '" + name + "' has shape [" + std::to_string(t->ne[0]) + ", " +
                                 std::to_string(t->ne[1]) + "], expected [" + std::to_string(ne0) + ", " +
                                 std::to_string(ne1) + "]");
  if (!can_dequantize(t->type))
    throw Error("unsupported_model", "tensor '" + name + "' is " + ggml_type_name(t->type) + ", which llmkit cannot compute with yet");
  return t;
}

// A vector (norm weights, biases), read as F32; with `read` false only checked (header only).
std::vector<float> vector_tensor(const GgufFile& f, const std::string& name, int64_t ne0, bool required, bool read) {
  if (!required && !f.find_tensor(name)) return {};
  const TensorInfo* t = need(f, name, ne0, -1);
  if (t->ne[1] != 1 || t->ne[2] != 1 || t->ne[3] != 1)
    throw Error("bad_model", "tensor '" + name + "' has " + std::to_string(t->n_dims) + " dimensions; a vector of " +
                                 std::to_string(ne0) + " was expected");
  return read ? dequantize_tensor(f, *t) : std::vector<float>{};
}

// Repacked weights are streamed whole once per token. On 4 KiB pages that is one TLB miss per
// 4 KiB read, and under a hypervisor each miss walks two page tables; 2 MiB pages (where the
// kernel's transparent huge pages allow madvise) take that cost away.
uint8_t* alloc_weights(uint64_t bytes) {
  constexpr uint64_t huge = 2u << 20;
  const bool big = bytes >= huge;
  const uint64_t align = big ? huge : 64;
  const uint64_t size = (bytes + align - 1) / align * align;
  auto* p = static_cast<uint8_t*>(std::aligned_alloc(align, size));
  if (p && big) madvise(p, size, MADV_HUGEPAGE);  // advice only: 4 KiB pages still work
  return p;
}

}  // namespace

void Model::FreeDeleter::operator()(void* p) const { std::free(p); }

uint64_t Model::packed_size(const Weight& w) {
  const PackedOps* ops = packed_ops(w.t->type);
  const int64_t groups = w.t->ne[1] / (ops ? ops->rows : 1);
  if (!ops || groups == 0) return 0;
  return (ops->group_bytes(w.t->ne[0]) * static_cast<uint64_t>(groups) + 63) / 64 * 64;
}

void Model::repack(Weight& w, uint8_t* dst) {
  const PackedOps* ops = packed_ops(w.t->type);
  const int64_t n = w.t->ne[0], groups = w.t->ne[1] / ops->rows;
  const uint64_t group_bytes = ops->group_bytes(n);
  const uint8_t* src = file_->tensor_data(*w.t).data();
  const uint64_t row_bytes = ggml_bytes(w.t->type, static_cast<uint64_t>(n));
#pragma omp parallel for schedule(static)
  for (int64_t g = 0; g < groups; ++g)
    ops->pack(src + static_cast<uint64_t>(g * ops->rows) * row_bytes, row_bytes, n, dst + static_cast<uint64_t>(g) * group_bytes);
  w.packed = dst;
  w.packed_rows = groups * ops->rows;
  // The file's copy is read again only for the rows left over, or as the token embedding when
  // the output is tied to it: page it out of this process rather than hold both copies.
  if (w.packed_rows == w.t->ne[1] && w.t != tok_embd_) file_->release_tensor_data(*w.t);
}

std::unique_ptr<Model> Model::load(std::shared_ptr<const GgufFile> file, const LoadOptions& opt) {
  auto m = std::unique_ptr<Model>(new Model());
  m->file_ = std::move(file);
  m->header_only_ = opt.header_only;
  const GgufFile& f = *m->file_;
  ModelParams& p = m->p_;
  p.arch = f.get_opt<std::string>("general.architecture").value_or("");
  if (p.arch != "llama" && p.arch != "qwen2" && p.arch != "bert")
    throw Error("unsupported_model", "architecture '" + p.arch + "' is not supported (llama, qwen2, bert)");
  p.encoder = p.arch == "bert";
  auto hp = [&](const char* key, bool required, int64_t fallback) -> int64_t {
    auto v = f.get_int(p.arch + "." + key);
    if (!v && required) throw Error("bad_model", "metadata key '" + p.arch + "." + key + "' is missing");
    return v.value_or(fallback);
  };
  p.n_embd = hp("embedding_length", true, 0);
  p.n_layer = hp("block_count", true, 0);
  p.n_head = hp("attention.head_count", true, 0);
  p.n_head_kv = hp("attention.head_count_kv", false, p.n_head);
  p.n_ff = hp("feed_forward_length", true, 0);
  p.n_ctx_train = hp("context_length", !!p.encoder, 2048);
  p.pooling = static_cast<int>(hp("pooling_type", false, -1));
  if (p.n_embd <= 0 || p.n_layer <= 0 || p.n_head <= 0 || p.n_head_kv <= 0 || p.n_ff <= 0 || p.n_embd % p.n_head ||
      p.n_head % p.n_head_kv)
    throw Error("bad_model", "inconsistent hyperparameters (embedding, heads, KV heads, feed-forward)");
  p.head_dim = p.n_embd / p.n_head;
  if (auto c = f.get_opt<bool>(p.arch + ".attention.causal")) p.causal = *c;
  else p.causal = !p.encoder;
  if (p.encoder) {
    if (p.n_head_kv != p.n_head) throw Error("bad_model", "an encoder's KV heads must equal its heads");
    if (p.n_ctx_train <= 0) throw Error("bad_model", "bad context_length");
    p.norm_eps = 1e-12f;
    if (auto e = f.get_opt<float>(p.arch + ".attention.layer_norm_epsilon")) p.norm_eps = *e;
    m->load_encoder();
  } else {
    p.n_rot = hp("rope.dimension_count", false, p.head_dim);
    if (p.n_rot <= 0 || p.n_rot > p.head_dim || p.n_rot % 2) throw Error("bad_model", "bad rope.dimension_count");
    if (auto b = f.get_opt<float>(p.arch + ".rope.freq_base")) p.rope_base = *b;
    if (auto e = f.get_opt<float>(p.arch + ".attention.layer_norm_rms_epsilon")) p.norm_eps = *e;
    if (auto s = f.get_opt<float>(p.arch + ".rope.scale_linear")) p.rope_scale = *s;
    if (auto t = f.get_opt<std::string>(p.arch + ".rope.scaling.type"); t && *t == "linear")
      if (auto s = f.get_opt<float>(p.arch + ".rope.scaling.factor")) p.rope_scale = *s;
    p.rope_neox = p.arch == "qwen2";
    if (!std::isfinite(p.rope_base) || p.rope_base <= 0)
      throw Error("bad_model", p.arch + ".rope.freq_base = " + std::to_string(p.rope_base) + ": must be a positive number");
    if (!std::isfinite(p.rope_scale) || p.rope_scale <= 0)
      throw Error("bad_model", "the rope scaling factor " + std::to_string(p.rope_scale) + " must be a positive number");
    m->load_decoder();
  }
  // A NaN or negative epsilon gives NaN norms, and every output after them is garbage.
  if (!std::isfinite(p.norm_eps) || p.norm_eps < 0 || p.norm_eps >= 1)
    throw Error("bad_model", "the normalization epsilon " + std::to_string(p.norm_eps) + " is not a small non-negative number");
  if (opt.header_only) return m;
  m->use_onednn(opt.backend);
  if (opt.repack) {  // one allocation for all the repacked weights, so no page is left part-used
    const std::vector<Weight*> ws = m->matrices();
    uint64_t total = 0;
    for (const Weight* x : ws) total += packed_size(*x);
    if (total) {
      uint8_t* dst = alloc_weights(total);
      if (!dst) throw Error("out_of_memory", "cannot allocate " + std::to_string(total) + " bytes for the repacked weights");
      m->packed_.reset(dst);
      m->packed_bytes_ = total;
      for (Weight* x : ws)
        if (const uint64_t bytes = packed_size(*x)) {
          m->repack(*x, dst);
          dst += bytes;
        }
    }
  }
  return m;
}

Model::~Model() = default;

Backend parse_backend(const std::string& name) {
  if (name == "auto") return Backend::Auto;
  if (name == "cpu") return Backend::Cpu;
  if (name == "onednn") return Backend::OneDnn;
  throw Error("usage", "unknown backend '" + name + "' (auto, cpu, onednn)");
}

// F32 and BF16 weights have no repacked layout and only a row-by-row dot product of our own;
// oneDNN's GEMMs take them as they are in the file. Used only where oneDNN has native kernels
// for the type (BF16 needs AVX512-BF16 or AMX), unless forced. Where it starts to win (2-core
// Zen 5, SmolLM2-360M shape, tokens per product): BF16 at 3 (1: 51 vs 34 tok/s ours, 3: 98 vs
// 76 oneDNN's), F32 at 6 (4: a tie, 8: 140 vs 80); a 512-token prompt 4.8-7.9x.
void Model::use_onednn(Backend backend) {
  if (backend == Backend::Cpu) return;
  bool native[2] = {backend == Backend::OneDnn || kernels::onednn::native(kernels::onednn::WeightType::F32),
                    backend == Backend::OneDnn || kernels::onednn::native(kernels::onednn::WeightType::BF16)};
  for (Weight* x : matrices()) {
    const GgmlType t = (*x)->type;
    if (t != GgmlType::F32 && t != GgmlType::BF16) continue;
    const auto type = t == GgmlType::BF16 ? kernels::onednn::WeightType::BF16 : kernels::onednn::WeightType::F32;
    if (!native[type == kernels::onednn::WeightType::BF16]) continue;
    dnn_.push_back(std::make_unique<kernels::onednn::Product>(type, file_->tensor_data(**x).data(), (*x)->ne[0],
                                                              (*x)->ne[1]));
    x->dnn = dnn_.back().get();
    x->dnn_min_tokens = backend == Backend::OneDnn ? 1 : type == kernels::onednn::WeightType::BF16 ? 3 : 6;
  }
}

std::vector<Weight*> Model::matrices() {
  std::vector<Weight*> ws;
  if (output_.t) ws.push_back(&output_);
  for (LayerWeights& w : layers_)
    for (Weight* x : {&w.wq, &w.wk, &w.wv, &w.wo, &w.w_gate, &w.w_up, &w.w_down})
      if (x->t) ws.push_back(x);
  return ws;
}

void Model::load_decoder() {
  const GgufFile& f = *file_;
  auto small = [&](const std::string& name, int64_t ne0, bool required) {
    return vector_tensor(f, name, ne0, required, !header_only_);
  };
  ModelParams& p = p_;
  tok_embd_ = need(f, "token_embd.weight", p.n_embd, -1);
  p.n_vocab = tok_embd_->ne[1];
  out_norm_ = small("output_norm.weight", p.n_embd, true);
  output_.t = f.find_tensor("output.weight") ? need(f, "output.weight", p.n_embd, p.n_vocab) : tok_embd_;
  const int64_t kv_dim = p.n_head_kv * p.head_dim;
  for (int64_t l = 0; l < p.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    LayerWeights w;
    w.attn_norm = small(b + "attn_norm.weight", p.n_embd, true);
    w.wq.t = need(f, b + "attn_q.weight", p.n_embd, p.n_embd);
    w.wk.t = need(f, b + "attn_k.weight", p.n_embd, kv_dim);
    w.wv.t = need(f, b + "attn_v.weight", p.n_embd, kv_dim);
    w.wo.t = need(f, b + "attn_output.weight", p.n_embd, p.n_embd);
    w.bq = small(b + "attn_q.bias", p.n_embd, false);
    w.bk = small(b + "attn_k.bias", kv_dim, false);
    w.bv = small(b + "attn_v.bias", kv_dim, false);
    w.ffn_norm = small(b + "ffn_norm.weight", p.n_embd, true);
    w.w_gate.t = need(f, b + "ffn_gate.weight", p.n_embd, p.n_ff);
    w.w_up.t = need(f, b + "ffn_up.weight", p.n_embd, p.n_ff);
    w.w_down.t = need(f, b + "ffn_down.weight", p.n_ff, p.n_embd);
    layers_.push_back(std::move(w));
  }
}

// llama.cpp's names for BERT: token, token-type and position embeddings with a LayerNorm, then
// per layer Q/K/V/output with biases, the LayerNorm after attention (attn_output_norm), the FFN
// up/down with biases, and the LayerNorm after the FFN (layer_output_norm). No output head.
void Model::load_encoder() {
  const GgufFile& f = *file_;
  auto small = [&](const std::string& name, int64_t ne0, bool required) {
    return vector_tensor(f, name, ne0, required, !header_only_);
  };
  ModelParams& p = p_;
  const int64_t E = p.n_embd;
  tok_embd_ = need(f, "token_embd.weight", E, -1);
  p.n_vocab = tok_embd_->ne[1];
  pos_embd_ = need(f, "position_embd.weight", E, -1);
  if (pos_embd_->ne[1] < p.n_ctx_train)
    throw Error("bad_model", "position_embd.weight has " + std::to_string(pos_embd_->ne[1]) +
                                 " rows, fewer than the context length " + std::to_string(p.n_ctx_train));
  if (f.find_tensor("token_types.weight")) {
    const TensorInfo* tt = need(f, "token_types.weight", E, -1);
    if (!header_only_) {
      std::vector<float> all = dequantize_tensor(f, *tt);
      type_embd_.assign(all.begin(), all.begin() + E);  // every token is of type 0
    }
  }
  embd_norm_ = small("token_embd_norm.weight", E, true);
  embd_norm_b_ = small("token_embd_norm.bias", E, true);
  for (int64_t l = 0; l < p.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    LayerWeights w;
    w.wq.t = need(f, b + "attn_q.weight", E, E);
    w.wk.t = need(f, b + "attn_k.weight", E, E);
    w.wv.t = need(f, b + "attn_v.weight", E, E);
    w.wo.t = need(f, b + "attn_output.weight", E, E);
    w.bq = small(b + "attn_q.bias", E, false);
    w.bk = small(b + "attn_k.bias", E, false);
    w.bv = small(b + "attn_v.bias", E, false);
    w.bo = small(b + "attn_output.bias", E, false);
    w.attn_norm = small(b + "attn_output_norm.weight", E, true);
    w.attn_norm_b = small(b + "attn_output_norm.bias", E, true);
    w.w_up.t = need(f, b + "ffn_up.weight", E, p.n_ff);
    w.w_down.t = need(f, b + "ffn_down.weight", p.n_ff, E);
    w.b_up = small(b + "ffn_up.bias", p.n_ff, false);
    w.b_down = small(b + "ffn_down.bias", E, false);
    w.ffn_norm = small(b + "layer_output_norm.weight", E, true);
    w.ffn_norm_b = small(b + "layer_output_norm.bias", E, true);
    layers_.push_back(std::move(w));
  }
}

}  // namespace llmkit
