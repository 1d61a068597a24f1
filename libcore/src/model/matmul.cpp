#include "matmul.h"

#include <algorithm>

#include <omp.h>

#include "cpu/dot.h"
#include "cpu/fp16.h"
#include "cpu/gemm.h"
#include "cpu/vec_dot.h"
#include "llmkit/quant.h"
#include "quant/kernel_ops.h"
#include "onednn/onednn_matmul.h"

namespace llmkit::detail {
namespace {

namespace k = kernels;

// Y[t][o] = dot(W row o, X[t]) for t < n. Types with an integer dot product take activations
// quantized once per call (to Q8_0 or Q8_K), as ggml does; the others are dequantized row by row.
constexpr int64_t kRowTile = 16, kTokenTile = 64, kGemmTokens = k::kGemmTokens, kDynamicTokens = 32;
static_assert(kRowTile <= k::kIqTileRows, "a row tile is one gemm_rows call");

// One weight's part of a product: its kernels, its activations prepared for them, its tiles.
struct Product {
  const Weight* wt = nullptr;
  float* y = nullptr;
  int64_t in = 0, out = 0;
  const uint8_t* data = nullptr;
  uint64_t row_bytes = 0;
  const QuantOps* ops = nullptr;
  bool int_dot = false;
  // Repacked rows (a whole group against all the tokens per call), then the rows left over.
  const PackedOps* pk = nullptr;
  int64_t groups = 0, first_plain = 0;
  int64_t group_tiles = 0;  // tiles of one group, or of two where the kernel has a pair form
  uint64_t group_bytes = 0;
  const float* xf = nullptr;    // float activations for rows without an integer dot
  const uint8_t* xa = nullptr;  // activations for the groups (or all rows)
  uint64_t act_bytes = 0;
  const uint8_t* xp = nullptr;  // ... for the rows left over, when their kernels want another form
  uint64_t plain_bytes = 0;
  int64_t tiles = 0;
};

// What a prepared activation buffer holds, so that products of one input can share it.
struct Prepared {
  const void* how = nullptr;  // the packed kernel's prepare function, or the type's ops
  GgmlType type = GgmlType::F32;
  const uint8_t* data = nullptr;
};

// Activations in the kernels' form, made once per input: quantized for integer dots, as ggml
// does (a packed layout's kernel may want them in a form of its own). Reuses an earlier buffer
// with the same form; the buffers are the calling thread's, slot by slot.
const uint8_t* prepare(const float* x, int64_t n, int64_t in, const PackedOps* pk, const QuantOps* ops, uint64_t bytes,
                       std::vector<Prepared>& done) {
  const void* how = pk ? static_cast<const void*>(pk) : static_cast<const void*>(ops);
  const GgmlType type = pk ? GgmlType::F32 : ops->vec_dot_type;
  for (const Prepared& p : done)
    if (p.type == type && (pk ? p.how == how : p.how == nullptr)) return p.data;
  thread_local std::vector<std::vector<uint8_t>> bufs;
  if (bufs.size() <= done.size()) bufs.resize(done.size() + 1);
  uint8_t* q = reuse(bufs[done.size()], static_cast<size_t>(bytes * static_cast<uint64_t>(n)));
#pragma omp parallel for schedule(static) if (n >= 8)
  for (int64_t t = 0; t < n; ++t) {
    uint8_t* dst = q + static_cast<uint64_t>(t) * bytes;
    if (pk) pk->prepare(x + t * in, dst, in);
    else quantize_act_row(ops->vec_dot_type, x + t * in, dst, in);
  }
  done.push_back({pk ? how : nullptr, type, q});
  return q;
}

void run_tile(const Product& p, int64_t rt, const float* x, int64_t n) {
  const int64_t in = p.in, out = p.out;
  float* y = p.y;
  if (rt < p.group_tiles) {
    const bool pair = p.pk->gemm_pair != nullptr;
    const int64_t g = pair ? 2 * rt : rt;
    const auto gemm = pair && g + 1 < p.groups ? p.pk->gemm_pair : p.pk->gemm;
    gemm(in, p.wt->packed + static_cast<uint64_t>(g) * p.group_bytes, p.xa, p.act_bytes, static_cast<int>(n),
         y + g * p.pk->rows, static_cast<size_t>(out));
    return;
  }
  const int64_t o_begin = p.first_plain + (rt - p.group_tiles) * kRowTile, o_end = std::min(out, o_begin + kRowTile);
  if (!p.int_dot) {  // rows as F32 (dequantized one at a time), then a float dot per token
    thread_local std::vector<float> row_buf;
    const GgmlType type = (*p.wt)->type;
    for (int64_t o = o_begin; o < o_end; ++o) {
      const float* wr = reinterpret_cast<const float*>(p.data + static_cast<uint64_t>(o) * p.row_bytes);
      if (type == GgmlType::BF16) {  // not repacked (oneDNN takes its prompts): widened as it is read
        const auto* wb = reinterpret_cast<const uint16_t*>(wr);
        for (int64_t t = 0; t < n; ++t) y[t * out + o] = k::dot_bf16_f32(wb, p.xf + t * in, in);
        continue;
      }
      if (type != GgmlType::F32) {
        float* row = reuse(row_buf, static_cast<size_t>(in));
        dequantize_row(type, p.data + static_cast<uint64_t>(o) * p.row_bytes, row, in);
        wr = row;
      }
      for (int64_t t = 0; t < n; ++t) y[t * out + o] = k::dot_f32(wr, p.xf + t * in, in);
    }
    return;
  }
  if (p.ops->gemm_rows && n > 1) {  // the rows unpacked once for all the tokens
    p.ops->gemm_rows(in, p.data + static_cast<uint64_t>(o_begin) * p.row_bytes, p.row_bytes,
                     static_cast<int>(o_end - o_begin), p.xp, p.plain_bytes, static_cast<int>(n), y + o_begin,
                     static_cast<size_t>(out));
    return;
  }
  // Tiles of weight rows x tokens: a tile's weight rows stay in cache while the tokens stream
  // past, so a prompt reads each weight from memory once rather than once per token.
  for (int64_t t0 = 0; t0 < n; t0 += kTokenTile) {
    const int64_t t_end = std::min(n, t0 + kTokenTile);
    for (int64_t o = o_begin; o < o_end; ++o) {
      const uint8_t* wr = p.data + static_cast<uint64_t>(o) * p.row_bytes;
      int64_t t = t0;
      if (p.ops->gemm)
        for (; t + 1 < t_end; t += p.ops->gemm_tokens) {
          const int nt = static_cast<int>(std::min<int64_t>(p.ops->gemm_tokens, t_end - t));
          p.ops->gemm(in, wr, p.xp + static_cast<uint64_t>(t) * p.plain_bytes, p.plain_bytes, nt, y + t * out + o,
                      static_cast<size_t>(out));
        }
      for (; t < t_end; ++t) y[t * out + o] = p.ops->vec_dot(in, wr, p.xp + static_cast<uint64_t>(t) * p.plain_bytes);
    }
  }
}

// F16 and BF16 weights meet activations rounded to their type, as in ggml (its F16 and BF16 dots
// take that type on both sides): the bits for oneDNN and, widened back, the floats for the row
// and packed kernels. Made once per input and type for all its products, in the calling thread's
// buffers as prepare() keeps its own.
struct RoundedInput {
  const uint16_t* bits = nullptr;
  const float* floats = nullptr;
};
RoundedInput round_input(GgmlType t, const float* x, int64_t n, int64_t in) {
  thread_local std::vector<uint16_t> bits[2];
  thread_local std::vector<float> floats[2];
  const size_t count = static_cast<size_t>(n * in), slot = t == GgmlType::BF16;
  uint16_t* b = reuse(bits[slot], count);
  float* f = reuse(floats[slot], count);
  if (t == GgmlType::BF16) {
    k::fp32_to_bf16_row(x, b, count);
    k::bf16_to_fp32_row(b, f, count);
  } else {
    k::fp32_to_fp16_row(x, b, count);
    k::fp16_to_fp32_row(b, f, count);
  }
  return {b, f};
}

}  // namespace

void matmul(const GgufFile& f, std::initializer_list<std::pair<const Weight*, float*>> jobs, const float* x, int64_t n) {
  Product ps[3];
  int np = 0;
  RoundedInput xr[2];  // F16, BF16
  std::vector<Prepared> done;
  int64_t total = 0;
  for (const auto& [wt, y] : jobs) {
    const GgmlType type = (*wt)->type;
    const bool half = type == GgmlType::F16 || type == GgmlType::BF16;
    RoundedInput& r = xr[type == GgmlType::BF16];
    if (half && !r.bits) r = round_input(type, x, n, (*wt)->ne[0]);
    const float* xin = half ? r.floats : x;
    if (wt->dnn && n >= wt->dnn_min_tokens) {  // oneDNN's GEMM runs on OpenMP's threads itself
      wt->dnn->run(half ? static_cast<const void*>(r.bits) : x, n, y);
      continue;
    }
    Product& p = ps[np++];
    const TensorInfo& w = **wt;
    p.wt = wt, p.y = y, p.in = w.ne[0], p.out = w.ne[1];
    p.data = f.tensor_data(w).data();
    p.row_bytes = ggml_bytes(w.type, static_cast<uint64_t>(p.in));
    p.ops = quant_ops(w.type);
    p.int_dot = p.ops && p.ops->vec_dot;
    p.pk = wt->packed ? packed_ops(w.type) : nullptr;
    p.groups = p.pk ? wt->packed_rows / p.pk->rows : 0;
    p.first_plain = p.pk ? wt->packed_rows : 0;
    p.group_bytes = p.pk ? p.pk->group_bytes(p.in) : 0;
    p.xa = p.xp = reinterpret_cast<const uint8_t*>(xin);
    p.xf = xin;
    p.act_bytes = p.plain_bytes = static_cast<uint64_t>(p.in) * sizeof(float);
    if (p.int_dot) {
      p.plain_bytes = ggml_bytes(p.ops->vec_dot_type, static_cast<uint64_t>(p.in));
      if (!p.pk || p.first_plain < p.out) p.xp = prepare(x, n, p.in, nullptr, p.ops, p.plain_bytes, done);
    }
    if (p.pk) {
      p.act_bytes = p.pk->act_bytes(p.in);
      if (p.pk->prepare) p.xa = prepare(x, n, p.in, p.pk, nullptr, p.act_bytes, done);
    } else {
      p.xa = p.xp, p.act_bytes = p.plain_bytes;
    }
    p.group_tiles = p.pk && p.pk->gemm_pair ? (p.groups + 1) / 2 : p.groups;
    p.tiles = p.group_tiles + (p.out - p.first_plain + kRowTile - 1) / kRowTile;
    total += p.tiles;
  }
  // For one token or a few, a thread's share in one contiguous run: each thread streams its part
  // of the weights, and the prefetching runs on across its tiles. For a prompt a tile is long and
  // tiles of different types cost differently (Q6_K rows beside Q4_K ones), so they are handed out
  // one at a time as threads free up.
  if (np == 0) return;
  const int64_t threads = omp_get_max_threads();
  const int64_t chunk = n >= kDynamicTokens ? 1 : std::max<int64_t>(1, (total + threads - 1) / threads);
#pragma omp parallel for schedule(dynamic, chunk)
  for (int64_t i = 0; i < total; ++i) {
    int j = 0;
    int64_t rt = i;
    while (rt >= ps[j].tiles) rt -= ps[j++].tiles;
    run_tile(ps[j], rt, x, n);
  }
}

void add_bias(float* y, const std::vector<float>& bias, int64_t n, int64_t dim) {
  if (bias.empty()) return;
#pragma omp parallel for schedule(static) if (n >= 8)
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < dim; ++i) y[t * dim + i] += bias[static_cast<size_t>(i)];
}

void add_into(float* x, const float* d, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= 8 * 4096)
  for (int64_t i = 0; i < n; ++i) x[i] += d[i];
}

}  // namespace llmkit::detail
