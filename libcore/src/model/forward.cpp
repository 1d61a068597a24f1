// The reference forward pass: plain loops in F32 (weights dequantized row by row), parallel over
// output rows. Numerics follow llama.cpp's CPU path where it matters for agreement: F16 KV
// cache, queries rounded to F16 for the K dot products, iterative RoPE angles, double sums in
// RMS norm and softmax.
#include <cmath>
#include <cstring>

#include "cpu/dot.h"
#include "cpu/fp16.h"
#include "llmkit/error.h"
#include "llmkit/model.h"
#include "llmkit/quant.h"

namespace llmkit {
namespace {

namespace k = kernels;

// Working memory reused from call to call, one set per thread: generation runs forward() once per
// token, and allocating the activations each time costs tokens/s. resize() within the capacity
// already held does not allocate.
template <class T> T* reuse(std::vector<T>& v, size_t n) {
  v.resize(n);
  return v.data();
}

struct Activations {
  std::vector<float> x, xn, q, att, tmp, kk, vv, g, u;
};

// Y[t][o] = dot(W row o, X[t]) for t < n. Types with an integer dot product (Q4_0, Q8_0: Q8_0
// activations; Q4_K, Q6_K: Q8_K activations) take
// activations quantized once per call, as ggml does; the others are dequantized row by row.
void matmul(const GgufFile& f, const TensorInfo& w, const float* x, float* y, int64_t n) {
  const int64_t in = w.ne[0], out = w.ne[1];
  const uint8_t* data = f.tensor_data(w).data();
  const uint64_t row_bytes = ggml_bytes(w.type, static_cast<uint64_t>(in));
  const QuantOps* ops = quant_ops(w.type);
  if (ops && ops->vec_dot) {
    const uint64_t act_bytes = ggml_bytes(ops->vec_dot_type, static_cast<uint64_t>(in));
    thread_local std::vector<uint8_t> xq_buf;
    uint8_t* xq = reuse(xq_buf, static_cast<size_t>(act_bytes * static_cast<uint64_t>(n)));
    for (int64_t t = 0; t < n; ++t) quantize_row(ops->vec_dot_type, x + t * in, xq + static_cast<uint64_t>(t) * act_bytes, in);
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < out; ++o)
      for (int64_t t = 0; t < n; ++t)
        y[t * out + o] = ops->vec_dot(in, data + static_cast<uint64_t>(o) * row_bytes, xq + static_cast<uint64_t>(t) * act_bytes);
    return;
  }
  const bool f32 = w.type == GgmlType::F32;
#pragma omp parallel
  {
    thread_local std::vector<float> row_buf;
    float* row = f32 ? nullptr : reuse(row_buf, static_cast<size_t>(in));
#pragma omp for schedule(static)
    for (int64_t o = 0; o < out; ++o) {
      const float* wr;
      if (f32) {
        wr = reinterpret_cast<const float*>(data + static_cast<uint64_t>(o) * row_bytes);
      } else {
        dequantize_row(w.type, data + static_cast<uint64_t>(o) * row_bytes, row, in);
        wr = row;
      }
      for (int64_t t = 0; t < n; ++t) y[t * out + o] = k::dot_f32(wr, x + t * in, in);
    }
  }
}

void rms_norm(const float* x, const std::vector<float>& w, float eps, float* y, int64_t n, int64_t dim) {
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

std::vector<float> forward(const Model& m, KvCache& kv, const std::vector<int32_t>& tokens, bool all_logits) {
  const ModelParams& p = m.params();
  const GgufFile& f = m.file();
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t E = p.n_embd, H = p.n_head, HKV = p.n_head_kv, D = p.head_dim, KVD = HKV * D, F = p.n_ff;
  if (n == 0) return {};
  if (kv.n_past + n > kv.n_ctx)
    throw Error("context_full", "the context holds " + std::to_string(kv.n_ctx) + " tokens; " +
                                    std::to_string(kv.n_past + n) + " were needed");
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
  for (int64_t t = 0; t < n; ++t) {
    const int32_t id = tokens[static_cast<size_t>(t)];
    if (id < 0 || id >= p.n_vocab) throw Error("bad_token", "token id " + std::to_string(id) + " is out of range");
    dequantize_row(emb.type, f.tensor_data(emb).data() + static_cast<uint64_t>(id) * emb_row, x.data() + t * E, E);
  }

  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const int64_t group = H / HKV;
  for (int64_t l = 0; l < p.n_layer; ++l) {
    const LayerWeights& w = m.layers()[static_cast<size_t>(l)];
    rms_norm(x.data(), w.attn_norm, p.norm_eps, xn.data(), n, E);
    matmul(f, *w.wq, xn.data(), q.data(), n);
    matmul(f, *w.wk, xn.data(), kk.data(), n);
    matmul(f, *w.wv, xn.data(), vv.data(), n);
    auto add_bias = [&](const std::vector<float>& bias, std::vector<float>& y, int64_t dim) {
      if (bias.empty()) return;
      for (int64_t t = 0; t < n; ++t)
        for (int64_t i = 0; i < dim; ++i) y[static_cast<size_t>(t * dim + i)] += bias[static_cast<size_t>(i)];
    };
    add_bias(w.bq, q, E);
    add_bias(w.bk, kk, KVD);
    add_bias(w.bv, vv, KVD);
    uint16_t* kc = kv.k.data() + l * kv.n_ctx * KVD;
    uint16_t* vc = kv.v.data() + l * kv.n_ctx * KVD;
    for (int64_t t = 0; t < n; ++t) {
      const int64_t pos = kv.n_past + t;
      rope(q.data() + t * E, H, p, pos);
      rope(kk.data() + t * KVD, HKV, p, pos);
      k::fp32_to_fp16_row(kk.data() + t * KVD, kc + pos * KVD, static_cast<size_t>(KVD));
      k::fp32_to_fp16_row(vv.data() + t * KVD, vc + pos * KVD, static_cast<size_t>(KVD));
    }
    // Causal attention, each query head reading its group's KV head; scratch per thread.
#pragma omp parallel
    {
      thread_local std::vector<float> qh_buf, kf_buf, sc_buf;
      float* qh = reuse(qh_buf, static_cast<size_t>(D));
      float* kf = reuse(kf_buf, static_cast<size_t>(D));
      float* sc = reuse(sc_buf, static_cast<size_t>(kv.n_past + n));
#pragma omp for collapse(2) schedule(static)
    for (int64_t t = 0; t < n; ++t)
      for (int64_t h = 0; h < H; ++h) {
        const int64_t len = kv.n_past + t + 1, kvh = h / group;
        for (int64_t i = 0; i < D; ++i) qh[i] = k::fp16_to_fp32(k::fp32_to_fp16(q[static_cast<size_t>(t * E + h * D + i)]));
        float mx = -INFINITY;
        for (int64_t j = 0; j < len; ++j) {
          k::fp16_to_fp32_row(kc + j * KVD + kvh * D, kf, static_cast<size_t>(D));
          sc[j] = k::dot_f32(qh, kf, D) * scale;
          mx = std::max(mx, sc[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j < len; ++j) {
          float& s = sc[j];
          s = std::exp(s - mx);
          sum += s;
        }
        float* o = att.data() + t * E + h * D;
        std::fill(o, o + D, 0.f);
        for (int64_t j = 0; j < len; ++j) {
          const float pj = static_cast<float>(sc[j] / sum);
          k::fp16_to_fp32_row(vc + j * KVD + kvh * D, kf, static_cast<size_t>(D));
          for (int64_t i = 0; i < D; ++i) o[i] += pj * kf[i];
        }
      }
    }
    matmul(f, *w.wo, att.data(), tmp.data(), n);
    for (size_t i = 0; i < x.size(); ++i) x[i] += tmp[i];

    rms_norm(x.data(), w.ffn_norm, p.norm_eps, xn.data(), n, E);
    matmul(f, *w.w_gate, xn.data(), g.data(), n);
    matmul(f, *w.w_up, xn.data(), u.data(), n);
    for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
    matmul(f, *w.w_down, g.data(), tmp.data(), n);
    for (size_t i = 0; i < x.size(); ++i) x[i] += tmp[i];
  }
  kv.n_past += n;

  const int64_t first = all_logits ? 0 : n - 1, rows = n - first;
  rms_norm(x.data() + first * E, m.output_norm(), p.norm_eps, xn.data(), rows, E);
  std::vector<float> logits(static_cast<size_t>(rows * p.n_vocab));
  matmul(f, m.output(), xn.data(), logits.data(), rows);
  return logits;
}

}  // namespace llmkit
