// Numerics follow llama.cpp's CPU path where it matters for agreement: queries meet keys in the
// keys' own arithmetic (rounded to F16 against an F16 cache, quantized to Q8_0 against a Q8_0
// cache), softmax sums in double.
#include "attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/attention.h"
#include "cpu/fp16.h"
#include "llmkit/quant.h"
#include "quant/kernel_ops.h"
#include "matmul.h"

namespace llmkit::detail {

namespace k = kernels;

namespace {

// Long contexts on a global layer take their keys kKeyPart at a time: each part's softmax left
// unnormalised (its maximum and sum kept, its weighted sum of values unscaled), the parts merged in
// order afterwards. A decoding step then has work for every thread (one KV head's keys shared out),
// where it had one item per KV head. A part's arithmetic depends only on the sequence's length,
// never on the batch or the number of threads, so a token's result is the same alone or batched.
constexpr int64_t kKeyPart = 2048;

using Partial = k::AttnPart;

// The keys and values of one KV head on a global layer, read where the cache holds them.
struct InPlace {
  const void* keys;  // F16/F32: k_blocks of the sequence, offset to the head; Q8_0: key row of position 0
  size_t key_block;  // F16/F32: elements between blocks of 16 keys; Q8_0: bytes between key rows
  const void* values;  // value row of position 0, offset to the head
  size_t value_stride;  // F16/F32: elements between value rows; Q8_0: bytes
  GgmlType tk, tv;
};

// A thread's memory for one part: the query rows as Q8_0 (against a Q8_0 key cache) and the
// part's values as F32 (from a Q8_0 value cache), as the unparted path makes them.
struct PartScratch {
  uint8_t* qq;
  float* values;
};

// Keys [j0, j0 + len) of one KV head against nq query heads qs (already in the keys' arithmetic):
// scores (scaled, soft-capped), exponentiated against their maximum, the weights rounded to F16
// for an F16 value cache (as in ggml's product of the two), and the weighted sum of the values.
void attend_part(const InPlace& kv, const float* qs, int64_t nq, int64_t D, float scale, float cap, int64_t j0,
                 int64_t len, float* sc, size_t sc_stride, uint16_t* pr, const PartScratch& scratch, const Partial& out) {
  const size_t block0 = static_cast<size_t>(j0 / KvCache::kKeyBlock) * kv.key_block;
  if (kv.tk == GgmlType::Q8_0) {
    const QuantOps* ops = quant_ops(GgmlType::Q8_0);
    const auto* rows = static_cast<const uint8_t*>(kv.keys) + static_cast<size_t>(j0) * kv.key_block;
    for (int64_t r = 0; r < nq; ++r) {
      quantize_act_row(GgmlType::Q8_0, qs + r * D, scratch.qq, D);
      for (int64_t j = 0; j < len; ++j)
        sc[static_cast<size_t>(r) * sc_stride + j] = ops->vec_dot(D, rows + static_cast<size_t>(j) * kv.key_block, scratch.qq) * scale;
    }
  } else if (kv.tk == GgmlType::F16)
    k::attn_scores_kb(qs, static_cast<size_t>(D), static_cast<int>(nq), static_cast<const uint16_t*>(kv.keys) + block0,
                      kv.key_block, len, D, scale, sc, sc_stride);
  else
    k::attn_scores_kb(qs, static_cast<size_t>(D), static_cast<int>(nq), static_cast<const float*>(kv.keys) + block0,
                      kv.key_block, len, D, scale, sc, sc_stride);
  for (int64_t r = 0; r < nq; ++r) {
    float* row = sc + static_cast<size_t>(r) * sc_stride;
    if (cap > 0)
      for (int64_t j = 0; j < len; ++j) row[j] = std::tanh(row[j] * (1.0f / cap)) * cap;
    out.sum[r] = k::exp_shifted_inplace(row, len, &out.m[r]);
    if (kv.tv == GgmlType::F16) {
      k::fp32_to_fp16_row(row, pr, static_cast<size_t>(len));
      k::fp16_to_fp32_row(pr, row, static_cast<size_t>(len));
    }
  }
  std::fill(out.o, out.o + nq * D, 0.f);
  const size_t v0 = static_cast<size_t>(j0) * kv.value_stride;
  if (kv.tv == GgmlType::Q8_0) {
    for (int64_t j = 0; j < len; ++j)
      dequantize_row(GgmlType::Q8_0, static_cast<const uint8_t*>(kv.values) + v0 + static_cast<size_t>(j) * kv.value_stride,
                     scratch.values + j * D, D);
    k::attn_weighted_sum_multi(sc, sc_stride, static_cast<int>(nq), scratch.values, static_cast<size_t>(D), len, D, out.o,
                               static_cast<size_t>(D));
  } else if (kv.tv == GgmlType::F16)
    k::attn_weighted_sum_multi(sc, sc_stride, static_cast<int>(nq), static_cast<const uint16_t*>(kv.values) + v0,
                               kv.value_stride, len, D, out.o, static_cast<size_t>(D));
  else
    k::attn_weighted_sum_multi(sc, sc_stride, static_cast<int>(nq), static_cast<const float*>(kv.values) + v0,
                               kv.value_stride, len, D, out.o, static_cast<size_t>(D));
}

}  // namespace

void attend(const ModelParams& p, KvCache& kv, int64_t l, const BatchLayout& b, const float* q, const float* kk,
            const float* vv, float* att, AttentionBuffers& buf) {
  const int64_t n = b.n, H = p.n_head, HKV = p.n_head_kv, D = p.head_dim, KVD = p.kv_dim(), QD = p.q_dim();
  const GgmlType tk = kv.type_k(), tv = kv.type_v();
#pragma omp parallel for schedule(static) if (n >= 8)
  for (int64_t t = 0; t < n; ++t) {
    const int32_t s = b.seq[t];
    kv.write_k(s, l, b.pos[t], kk + t * KVD);
    quantize_act_row(tv, vv + t * KVD, kv.v_row(s, l, b.pos[t]), KVD);
  }
  const float scale = p.q_scale > 0 ? 1.0f : 1.0f / std::sqrt(static_cast<float>(D));
  const float cap = p.attn_softcap;
  const int64_t window = p.layer_is_swa(l) ? p.swa_window : 0;
  const int64_t group = H / HKV;
  const QuantOps* k_ops = tk == GgmlType::Q8_0 ? quant_ops(tk) : nullptr;
  const uint64_t qq_bytes = ggml_bytes(GgmlType::Q8_0, static_cast<uint64_t>(D));
  const KvRows& rows = window > 0 ? b.windowed : b.full;
  const int64_t kv_rows = rows.total;
  // A global layer reads keys and values where the cache holds them: keys in blocks of 16
  // positions (16 keys' scores fill the lanes of one vector, and every query head of a group
  // shares each key load), F16 converted as it is loaded. Nothing is copied per call, which is
  // what keeps a long context's generation from converting the whole cache for every token.
  // A windowed layer's ring is not in position order: its keys are copied out transposed
  // (kt[(kvh * D + i) * kt_stride + row], the columns past the last row zero, read by the last
  // 16-key block and never used), its values as F32 rows; so are Q8_0 values everywhere.
  const bool keys_in_place = window == 0 && kv.k_blocked();
  const bool values_in_place = window == 0 && tv != GgmlType::Q8_0;
  const int64_t kt_stride = (kv_rows + 15) / 16 * 16 + 16;
  float* kt = !k_ops && !keys_in_place ? reuse(buf.kt, static_cast<size_t>(KVD * kt_stride)) : nullptr;
  // Q8_0 values are copied out for the tokens that take their keys in one piece; a long context's
  // decoding step takes them in parts, from the cache, and copies nothing.
  bool all_parted = window == 0;
  for (int64_t t = 0; t < n && all_parted; ++t) all_parted = b.pos[t] + 1 > kKeyPart;
  float* vf = !values_in_place && !all_parted ? reuse(buf.vf, static_cast<size_t>(kv_rows * KVD)) : nullptr;
  const int64_t n_slots = static_cast<int64_t>(rows.first_row.size());
  // The sequence and position of F32 row r.
  auto locate = [&](int64_t r, int& s, int64_t& pos) {
    int64_t i = 0;
    while (i + 1 < n_slots && rows.first_row[static_cast<size_t>(i) + 1] <= r) ++i;
    s = static_cast<int>(i);
    pos = rows.first_pos[static_cast<size_t>(i)] + r - rows.first_row[static_cast<size_t>(i)];
  };
  // Keys and values of the sequences in this batch as F32, converted once per layer (every
  // query head of a group reads the same KV head), the keys transposed 16 rows at a time so
  // that each write fills a cache line. A Q8_0 key cache keeps its integer dot. Short contexts
  // stay on the calling thread: waking the others would cost more than the copy.
#pragma omp parallel if ((kt || vf) && kv_rows * KVD >= 65536)
  if (kt || vf) {
    thread_local std::vector<float> rows_buf;
    float* tmp = kt ? reuse(rows_buf, static_cast<size_t>(16 * KVD)) : nullptr;
#pragma omp for schedule(static)
    for (int64_t r0 = 0; r0 < kt_stride; r0 += 16) {
      if (kt) {
        for (int64_t rr = 0; rr < 16; ++rr) {
          const int64_t r = r0 + rr;
          float* dst = tmp + rr * KVD;
          if (r >= kv_rows) {
            std::fill(dst, dst + KVD, 0.f);
            continue;
          }
          int s;
          int64_t pos;
          locate(r, s, pos);
          kv.read_k(s, l, pos, dst);
        }
        for (int64_t c = 0; c < KVD; ++c)
          for (int64_t rr = 0; rr < 16; ++rr) kt[c * kt_stride + r0 + rr] = tmp[rr * KVD + c];
      }
      if (vf)
        for (int64_t r = r0; r < std::min(kv_rows, r0 + 16); ++r) {
          int s;
          int64_t pos;
          locate(r, s, pos);
          dequantize_row(tv, kv.v_row(s, l, pos), vf + r * KVD, KVD);
        }
    }
  }
  // Query heads per block: a token's heads of one KV head, at most 8 (the kernels' widest).
  const int64_t chunk = std::min<int64_t>(group, 8), chunks = (group + chunk - 1) / chunk;
  const int64_t sc_stride = (b.longest + 15) / 16 * 16;
  // Which tokens take their keys in parts, and the query heads in the keys' arithmetic.
  // Every global layer: keys in blocks or Q8_0 rows, values as F16/F32 or Q8_0 rows, all in place.
  const bool parted_layer = window == 0;
  auto n_parts = [&](int64_t t) { return parted_layer ? (b.pos[t] + 1 + kKeyPart - 1) / kKeyPart : 1; };
  auto in_place = [&](int32_t s, int64_t kvh) {
    InPlace ip;
    if (k_ops) {
      ip.key_block = static_cast<size_t>(kv.k_row_bytes());
      ip.keys = kv.k_row(s, l, 0) + ggml_bytes(tk, static_cast<uint64_t>(kvh * D));
    } else {
      ip.key_block = static_cast<size_t>(KVD * KvCache::kKeyBlock);
      ip.keys = kv.k_blocks(s, l) + ggml_bytes(tk, static_cast<uint64_t>(kvh * D * KvCache::kKeyBlock));
    }
    ip.values = kv.v_row(s, l, 0) + ggml_bytes(tv, static_cast<uint64_t>(kvh * D));
    ip.value_stride = tv == GgmlType::Q8_0 ? static_cast<size_t>(kv.v_row_bytes()) : static_cast<size_t>(KVD);
    ip.tk = tk;
    ip.tv = tv;
    return ip;
  };
  auto query = [&](int64_t t, int64_t h0, int64_t nq, float* qh, uint16_t* qr) -> const float* {
    const float* qt = q + t * QD + h0 * D;
    if (tk != GgmlType::F16) return qt;
    k::fp32_to_fp16_row(qt, qr, static_cast<size_t>(nq * D));
    k::fp16_to_fp32_row(qr, qh, static_cast<size_t>(nq * D));
    return qh;
  };
  auto part_len = [&](int64_t t, int64_t part) { return std::min(kKeyPart, b.pos[t] + 1 - part * kKeyPart); };
  // Every part of every token a work item of its own (a decoding step has work for every thread),
  // the parts kept until all are done, then merged; tokens a range at a time so that the parts'
  // memory stays bounded whatever the batch.
  const size_t per_item = static_cast<size_t>(chunk * (D + 1));
  const uint64_t max_items = std::max<uint64_t>(1, (uint64_t(16) << 20) / (per_item * sizeof(float)));
  std::vector<int64_t>& first_item = buf.first_item;
  for (int64_t t0 = 0, t1 = 0; parted_layer && t0 < n; t0 = t1) {
    first_item.assign(1, 0);
    for (t1 = t0; t1 < n; ++t1) {
      const int64_t more = n_parts(t1) > 1 ? n_parts(t1) * HKV * chunks : 0;
      if (t1 > t0 && static_cast<uint64_t>(first_item.back() + more) > max_items) break;
      first_item.push_back(first_item.back() + more);
    }
    const int64_t items = first_item.back();
    if (items == 0) continue;
    // Item first_item[t - t0] + c * n_parts(t) + part: a (token, head block)'s parts lie together.
    float* pf = reuse(buf.part_f, static_cast<size_t>(items) * per_item);
    double* pd = reuse(buf.part_d, static_cast<size_t>(items * chunk));
    buf.parts.resize(static_cast<size_t>(items));
    for (int64_t item = 0; item < items; ++item) {
      float* base = pf + static_cast<size_t>(item) * per_item;
      buf.parts[static_cast<size_t>(item)] = Partial{base, base + chunk * D, pd + item * chunk};
    }
    const Partial* parts = buf.parts.data();
#pragma omp parallel
    {
      thread_local std::vector<float> qh_buf, sc_buf, pv_buf;
      thread_local std::vector<uint16_t> qr_buf, pr_buf;
      thread_local std::vector<uint8_t> qq_buf;
      float* qh = reuse(qh_buf, static_cast<size_t>(chunk * D));
      uint16_t* qr = reuse(qr_buf, static_cast<size_t>(chunk * D));
      float* sc = reuse(sc_buf, static_cast<size_t>(chunk * kKeyPart));
      uint16_t* pr = reuse(pr_buf, static_cast<size_t>(kKeyPart));
      const PartScratch scratch{k_ops ? reuse(qq_buf, static_cast<size_t>(qq_bytes)) : nullptr,
                                tv == GgmlType::Q8_0 ? reuse(pv_buf, static_cast<size_t>(kKeyPart * D)) : nullptr};
#pragma omp for schedule(dynamic, 1)
      for (int64_t item = 0; item < items; ++item) {
        const int64_t t = t0 + (std::upper_bound(first_item.begin(), first_item.end(), item) - first_item.begin() - 1);
        const int64_t i = item - first_item[static_cast<size_t>(t - t0)], c = i / n_parts(t), part = i % n_parts(t);
        const int64_t kvh = c / chunks, h0 = kvh * group + c % chunks * chunk, nq = std::min(chunk, (kvh + 1) * group - h0);
        attend_part(in_place(b.seq[t], kvh), query(t, h0, nq, qh, qr), nq, D, scale, cap, part * kKeyPart,
                    part_len(t, part), sc, static_cast<size_t>(kKeyPart), pr, scratch, parts[item]);
      }
#pragma omp for collapse(2) schedule(static)
      for (int64_t t = t0; t < t1; ++t)
        for (int64_t c = 0; c < HKV * chunks; ++c) {
          const int64_t np = n_parts(t);
          if (np == 1) continue;
          const int64_t kvh = c / chunks, h0 = kvh * group + c % chunks * chunk, nq = std::min(chunk, (kvh + 1) * group - h0);
          k::attn_merge_parts(parts + first_item[static_cast<size_t>(t - t0)] + c * np, np, nq, D, att + t * QD + h0 * D);
        }
    }
  }
  // Each token attends over its own sequence, a block of query heads of one KV head at a time;
  // scratch per thread. Later tokens attend to more keys, so the blocks are handed out
  // dynamically rather than in two halves. A head's result does not depend on its block's size.
#pragma omp parallel if (n * b.longest * H >= 8192)
  {
    thread_local std::vector<float> qh_buf, sc_buf;
    thread_local std::vector<uint16_t> qr_buf, pr_buf;
    thread_local std::vector<uint8_t> qq_buf;
    float* qh = reuse(qh_buf, static_cast<size_t>(chunk * D));
    uint16_t* qr = reuse(qr_buf, static_cast<size_t>(chunk * D));
    float* sc = reuse(sc_buf, static_cast<size_t>(chunk * sc_stride));
    uint8_t* qq = reuse(qq_buf, static_cast<size_t>(qq_bytes));
    uint16_t* pr = reuse(pr_buf, static_cast<size_t>(sc_stride));
#pragma omp for collapse(2) schedule(dynamic, 4)
    for (int64_t t = 0; t < n; ++t)
      for (int64_t c = 0; c < HKV * chunks; ++c) {
        if (n_parts(t) > 1) continue;  // taken in parts above
        const int32_t s = b.seq[t];
        const int64_t end = b.pos[t] + 1, kvh = c / chunks;
        // A windowed layer sees the positions less than `window` before the query's own.
        const int64_t j0 = window > 0 ? std::max<int64_t>(0, end - window) : 0, len = end - j0;
        const int64_t h0 = kvh * group + c % chunks * chunk, nq = std::min(chunk, (kvh + 1) * group - h0);
        const float* qt = q + t * QD + h0 * D;
        const int64_t r0 = rows.first_row[static_cast<size_t>(s)] + j0 - rows.first_pos[static_cast<size_t>(s)];
        if (k_ops) {
          for (int64_t r = 0; r < nq; ++r) {
            quantize_act_row(GgmlType::Q8_0, qt + r * D, qq, D);
            for (int64_t j = 0; j < len; ++j)
              sc[r * sc_stride + j] =
                  k_ops->vec_dot(D, kv.k_row(s, l, j0 + j) + ggml_bytes(tk, static_cast<uint64_t>(kvh * D)), qq) * scale;
          }
        } else {
          const float* qs = qt;
          if (tk == GgmlType::F16) {
            k::fp32_to_fp16_row(qt, qr, static_cast<size_t>(nq * D));
            k::fp16_to_fp32_row(qr, qh, static_cast<size_t>(nq * D));
            qs = qh;
          }
          if (!keys_in_place) {
            k::attn_scores_kt(qs, static_cast<size_t>(D), static_cast<int>(nq), kt + kvh * D * kt_stride + r0,
                              static_cast<size_t>(kt_stride), len, D, scale, sc, static_cast<size_t>(sc_stride));
          } else {
            // Keys of this KV head from position 0 (a global layer: j0 is 0).
            const size_t block = static_cast<size_t>(KVD * KvCache::kKeyBlock), head = static_cast<size_t>(kvh * D * KvCache::kKeyBlock);
            if (tk == GgmlType::F16)
              k::attn_scores_kb(qs, static_cast<size_t>(D), static_cast<int>(nq),
                                reinterpret_cast<const uint16_t*>(kv.k_blocks(s, l)) + head, block, len, D, scale, sc,
                                static_cast<size_t>(sc_stride));
            else
              k::attn_scores_kb(qs, static_cast<size_t>(D), static_cast<int>(nq),
                                reinterpret_cast<const float*>(kv.k_blocks(s, l)) + head, block, len, D, scale, sc,
                                static_cast<size_t>(sc_stride));
          }
        }
        if (cap > 0)  // Gemma 2: scores soft-capped before the softmax
          for (int64_t r = 0; r < nq; ++r)
            for (int64_t j = 0; j < len; ++j) sc[r * sc_stride + j] = std::tanh(sc[r * sc_stride + j] * (1.0f / cap)) * cap;
        for (int64_t r = 0; r < nq; ++r) k::softmax_inplace(sc + r * sc_stride, len);
        // The weights meet an F16 value cache as F16, as in ggml's product of the two.
        if (tv == GgmlType::F16)
          for (int64_t r = 0; r < nq; ++r) {
            k::fp32_to_fp16_row(sc + r * sc_stride, pr, static_cast<size_t>(len));
            k::fp16_to_fp32_row(pr, sc + r * sc_stride, static_cast<size_t>(len));
          }
        // Values of this KV head: rows KVD elements apart in the F32 copy or the cache.
        float* o = att + t * QD + h0 * D;
        std::fill(o, o + nq * D, 0.f);
        if (vf)
          k::attn_weighted_sum_multi(sc, static_cast<size_t>(sc_stride), static_cast<int>(nq), vf + r0 * KVD + kvh * D,
                                     static_cast<size_t>(KVD), len, D, o, static_cast<size_t>(D));
        else if (tv == GgmlType::F16)
          k::attn_weighted_sum_multi(sc, static_cast<size_t>(sc_stride), static_cast<int>(nq),
                                     reinterpret_cast<const uint16_t*>(kv.v_row(s, l, j0)) + kvh * D,
                                     static_cast<size_t>(KVD), len, D, o, static_cast<size_t>(D));
        else
          k::attn_weighted_sum_multi(sc, static_cast<size_t>(sc_stride), static_cast<int>(nq),
                                     reinterpret_cast<const float*>(kv.v_row(s, l, j0)) + kvh * D,
                                     static_cast<size_t>(KVD), len, D, o, static_cast<size_t>(D));
      }
  }
}

}  // namespace llmkit::detail
