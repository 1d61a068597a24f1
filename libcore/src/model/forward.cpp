// The decoder forward pass, one layer at a time for a batch of tokens of any sequences: norms,
// the weight products (matmul.cpp), rope, attention over the cache (attention.cpp), the gated FFN.
// What differs between architectures comes from ModelParams (the architecture table and the
// file's keys) and from which weights the model has. Numerics follow llama.cpp's CPU path where
// it matters for agreement: iterative rope angles, double sums in RMS norm, GELU through ggml's
// F16 table.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "attention.h"
#include "cpu/gelu.h"
#include "cpu/swiglu.h"
#include "llmkit/error.h"
#include "llmkit/model.h"
#include "llmkit/quant.h"
#include "matmul.h"

namespace llmkit {
namespace {

namespace k = kernels;
using detail::add_bias;
using detail::AttentionBuffers;
using detail::attend;
using detail::BatchLayout;
using detail::KvRows;
using detail::add_into;
using detail::matmul;
using detail::reuse;

struct Activations {
  std::vector<float> x, xn, q, att, tmp, kk, vv, qkv, g, u, gu;
  std::vector<int64_t> pos, next;
  AttentionBuffers attn;
};

void rms_norm_row(const float* x, const float* w, float eps, float* y, int64_t dim) {
  double ss = 0;
  for (int64_t i = 0; i < dim; ++i) ss += double(x[i]) * x[i];
  const float scale = 1.0f / std::sqrt(static_cast<float>(ss / double(dim)) + eps);
  for (int64_t i = 0; i < dim; ++i) y[i] = x[i] * scale * w[i];
}

// The per-token steps run across threads for prompts (where, left serial, they would cap how
// far a second thread speeds things up) and on the calling thread for a few tokens.
void rms_norm(const float* x, const std::vector<float>& w, float eps, float* y, int64_t n, int64_t dim) {
#pragma omp parallel for schedule(static) if (n >= 8)
  for (int64_t t = 0; t < n; ++t) rms_norm_row(x + t * dim, w.data(), eps, y + t * dim, dim);
}

// Rope as ggml computes it: the angle of pair i is pos * base^(-2i/n_rot), built by repeated
// multiplication, divided by the pair's frequency factor and by the scaling factor; cos and sin
// times attn_factor.
struct Rope {
  float base, scale, attn_factor;
  const float* factors;  // n_rot/2 divisors, or nullptr
};

void rope(float* x, int64_t n_heads, const ModelParams& p, const Rope& r, int64_t pos) {
  const float theta_scale = std::pow(r.base, -2.0f / static_cast<float>(p.n_rot));
  const float freq_scale = 1.0f / r.scale;
  for (int64_t h = 0; h < n_heads; ++h) {
    float* v = x + h * p.head_dim;
    float theta = static_cast<float>(pos);
    for (int64_t i = 0; i < p.n_rot / 2; ++i) {
      const float angle = (r.factors ? theta / r.factors[i] : theta) * freq_scale;
      const float c = std::cos(angle) * r.attn_factor, s = std::sin(angle) * r.attn_factor;
      const int64_t a = p.rope_neox ? i : 2 * i, b = p.rope_neox ? i + p.n_rot / 2 : 2 * i + 1;
      const float x0 = v[a], x1 = v[b];
      v[a] = x0 * c - x1 * s;
      v[b] = x0 * s + x1 * c;
      theta *= theta_scale;
    }
  }
}

// Each head's RMS norm (Qwen3's and Gemma 3's q_norm and k_norm).
void head_norm(float* x, const std::vector<float>& w, float eps, int64_t n_heads, int64_t d) {
  if (w.empty()) return;
  for (int64_t h = 0; h < n_heads; ++h) rms_norm_row(x + h * d, w.data(), eps, x + h * d, d);
}

void scale_rows(float* x, float s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

// Where a batch's tokens go: each token's position (its sequence continues where its cache
// ends), each sequence's next free position, and the cached rows each kind of layer reads.
// Checked before anything is written.
BatchLayout lay_out(const ModelParams& p, const KvCache& kv, const Batch& batch, std::vector<int64_t>& pos,
                    std::vector<int64_t>& next) {
  const int64_t n = static_cast<int64_t>(batch.size());
  pos.resize(static_cast<size_t>(n));
  next.assign(static_cast<size_t>(kv.n_seq()), -1);
  for (int64_t t = 0; t < n; ++t) {
    const int32_t s = batch.seq[static_cast<size_t>(t)], id = batch.token[static_cast<size_t>(t)];
    if (s < 0 || s >= kv.n_seq()) throw Error("usage", "sequence " + std::to_string(s) + " is not a cache slot");
    if (id < 0 || id >= p.n_vocab) throw Error("bad_token", "token id " + std::to_string(id) + " is out of range");
    int64_t& nx = next[static_cast<size_t>(s)];
    if (nx < 0) nx = kv.n_past(s);
    if (nx >= kv.n_ctx())
      throw Error("context_full", "the context holds " + std::to_string(kv.n_ctx()) + " tokens; sequence " +
                                      std::to_string(s) + " needs more");
    pos[static_cast<size_t>(t)] = nx++;
  }
  // A windowed layer's ring holds its window and one batch more: a batch may add that many
  // positions to a sequence at most.
  if (p.swa_window > 0)
    for (int s = 0; s < kv.n_seq(); ++s)
      if (next[static_cast<size_t>(s)] >= 0 && next[static_cast<size_t>(s)] - kv.n_past(s) > kv.max_batch())
        throw Error("usage", "a batch adds " + std::to_string(next[static_cast<size_t>(s)] - kv.n_past(s)) +
                                 " positions to sequence " + std::to_string(s) + "; this cache takes at most " +
                                 std::to_string(kv.max_batch()) + " at a time");
  BatchLayout layout;
  layout.seq = batch.seq.data();
  layout.pos = pos.data();
  layout.n = n;
  for (KvRows* rows : {&layout.full, &layout.windowed}) {
    const bool windowed = rows == &layout.windowed;
    for (int s = 0; s < kv.n_seq(); ++s) {
      const int64_t end = std::max<int64_t>(0, next[static_cast<size_t>(s)]);
      // A windowed layer reads from the window before the batch's first position of the sequence.
      const int64_t first = windowed && end > 0 ? std::max<int64_t>(0, kv.n_past(s) - p.swa_window + 1) : 0;
      rows->first_row.push_back(rows->total);
      rows->first_pos.push_back(first);
      rows->count.push_back(end - first);
      rows->total += end - first;
    }
  }
  for (int64_t t = 0; t < n; ++t) layout.longest = std::max(layout.longest, pos[static_cast<size_t>(t)] + 1);
  return layout;
}

}  // namespace

std::vector<float> decode(const Model& m, KvCache& kv, const Batch& batch, DecodeOutput out, ProductObserver* observer) {
  const ModelParams& p = m.params();
  if (p.encoder) throw Error("unsupported_model", "'" + p.arch + "' is an encoder: it embeds text but cannot generate");
  const GgufFile& f = m.file();
  const int64_t n = static_cast<int64_t>(batch.size());
  const int64_t E = p.n_embd, H = p.n_head, HKV = p.n_head_kv, D = p.head_dim, QD = p.q_dim(), KVD = p.kv_dim(), F = p.n_ff;
  if (n == 0) return {};
  if (batch.seq.size() != batch.token.size() || batch.logits.size() != batch.token.size())
    throw Error("usage", "batch fields differ in length");

  // The calling thread's buffers, bound to references here so that the parallel regions below
  // share them (a thread_local name inside a region would mean each worker's own buffer).
  thread_local Activations calling_thread;
  Activations& a = calling_thread;

  const BatchLayout layout = lay_out(p, kv, batch, a.pos, a.next);
  const std::vector<int64_t>& pos = a.pos;
  const std::vector<int64_t>& next = a.next;

  auto &x = a.x, &xn = a.xn, &q = a.q, &att = a.att, &tmp = a.tmp, &kk = a.kk, &vv = a.vv, &g = a.g, &u = a.u;
  for (auto* v : {&x, &xn, &tmp}) v->resize(static_cast<size_t>(n * std::max(E, QD)));
  for (auto* v : {&q, &att}) v->resize(static_cast<size_t>(n * QD));
  for (auto* v : {&kk, &vv}) v->resize(static_cast<size_t>(n * KVD));
  for (auto* v : {&g, &u}) v->resize(static_cast<size_t>(n * F));

  // Every weight product of the pass, shown to the observer first.
  const auto product = [&](std::initializer_list<std::pair<const Weight*, float*>> jobs, const float* in, int64_t rows) {
    if (observer)
      for (const auto& job : jobs) observer->on_product(*job.first->t, in, rows);
    matmul(f, jobs, in, rows);
  };

  const TensorInfo& emb = m.token_embd();
  const uint64_t emb_row = ggml_bytes(emb.type, static_cast<uint64_t>(E));
  for (int64_t t = 0; t < n; ++t)
    dequantize_row(emb.type, f.tensor_data(emb).data() + static_cast<uint64_t>(batch.token[static_cast<size_t>(t)]) * emb_row,
                   x.data() + t * E, E);
  if (p.embd_scale) scale_rows(x.data(), std::sqrt(static_cast<float>(E)), n * E);

  const std::vector<float>& factors = m.rope_factors(kv.n_ctx());
  const Rope global{p.rope_base, p.rope_scale, p.rope_attn_factor, factors.empty() ? nullptr : factors.data()};
  const Rope local{p.rope_base_swa, p.rope_scale_swa, p.rope_attn_factor, global.factors};
  for (int64_t l = 0; l < p.n_layer; ++l) {
    const LayerWeights& w = m.layers()[static_cast<size_t>(l)];
    rms_norm(x.data(), w.attn_norm, p.norm_eps, xn.data(), n, E);
    if (w.wqkv.t) {  // one product, then Q, K and V split out of each token's row
      float* qkv = reuse(a.qkv, static_cast<size_t>(n * (QD + 2 * KVD)));
      product({{&w.wqkv, qkv}}, xn.data(), n);
      for (int64_t t = 0; t < n; ++t) {
        const float* r = qkv + t * (QD + 2 * KVD);
        std::memcpy(q.data() + t * QD, r, static_cast<size_t>(QD) * sizeof(float));
        std::memcpy(kk.data() + t * KVD, r + QD, static_cast<size_t>(KVD) * sizeof(float));
        std::memcpy(vv.data() + t * KVD, r + QD + KVD, static_cast<size_t>(KVD) * sizeof(float));
      }
    } else {
      product({{&w.wq, q.data()}, {&w.wk, kk.data()}, {&w.wv, vv.data()}}, xn.data(), n);
    }
    add_bias(q.data(), w.bq, n, QD);
    add_bias(kk.data(), w.bk, n, KVD);
    add_bias(vv.data(), w.bv, n, KVD);
    const Rope& r = p.layer_is_swa(l) ? local : global;
#pragma omp parallel for schedule(static) if (n >= 8)
    for (int64_t t = 0; t < n; ++t) {
      head_norm(q.data() + t * QD, w.q_norm, p.norm_eps, H, D);
      head_norm(kk.data() + t * KVD, w.k_norm, p.norm_eps, HKV, D);
      rope(q.data() + t * QD, H, p, r, pos[static_cast<size_t>(t)]);
      rope(kk.data() + t * KVD, HKV, p, r, pos[static_cast<size_t>(t)]);
      if (p.q_scale > 0) scale_rows(q.data() + t * QD, p.q_scale, QD);
    }
    attend(p, kv, l, layout, q.data(), kk.data(), vv.data(), att.data(), a.attn);
    product({{&w.wo, tmp.data()}}, att.data(), n);
    if (!w.post_attn_norm.empty()) rms_norm(tmp.data(), w.post_attn_norm, p.norm_eps, tmp.data(), n, E);
    add_into(x.data(), tmp.data(), n * E);

    rms_norm(x.data(), w.ffn_norm, p.norm_eps, xn.data(), n, E);
    // Gate and up rows, gate_stride apart: separate products, or gate | up in one (each token's
    // row holds the gate, then up), read where the product left them.
    const float* gate = g.data();
    const float* up = u.data();
    int64_t gate_stride = F;
    if (w.w_gate_up.t) {
      float* gu = reuse(a.gu, static_cast<size_t>(n * 2 * F));
      product({{&w.w_gate_up, gu}}, xn.data(), n);
      gate = gu, up = gu + F, gate_stride = 2 * F;
    } else {
      product({{&w.w_gate, g.data()}, {&w.w_up, u.data()}}, xn.data(), n);
    }
#pragma omp parallel for schedule(static) if (n >= 8)
    for (int64_t t = 0; t < n; ++t) {
      const float* gt = gate + t * gate_stride;
      const float* ut = up + t * gate_stride;
      float* ot = g.data() + t * F;
      if (p.act == Activation::Gelu) {
        k::gelu_row(gt, ot, F);
        for (int64_t i = 0; i < F; ++i) ot[i] *= ut[i];
      } else {
        k::swiglu(gt, ut, ot, F);
      }
    }
    product({{&w.w_down, tmp.data()}}, g.data(), n);
    if (!w.post_ffn_norm.empty()) rms_norm(tmp.data(), w.post_ffn_norm, p.norm_eps, tmp.data(), n, E);
    add_into(x.data(), tmp.data(), n * E);
  }
  for (int s = 0; s < kv.n_seq(); ++s)
    if (next[static_cast<size_t>(s)] >= 0) kv.set_n_past(s, next[static_cast<size_t>(s)]);

  // Final norm and output projection for the marked tokens only.
  int64_t rows = 0;
  for (int64_t t = 0; t < n; ++t)
    if (batch.logits[static_cast<size_t>(t)]) {
      std::memcpy(tmp.data() + rows * E, x.data() + t * E, static_cast<size_t>(E) * sizeof(float));
      ++rows;
    }
  rms_norm(tmp.data(), m.output_norm(), p.norm_eps, xn.data(), rows, E);
  if (out == DecodeOutput::Hidden) return std::vector<float>(xn.begin(), xn.begin() + rows * E);
  std::vector<float> logits(static_cast<size_t>(rows * p.n_vocab));
  if (rows == 0) return logits;
  product({{&m.output(), logits.data()}}, xn.data(), rows);
  if (const float cap = p.final_softcap; cap > 0)
    for (float& v : logits) v = std::tanh(v * (1.0f / cap)) * cap;
  return logits;
}

std::vector<float> forward(const Model& m, KvCache& kv, const std::vector<int32_t>& tokens, bool all_logits,
                           int64_t n_batch, ProductObserver* observer) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) return {};
  if (n_batch <= 0) throw Error("usage", "the batch size must be positive");
  if (kv.n_past(0) + n > kv.n_ctx())
    throw Error("context_full", "the context holds " + std::to_string(kv.n_ctx()) + " tokens; " +
                                    std::to_string(kv.n_past(0) + n) + " were needed");
  std::vector<float> logits;
  Batch b;
  for (int64_t i0 = 0; i0 < n; i0 += n_batch) {
    b.clear();
    const int64_t i1 = std::min(n, i0 + n_batch);
    for (int64_t i = i0; i < i1; ++i) b.add(tokens[static_cast<size_t>(i)], 0, all_logits || i == n - 1);
    std::vector<float> part = decode(m, kv, b, DecodeOutput::Logits, observer);
    logits.insert(logits.end(), part.begin(), part.end());
  }
  return logits;
}

}  // namespace llmkit
