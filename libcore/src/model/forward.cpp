// The reference forward pass: plain loops in F32 (weights dequantized row by row), parallel over
// output rows. Numerics follow llama.cpp's CPU path where it matters for agreement: F16 KV
// cache, queries rounded to F16 for the K dot products, iterative RoPE angles, double sums in
// RMS norm and softmax.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/attention.h"
#include "cpu/dot.h"
#include "cpu/fp16.h"
#include "cpu/gemm.h"
#include "cpu/swiglu.h"
#include "llmkit/error.h"
#include "llmkit/model.h"
#include "llmkit/quant.h"
#include "matmul.h"

namespace llmkit {
namespace {

namespace k = kernels;
using detail::add_bias;
using detail::add_into;
using detail::matmul;
using detail::reuse;

struct Activations {
  std::vector<float> x, xn, q, att, tmp, kk, vv, g, u;
  std::vector<float> kt, vf;  // the batch's sequences' keys (transposed) and values as F32, one layer at a time
};

// The per-token steps run across threads for prompts (where, left serial, they would cap how
// far a second thread speeds things up) and on the calling thread for a few tokens.
void rms_norm(const float* x, const std::vector<float>& w, float eps, float* y, int64_t n, int64_t dim) {
#pragma omp parallel for schedule(static) if (n >= 8)
  for (int64_t t = 0; t < n; ++t) {
    const float* xt = x + t * dim;
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += double(xt[i]) * xt[i];
    const float scale = 1.0f / std::sqrt(static_cast<float>(ss / double(dim)) + eps);
    for (int64_t i = 0; i < dim; ++i) y[t * dim + i] = xt[i] * scale * w[static_cast<size_t>(i)];
  }
}

void rope(float* x, int64_t n_heads, const ModelParams& p, int64_t pos) {
  const float theta_scale = std::pow(p.rope_base, -2.0f / static_cast<float>(p.n_rot));
  for (int64_t h = 0; h < n_heads; ++h) {
    float* v = x + h * p.head_dim;
    float theta = static_cast<float>(pos) / p.rope_scale;
    for (int64_t i = 0; i < p.n_rot / 2; ++i) {
      const float c = std::cos(theta), s = std::sin(theta);
      const int64_t a = p.rope_neox ? i : 2 * i, b = p.rope_neox ? i + p.n_rot / 2 : 2 * i + 1;
      const float x0 = v[a], x1 = v[b];
      v[a] = x0 * c - x1 * s;
      v[b] = x0 * s + x1 * c;
      theta *= theta_scale;
    }
  }
}

}  // namespace

std::vector<float> decode(const Model& m, KvCache& kv, const Batch& batch, DecodeOutput out) {
  const ModelParams& p = m.params();
  if (p.encoder) throw Error("unsupported_model", "'" + p.arch + "' is an encoder: it embeds text but cannot generate");
  const GgufFile& f = m.file();
  const int64_t n = static_cast<int64_t>(batch.size());
  const int64_t E = p.n_embd, H = p.n_head, HKV = p.n_head_kv, D = p.head_dim, KVD = HKV * D, F = p.n_ff;
  if (n == 0) return {};
  if (batch.seq.size() != batch.token.size() || batch.logits.size() != batch.token.size())
    throw Error("usage", "batch fields differ in length");

  // Positions: each sequence continues where its cache ends. Checked before anything is written.
  thread_local std::vector<int64_t> pos_buf, next_buf, first_buf;
  std::vector<int64_t>& pos = pos_buf;
  std::vector<int64_t>& next = next_buf;
  std::vector<int64_t>& seq_first = first_buf;  // each sequence's first row in the F32 keys
  seq_first.resize(static_cast<size_t>(kv.n_seq()));
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

  // The calling thread's buffers, bound to references here so that the parallel regions below
  // share them (a thread_local name inside a region would mean each worker's own buffer).
  thread_local Activations calling_thread;
  Activations& a = calling_thread;
  auto &x = a.x, &xn = a.xn, &q = a.q, &att = a.att, &tmp = a.tmp, &kk = a.kk, &vv = a.vv, &g = a.g, &u = a.u;
  for (auto* v : {&x, &xn, &q, &att, &tmp}) v->resize(static_cast<size_t>(n * E));
  for (auto* v : {&kk, &vv}) v->resize(static_cast<size_t>(n * KVD));
  for (auto* v : {&g, &u}) v->resize(static_cast<size_t>(n * F));

  const TensorInfo& emb = m.token_embd();
  const uint64_t emb_row = ggml_bytes(emb.type, static_cast<uint64_t>(E));
  for (int64_t t = 0; t < n; ++t)
    dequantize_row(emb.type, f.tensor_data(emb).data() + static_cast<uint64_t>(batch.token[static_cast<size_t>(t)]) * emb_row,
                   x.data() + t * E, E);

  int64_t longest = 0;  // attention scores per query at most
  for (int64_t t = 0; t < n; ++t) longest = std::max(longest, pos[static_cast<size_t>(t)] + 1);
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const int64_t group = H / HKV;
  const GgmlType tk = kv.type_k(), tv = kv.type_v();
  // Queries meet keys in the keys' own arithmetic, as ggml does: rounded to F16 against an F16
  // cache, quantized to Q8_0 for an integer dot against a Q8_0 cache.
  const QuantOps* k_ops = tk == GgmlType::Q8_0 ? quant_ops(tk) : nullptr;
  const uint64_t qq_bytes = ggml_bytes(GgmlType::Q8_0, static_cast<uint64_t>(D));
  // Rows of the F32 copies of keys and values: each sequence in the batch, all its positions.
  int64_t kv_rows = 0;
  for (int s = 0; s < kv.n_seq(); ++s) {
    seq_first[static_cast<size_t>(s)] = kv_rows;
    if (next[static_cast<size_t>(s)] >= 0) kv_rows += next[static_cast<size_t>(s)];
  }
  // Keys transposed per KV head (kt[(kvh * D + i) * kt_stride + row]), so that 16 keys' scores
  // fill the lanes of one vector and every query head of a group shares each key load; the
  // columns past the last row are zero, read by the last 16-key block and never used.
  const int64_t kt_stride = (kv_rows + 15) / 16 * 16 + 16;
  float* kt = !k_ops ? reuse(a.kt, static_cast<size_t>(KVD * kt_stride)) : nullptr;
  float* vf = tv != GgmlType::F32 ? reuse(a.vf, static_cast<size_t>(kv_rows * KVD)) : nullptr;
  // Query heads per block: a token's heads of one KV head, at most 8 (the kernels' widest).
  const int64_t chunk = std::min<int64_t>(group, 8), chunks = (group + chunk - 1) / chunk;
  const int64_t sc_stride = (longest + 15) / 16 * 16;
  auto seq_of_row = [&](int64_t r) {
    int s = 0;
    while (s + 1 < kv.n_seq() && seq_first[static_cast<size_t>(s) + 1] <= r) ++s;
    return s;
  };
  for (int64_t l = 0; l < p.n_layer; ++l) {
    const LayerWeights& w = m.layers()[static_cast<size_t>(l)];
    rms_norm(x.data(), w.attn_norm, p.norm_eps, xn.data(), n, E);
    matmul(f, {{&w.wq, q.data()}, {&w.wk, kk.data()}, {&w.wv, vv.data()}}, xn.data(), n);
    add_bias(q.data(), w.bq, n, E);
    add_bias(kk.data(), w.bk, n, KVD);
    add_bias(vv.data(), w.bv, n, KVD);
#pragma omp parallel for schedule(static) if (n >= 8)
    for (int64_t t = 0; t < n; ++t) {
      const int32_t s = batch.seq[static_cast<size_t>(t)];
      rope(q.data() + t * E, H, p, pos[static_cast<size_t>(t)]);
      rope(kk.data() + t * KVD, HKV, p, pos[static_cast<size_t>(t)]);
      quantize_row(tk, kk.data() + t * KVD, kv.k_row(s, l, pos[static_cast<size_t>(t)]), KVD);
      quantize_row(tv, vv.data() + t * KVD, kv.v_row(s, l, pos[static_cast<size_t>(t)]), KVD);
    }
    // Keys and values of the sequences in this batch as F32, converted once per layer (every
    // query head of a group reads the same KV head), the keys transposed 16 rows at a time so
    // that each write fills a cache line. A Q8_0 key cache keeps its integer dot. Short contexts
    // stay on the calling thread: waking the others would cost more than the copy.
#pragma omp parallel if (kv_rows * KVD >= 65536)
    {
      thread_local std::vector<float> rows_buf;
      float* rows = kt ? reuse(rows_buf, static_cast<size_t>(16 * KVD)) : nullptr;
#pragma omp for schedule(static)
      for (int64_t r0 = 0; r0 < kt_stride; r0 += 16) {
        if (kt) {
          for (int64_t rr = 0; rr < 16; ++rr) {
            const int64_t r = r0 + rr;
            float* dst = rows + rr * KVD;
            if (r >= kv_rows) {
              std::fill(dst, dst + KVD, 0.f);
              continue;
            }
            const int s = seq_of_row(r);
            const uint8_t* src = kv.k_row(s, l, r - seq_first[static_cast<size_t>(s)]);
            if (tk == GgmlType::F32) std::memcpy(dst, src, static_cast<size_t>(KVD) * sizeof(float));
            else dequantize_row(tk, src, dst, KVD);
          }
          for (int64_t c = 0; c < KVD; ++c)
            for (int64_t rr = 0; rr < 16; ++rr) kt[c * kt_stride + r0 + rr] = rows[rr * KVD + c];
        }
        if (vf)
          for (int64_t r = r0; r < std::min(kv_rows, r0 + 16); ++r) {
            const int s = seq_of_row(r);
            dequantize_row(tv, kv.v_row(s, l, r - seq_first[static_cast<size_t>(s)]), vf + r * KVD, KVD);
          }
      }
    }
    // Causal attention over each token's own sequence, a block of query heads of one KV head at
    // a time; scratch per thread. Later tokens attend to more keys, so the blocks are handed out
    // dynamically rather than in two halves. A head's result does not depend on its block's size.
#pragma omp parallel if (n * longest * H >= 8192)
    {
      thread_local std::vector<float> qh_buf, sc_buf;
      thread_local std::vector<uint16_t> qr_buf;
      thread_local std::vector<uint8_t> qq_buf;
      float* qh = reuse(qh_buf, static_cast<size_t>(chunk * D));
      uint16_t* qr = reuse(qr_buf, static_cast<size_t>(chunk * D));
      float* sc = reuse(sc_buf, static_cast<size_t>(chunk * sc_stride));
      uint8_t* qq = reuse(qq_buf, static_cast<size_t>(qq_bytes));
#pragma omp for collapse(2) schedule(dynamic, 4)
      for (int64_t t = 0; t < n; ++t)
        for (int64_t c = 0; c < HKV * chunks; ++c) {
          const int32_t s = batch.seq[static_cast<size_t>(t)];
          const int64_t len = pos[static_cast<size_t>(t)] + 1, kvh = c / chunks;
          const int64_t h0 = kvh * group + c % chunks * chunk, nq = std::min(chunk, (kvh + 1) * group - h0);
          const float* qt = q.data() + t * E + h0 * D;
          const int64_t r0 = seq_first[static_cast<size_t>(s)];
          if (k_ops) {
            for (int64_t r = 0; r < nq; ++r) {
              quantize_row(GgmlType::Q8_0, qt + r * D, qq, D);
              for (int64_t j = 0; j < len; ++j)
                sc[r * sc_stride + j] =
                    k_ops->vec_dot(D, kv.k_row(s, l, j) + ggml_bytes(tk, static_cast<uint64_t>(kvh * D)), qq) * scale;
            }
          } else {
            const float* qs = qt;
            if (tk == GgmlType::F16) {
              k::fp32_to_fp16_row(qt, qr, static_cast<size_t>(nq * D));
              k::fp16_to_fp32_row(qr, qh, static_cast<size_t>(nq * D));
              qs = qh;
            }
            k::attn_scores_kt(qs, static_cast<size_t>(D), static_cast<int>(nq), kt + kvh * D * kt_stride + r0,
                              static_cast<size_t>(kt_stride), len, D, scale, sc, static_cast<size_t>(sc_stride));
          }
          for (int64_t r = 0; r < nq; ++r) k::softmax_inplace(sc + r * sc_stride, len);
          // Values of this KV head: rows KVD floats apart in the F32 copy (or the cache).
          const float* v0 = vf ? vf + r0 * KVD + kvh * D : reinterpret_cast<const float*>(kv.v_row(s, l, 0)) + kvh * D;
          float* o = att.data() + t * E + h0 * D;
          std::fill(o, o + nq * D, 0.f);
          k::attn_weighted_sum_multi(sc, static_cast<size_t>(sc_stride), static_cast<int>(nq), v0, static_cast<size_t>(KVD),
                                     len, D, o, static_cast<size_t>(D));
        }
    }
    matmul(f, w.wo, att.data(), tmp.data(), n);
    add_into(x.data(), tmp.data(), n * E);

    rms_norm(x.data(), w.ffn_norm, p.norm_eps, xn.data(), n, E);
    matmul(f, {{&w.w_gate, g.data()}, {&w.w_up, u.data()}}, xn.data(), n);
#pragma omp parallel for schedule(static) if (n >= 8)
    for (int64_t t = 0; t < n; ++t) k::swiglu(g.data() + t * F, u.data() + t * F, g.data() + t * F, F);
    matmul(f, w.w_down, g.data(), tmp.data(), n);
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
  matmul(f, m.output(), xn.data(), logits.data(), rows);
  return logits;
}

std::vector<float> forward(const Model& m, KvCache& kv, const std::vector<int32_t>& tokens, bool all_logits,
                           int64_t n_batch) {
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
    std::vector<float> part = decode(m, kv, b);
    logits.insert(logits.end(), part.begin(), part.end());
  }
  return logits;
}

}  // namespace llmkit
