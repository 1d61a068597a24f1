#include "llmkit/model.h"

#include <sys/mman.h>

#include <cmath>
#include <optional>
#include <cstdlib>

#include "llmkit/error.h"
#include "onednn/onednn_matmul.h"
#include "llmkit/quant.h"
#include "llmkit/shapes.h"
#include "quant/kernel_ops.h"

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
  // A weight oneDNN computes (BF16 where it has native kernels) keeps the file's layout alone:
  // its prompts would read the file's copy and its generation the packed one, two copies resident.
  if (w.dnn) return 0;
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
  // The file's copy is read again only for the rows left over, or, when the output is tied to the
  // token embedding, for the rows of the tokens looked up: page it out of this process rather
  // than hold both copies (the rows looked up come back from the page cache; a 262k-token Gemma
  // vocabulary would otherwise keep 178 MB twice).
  if (w.packed_rows == w.t->ne[1]) file_->release_tensor_data(*w.t);
}

std::unique_ptr<Model> Model::load(std::shared_ptr<const GgufFile> file, const LoadOptions& opt) {
  auto m = std::unique_ptr<Model>(new Model());
  m->file_ = std::move(file);
  m->header_only_ = opt.header_only;
  m->read_hparams();
  m->load_tensors();
  if (opt.header_only) return m;
  m->use_onednn(opt.backend);
  if (opt.repack) {  // one allocation for all the repacked weights, so no page is left part-used
    const std::vector<Weight*> ws = m->mutable_matrices();
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
  for (Weight* x : mutable_matrices()) {
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

std::vector<const Weight*> Model::matrices() const {
  std::vector<const Weight*> out;
  for (Weight* w : const_cast<Model*>(this)->mutable_matrices()) out.push_back(w);
  return out;
}

std::vector<Weight*> Model::mutable_matrices() {
  std::vector<Weight*> ws;
  if (output_.t) ws.push_back(&output_);
  for (LayerWeights& w : layers_)
    for (Weight* x : {&w.wq, &w.wk, &w.wv, &w.wqkv, &w.wo, &w.w_gate, &w.w_up, &w.w_gate_up, &w.w_down})
      if (x->t) ws.push_back(x);
  return ws;
}

// Hyperparameters from the metadata, checked for consistency, and the architecture's flags.
void Model::read_hparams() {
  const GgufFile& f = *file_;
  ModelParams& p = p_;
  p.arch = f.get_opt<std::string>("general.architecture").value_or("");
  p.spec = find_arch(p.arch);
  if (!p.spec) throw Error("unsupported_model", "architecture '" + p.arch + "' is not supported (" + arch_names() + ")");
  const ArchSpec& a = *p.spec;
  p.encoder = a.encoder;
  auto key = [&](const char* k) { return p.arch + "." + k; };
  auto hp = [&](const char* k, bool required, int64_t fallback) -> int64_t {
    auto v = f.get_int(key(k));
    if (!v && required) throw Error("bad_model", "metadata key '" + key(k) + "' is missing");
    return v.value_or(fallback);
  };
  auto hpf = [&](const char* k, float fallback) { return f.get_opt<float>(key(k)).value_or(fallback); };
  p.n_embd = hp("embedding_length", true, 0);
  p.n_layer = hp("block_count", true, 0);
  p.n_head = hp("attention.head_count", true, 0);
  p.n_head_kv = hp("attention.head_count_kv", false, p.n_head);
  p.n_ff = hp("feed_forward_length", true, 0);
  p.n_ctx_train = hp("context_length", a.encoder, 2048);
  p.pooling = static_cast<int>(hp("pooling_type", false, -1));
  if (p.n_embd <= 0 || p.n_layer <= 0 || p.n_head <= 0 || p.n_head_kv <= 0 || p.n_ff <= 0 || p.n_head % p.n_head_kv)
    throw Error("bad_model", "inconsistent hyperparameters (embedding " + std::to_string(p.n_embd) + ", layers " +
                                 std::to_string(p.n_layer) + ", heads " + std::to_string(p.n_head) + ", KV heads " +
                                 std::to_string(p.n_head_kv) + ", feed-forward " + std::to_string(p.n_ff) +
                                 "): every one must be positive and the KV heads must divide the heads");
  if (p.n_layer > 100000 || p.n_embd > (int64_t(1) << 20) || p.n_head > 65536 || p.n_ff > (int64_t(1) << 24))
    throw Error("bad_model", "hyperparameters out of range (embedding, layers, heads, feed-forward)");
  const std::optional<int64_t> key_len = f.get_int(key("attention.key_length"));
  const std::optional<int64_t> value_len = f.get_int(key("attention.value_length"));
  if (!key_len && p.n_embd % p.n_head)
    throw Error("bad_model", "the embedding " + std::to_string(p.n_embd) + " does not divide into " + std::to_string(p.n_head) +
                                 " heads, and " + key("attention.key_length") + " is absent");
  p.head_dim = key_len.value_or(p.n_embd / p.n_head);
  if (p.head_dim <= 0 || p.head_dim > 65536)
    throw Error("bad_model", key("attention.key_length") + " = " + std::to_string(p.head_dim) + " is out of range");
  if (value_len && *value_len != p.head_dim)
    throw Error("unsupported_model", key("attention.value_length") + " (" + std::to_string(*value_len) + ") differs from " +
                                         key("attention.key_length") + " (" + std::to_string(p.head_dim) + ")");
  if (auto c = f.get_opt<bool>(key("attention.causal"))) p.causal = *c;
  else p.causal = !a.encoder;
  p.norm_eps = a.norm_eps;
  if (a.encoder) {
    if (p.n_head_kv != p.n_head) throw Error("bad_model", "an encoder's KV heads must equal its heads");
    if (p.n_ctx_train <= 0) throw Error("bad_model", "bad context_length");
    if (p.head_dim * p.n_head != p.n_embd) throw Error("bad_model", "an encoder's heads must span its embedding");
    p.norm_eps = hpf("attention.layer_norm_epsilon", p.norm_eps);
  } else {
    p.norm_eps = hpf("attention.layer_norm_rms_epsilon", p.norm_eps);
    p.n_rot = hp("rope.dimension_count", false, p.head_dim);
    if (p.n_rot <= 0 || p.n_rot > p.head_dim || p.n_rot % 2)
      throw Error("bad_model", key("rope.dimension_count") + " = " + std::to_string(p.n_rot) +
                                   ": must be even and at most the head size " + std::to_string(p.head_dim));
    p.rope_base = hpf("rope.freq_base", 10000.f);
    // The scaling factor divides positions (linear); the old key first, the current one wins.
    p.rope_scale = hpf("rope.scale_linear", 1.f);
    p.rope_scale = hpf("rope.scaling.factor", p.rope_scale);
    if (p.rope_scale == 0.f) p.rope_scale = 1.f;
    p.rope_attn_factor = hpf("rope.scaling.attn_factor", 1.f);
    p.n_ctx_orig = hp("rope.scaling.original_context_length", false, p.n_ctx_train);
    const std::string scaling = f.get_opt<std::string>(key("rope.scaling.type")).value_or("linear");
    if (scaling != "linear" && scaling != "none" && scaling != "longrope" && scaling != "llama3")
      throw Error("unsupported_model", key("rope.scaling.type") + " '" + scaling + "' is not supported (linear, llama3, longrope)");
    // Llama 3.1's scaling divides each pair's frequency by its own factor (rope_freqs): computed
    // here by Meta's rule from the keys when the file has no such tensor.
    if (scaling == "llama3") {
      llama3_factor_ = p.rope_scale;
      p.rope_scale = 1.f;
    }
    p.rope_neox = a.rope_neox;
    p.act = a.act;
    p.embd_scale = a.embd_scale;
    if (a.q_prescale)
      p.q_scale = 1.0f / std::sqrt(static_cast<float>(a.embd_head_scale_layers && p.n_layer == a.embd_head_scale_layers
                                                          ? p.n_embd / p.n_head
                                                          : p.head_dim));
    if (a.attn_softcap) p.attn_softcap = hpf("attn_logit_softcapping", 50.f);
    p.final_softcap = hpf("final_logit_softcapping", a.attn_softcap ? 30.f : 0.f);
    if (a.swa_period) {
      p.swa_window = hp("attention.sliding_window", false, a.swa_default_window);
      const int64_t period = hp("attention.sliding_window_pattern", false, a.swa_period);
      if (p.swa_window < 0 || period < 0) throw Error("bad_model", key("attention.sliding_window") + " is negative");
      p.swa_layer.resize(static_cast<size_t>(p.n_layer));
      for (int64_t l = 0; l < p.n_layer; ++l) p.swa_layer[static_cast<size_t>(l)] = period == 0 || l % period < period - 1;
      p.rope_base_swa = hpf("rope.freq_base_swa", a.swa_rope_base > 0 ? a.swa_rope_base : p.rope_base);
      p.rope_scale_swa = a.swa_rope_base > 0 ? 1.f : p.rope_scale;
    }
    for (auto [what, v] : {std::pair{"rope.freq_base", p.rope_base}, {"rope.freq_base_swa", p.rope_base_swa},
                           {"rope scaling factor", p.rope_scale}, {"rope.scaling.attn_factor", p.rope_attn_factor},
                           {"attn_logit_softcapping", p.attn_softcap + 1}, {"final_logit_softcapping", p.final_softcap + 1}})
      if (!std::isfinite(v) || v <= 0)
        throw Error("bad_model", p.arch + "." + what + " = " + std::to_string(v) + ": must be a positive number");
  }
  // A NaN or negative epsilon gives NaN norms, and every output after them is garbage.
  if (!std::isfinite(p.norm_eps) || p.norm_eps < 0 || p.norm_eps >= 1)
    throw Error("bad_model", "the normalization epsilon " + std::to_string(p.norm_eps) + " is not a small non-negative number");
}

Weight* Model::matrix_slot(Role r, LayerWeights* w) {
  switch (r) {
    case Role::Output: return &output_;
    case Role::Q: return &w->wq;
    case Role::K: return &w->wk;
    case Role::V: return &w->wv;
    case Role::QKV: return &w->wqkv;
    case Role::O: return &w->wo;
    case Role::Gate: return &w->w_gate;
    case Role::Up: return &w->w_up;
    case Role::GateUp: return &w->w_gate_up;
    case Role::Down: return &w->w_down;
    default: return nullptr;
  }
}

std::vector<float>* Model::vector_slot(Role r, LayerWeights* w) {
  switch (r) {
    case Role::EmbdNorm: return &embd_norm_;
    case Role::EmbdNormB: return &embd_norm_b_;
    case Role::OutputNorm: return &out_norm_;
    case Role::RopeFreqs: return &rope_freqs_;
    case Role::RopeLong: return &rope_long_;
    case Role::RopeShort: return &rope_short_;
    case Role::AttnNorm: return &w->attn_norm;
    case Role::AttnNormB: return &w->attn_norm_b;
    case Role::Qb: return &w->bq;
    case Role::Kb: return &w->bk;
    case Role::Vb: return &w->bv;
    case Role::Ob: return &w->bo;
    case Role::QNorm: return &w->q_norm;
    case Role::KNorm: return &w->k_norm;
    case Role::PostAttnNorm: return &w->post_attn_norm;
    case Role::FfnNorm: return &w->ffn_norm;
    case Role::FfnNormB: return &w->ffn_norm_b;
    case Role::UpB: return &w->b_up;
    case Role::DownB: return &w->b_down;
    case Role::PostFfnNorm: return &w->post_ffn_norm;
    default: return nullptr;
  }
}

// Every tensor of the architecture's list: present when required, of the shape its
// hyperparameters give, in its slot. The model-wide ones first (the vocabulary size comes from
// the token embedding), then each layer's.
void Model::load_tensors() {
  const GgufFile& f = *file_;
  ModelParams& p = p_;
  Hyper h{p.n_embd, p.n_head, p.n_head_kv, p.head_dim, p.n_ff, 0, p.encoder ? p.n_ctx_train : 0, p.n_rot};
  layers_.resize(static_cast<size_t>(p.n_layer));
  for (const TensorSpec& t : p.spec->tensors)
    if (t.role == Role::TokEmbd) {
      tok_embd_ = need(f, t.name, p.n_embd, -1);
      h.n_vocab = p.n_vocab = tok_embd_->ne[1];
    }
  if (!tok_embd_) throw Error("bad_model", "the architecture table lists no token embedding for " + p.arch);
  for (const bool per_layer : {false, true})
    for (const TensorSpec& t : p.spec->tensors) {
      if (t.layer != per_layer || t.role == Role::TokEmbd) continue;
      for (int64_t l = 0; l < (per_layer ? p.n_layer : 1); ++l) {
        const std::string name = tensor_name(t, l);
        if (!t.required && !f.find_tensor(name)) continue;
        LayerWeights* w = per_layer ? &layers_[static_cast<size_t>(l)] : nullptr;
        const int64_t ne0 = dim_value(t.ne0, h), ne1 = dim_value(t.ne1, h);
        if (t.ne1 == Dim::One) {
          std::vector<float>* v = vector_slot(t.role, w);
          *v = vector_tensor(f, name, ne0, true, !header_only_);
          continue;
        }
        const TensorInfo* ti = need(f, name, ne0, ne1);
        if (t.ne1 == Dim::Ctx && ti->ne[1] < p.n_ctx_train)
          throw Error("bad_model", name + " has " + std::to_string(ti->ne[1]) + " rows, fewer than the context length " +
                                       std::to_string(p.n_ctx_train));
        if (t.role == Role::PosEmbd) pos_embd_ = ti;
        else if (t.role == Role::TokTypes) {
          if (!header_only_) {
            std::vector<float> all = dequantize_tensor(f, *ti);
            type_embd_.assign(all.begin(), all.begin() + p.n_embd);  // every token is of type 0
          }
        } else matrix_slot(t.role, w)->t = ti;
      }
    }
  if (!output_.t && !p.encoder) output_.t = tok_embd_;
  if (llama3_factor_ > 0 && rope_freqs_.empty()) {
    const auto key = [&](const char* k) { return p.arch + "." + k; };
    rope_freqs_ = llama3_rope_factors(p.rope_base, p.n_rot, llama3_factor_,
                                      f.get_opt<float>(key("rope.scaling.low_freq_factor")).value_or(1.f),
                                      f.get_opt<float>(key("rope.scaling.high_freq_factor")).value_or(4.f),
                                      f.get_int(key("rope.scaling.original_context_length")).value_or(8192));
    for (float v : rope_freqs_)
      if (!std::isfinite(v) || v <= 0)
        throw Error("bad_model", p.arch + ".rope.scaling.* give a rope factor that is not a positive number");
  }
}

}  // namespace llmkit
