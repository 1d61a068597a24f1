// The encoder forward pass (BERT): every token of a sequence attends to every other, so a batch
// of sequences needs no cache: all their tokens go through each product together, and attention
// stays within each sequence. Numerics follow llama.cpp's CPU path: LayerNorm sums in double,
// GELU through the F16 table, softmax sums in double.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/attention.h"
#include "cpu/gelu.h"
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

// y = (x - mean) / sqrt(var + eps) * w + b, per token of dim values.
void layer_norm(const float* x, const std::vector<float>& w, const std::vector<float>& b, float eps, float* y, int64_t n,
                int64_t dim) {
#pragma omp parallel for schedule(static) if (n >= 8)
  for (int64_t t = 0; t < n; ++t) {
    const float* xt = x + t * dim;
    float* yt = y + t * dim;
    double sum = 0;
    for (int64_t i = 0; i < dim; ++i) sum += xt[i];
    const float mean = static_cast<float>(sum / double(dim));
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) {
      const float d = xt[i] - mean;
      yt[i] = d;
      ss += double(d) * d;
    }
    const float scale = 1.0f / std::sqrt(static_cast<float>(ss / double(dim)) + eps);
    for (int64_t i = 0; i < dim; ++i) yt[i] = yt[i] * scale * w[static_cast<size_t>(i)] + b[static_cast<size_t>(i)];
  }
}

int64_t padded(int64_t len) { return (len + 15) / 16 * 16; }

struct EncoderActivations {
  std::vector<float> x, q, kk, vv, kt, att, tmp, u;
  // Each token's sequence: its first token, its length, where its transposed keys start.
  std::vector<int64_t> first, len, kt0;
  std::vector<int32_t> ids;
};

}  // namespace

std::vector<float> encode(const Model& m, std::span<const std::vector<int32_t>> seqs) {
  const ModelParams& p = m.params();
  if (!p.encoder) throw Error("unsupported_model", "'" + p.arch + "' is not an encoder");
  const GgufFile& f = m.file();
  const int64_t E = p.n_embd, H = p.n_head, D = p.head_dim, F = p.n_ff;
  int64_t n = 0, longest = 0, kt_size = 0;
  for (const auto& s : seqs) {
    const int64_t len = static_cast<int64_t>(s.size());
    if (len == 0) throw Error("usage", "an empty sequence has no embedding");
    if (len > p.n_ctx_train)
      throw Error("context_full", "a sequence of " + std::to_string(len) + " tokens is longer than the model's " +
                                      std::to_string(p.n_ctx_train) + " positions");
    for (int32_t id : s)
      if (id < 0 || id >= p.n_vocab) throw Error("bad_token", "token id " + std::to_string(id) + " is out of range");
    n += len;
    longest = std::max(longest, len);
    kt_size += E * padded(len);
  }
  if (n == 0) return {};

  thread_local EncoderActivations calling_thread;
  EncoderActivations& a = calling_thread;
  float* x = reuse(a.x, static_cast<size_t>(n * E));
  float* q = reuse(a.q, static_cast<size_t>(n * E));
  float* kk = reuse(a.kk, static_cast<size_t>(n * E));
  float* vv = reuse(a.vv, static_cast<size_t>(n * E));
  // Keys transposed, per sequence and head: D rows of the sequence's length padded to 16 (the
  // padding stays zero; attn_scores_kt reads it).
  float* kt = reuse(a.kt, static_cast<size_t>(kt_size));
  std::fill(kt, kt + kt_size, 0.f);
  float* att = reuse(a.att, static_cast<size_t>(n * E));
  float* tmp = reuse(a.tmp, static_cast<size_t>(n * E));
  float* u = reuse(a.u, static_cast<size_t>(n * F));
  int64_t* first = reuse(a.first, static_cast<size_t>(n));
  int64_t* len = reuse(a.len, static_cast<size_t>(n));
  int64_t* kt0 = reuse(a.kt0, static_cast<size_t>(n));
  int32_t* ids = reuse(a.ids, static_cast<size_t>(n));

  // Token + token type 0 + position, in llama.cpp's order of additions, then LayerNorm.
  const TensorInfo& emb = m.token_embd();
  const TensorInfo& pe = *m.pos_embd();
  const uint64_t emb_row = ggml_bytes(emb.type, static_cast<uint64_t>(E)), pos_row = ggml_bytes(pe.type, static_cast<uint64_t>(E));
  const uint8_t* emb_data = f.tensor_data(emb).data();
  const uint8_t* pos_data = f.tensor_data(pe).data();
  const std::vector<float>& type0 = m.type_embd();
  {
    int64_t t = 0, k0 = 0;
    for (const auto& s : seqs) {
      for (size_t j = 0; j < s.size(); ++j, ++t) {
        first[t] = t - static_cast<int64_t>(j);
        len[t] = static_cast<int64_t>(s.size());
        kt0[t] = k0;
        ids[t] = s[j];
      }
      k0 += E * padded(static_cast<int64_t>(s.size()));
    }
  }
#pragma omp parallel for schedule(static) if (n >= 8)
  for (int64_t t = 0; t < n; ++t) {
    thread_local std::vector<float> pos_buf;
    float* pos = reuse(pos_buf, static_cast<size_t>(E));
    const int64_t j = t - first[t];
    float* xt = x + t * E;
    const int32_t id = ids[t];
    dequantize_row(emb.type, emb_data + static_cast<uint64_t>(id) * emb_row, xt, E);
    dequantize_row(pe.type, pos_data + static_cast<uint64_t>(j) * pos_row, pos, E);
    for (int64_t i = 0; i < E; ++i) xt[i] = (type0.empty() ? xt[i] : xt[i] + type0[static_cast<size_t>(i)]) + pos[i];
  }
  layer_norm(x, m.embd_norm(), m.embd_norm_b(), p.norm_eps, x, n, E);

  // Attention's units of work: (first query, queries, head), blocks never crossing a sequence.
  struct Block {
    int64_t t0, head;
    int nq;
  };
  std::vector<Block> blocks;
  {
    int64_t t = 0;
    for (const auto& s : seqs) {
      const int64_t L = static_cast<int64_t>(s.size());
      for (int64_t h = 0; h < H; ++h)
        for (int64_t j = 0; j < L; j += 4) blocks.push_back({t + j, h, static_cast<int>(std::min<int64_t>(4, L - j))});
      t += L;
    }
  }

  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  for (int64_t l = 0; l < p.n_layer; ++l) {
    const LayerWeights& w = m.layers()[static_cast<size_t>(l)];
    matmul(f, {{&w.wq, q}, {&w.wk, kk}, {&w.wv, vv}}, x, n);
    add_bias(q, w.bq, n, E);
    add_bias(kk, w.bk, n, E);
    add_bias(vv, w.bv, n, E);
    // Each token attends to all the tokens of its own sequence, a block of up to 4 queries of one
    // head at a time against that head's keys, transposed first (see attn_scores_kt).
#pragma omp parallel for schedule(static) if (n >= 8)
    for (int64_t t = 0; t < n; ++t) {
      const int64_t Lp = padded(len[t]), j = t - first[t];
      float* base = kt + kt0[t];
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < D; ++i) base[(h * D + i) * Lp + j] = kk[t * E + h * D + i];
    }
#pragma omp parallel
    {
      thread_local std::vector<float> sc_buf;
      float* sc = reuse(sc_buf, static_cast<size_t>(4 * longest));
#pragma omp for schedule(dynamic, 4)
      for (size_t b = 0; b < blocks.size(); ++b) {
        const Block& blk = blocks[b];
        const int64_t L = len[blk.t0], Lp = padded(L), r0 = first[blk.t0], h = blk.head;
        const size_t stride = static_cast<size_t>(longest);
        k::attn_scores_kt(q + blk.t0 * E + h * D, static_cast<size_t>(E), blk.nq, kt + kt0[blk.t0] + h * D * Lp,
                          static_cast<size_t>(Lp), L, D, scale, sc, stride);
        for (int r = 0; r < blk.nq; ++r) {
          k::softmax_inplace(sc + static_cast<size_t>(r) * stride, L);
          float* o = att + (blk.t0 + r) * E + h * D;
          std::fill(o, o + D, 0.f);
        }
        k::attn_weighted_sum_multi(sc, stride, blk.nq, vv + r0 * E + h * D, static_cast<size_t>(E), L, D,
                                   att + blk.t0 * E + h * D, static_cast<size_t>(E));
      }
    }
    matmul(f, w.wo, att, tmp, n);
    add_bias(tmp, w.bo, n, E);
    add_into(tmp, x, n * E);
    layer_norm(tmp, w.attn_norm, w.attn_norm_b, p.norm_eps, x, n, E);

    matmul(f, w.w_up, x, u, n);
    add_bias(u, w.b_up, n, F);
#pragma omp parallel for schedule(static) if (n >= 8)
    for (int64_t t = 0; t < n; ++t) k::gelu_row(u + t * F, u + t * F, F);
    matmul(f, w.w_down, u, tmp, n);
    add_bias(tmp, w.b_down, n, E);
    add_into(tmp, x, n * E);
    layer_norm(tmp, w.ffn_norm, w.ffn_norm_b, p.norm_eps, x, n, E);
  }
  return std::vector<float>(x, x + n * E);
}

}  // namespace llmkit
