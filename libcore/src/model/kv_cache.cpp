#include "llmkit/kv_cache.h"

#include <cstring>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "cpu/fp16.h"
#include "llmkit/error.h"
#include "llmkit/model.h"
#include "llmkit/quant.h"
#include "llmkit/system_info.h"

namespace llmkit {

KvCache::KvCache(const ModelParams& p, int64_t n_ctx, int n_seq, GgmlType type_k, GgmlType type_v, int64_t n_batch)
    : n_ctx_(n_ctx), n_layer_(p.n_layer), kv_dim_(p.n_head_kv * p.head_dim), n_batch_(n_batch), n_seq_(n_seq),
      type_k_(type_k), type_v_(type_v) {
  if (p.encoder)
    throw Error("unsupported_model", "'" + p.arch + "' is an encoder: it embeds text (llm-embed) but does not generate");
  if (n_ctx <= 0) throw Error("usage", "the context size must be positive");
  if (n_seq <= 0) throw Error("usage", "the cache needs at least one sequence");
  if (n_batch <= 0) throw Error("usage", "the batch size must be positive");
  if (n_ctx > (int64_t(1) << 40))
    throw Error("too_large", "a KV cache of " + std::to_string(n_ctx) + " tokens is larger than any machine's memory");
  // Every position of a global layer; a windowed one its window and one batch more, enough for a
  // batch's first token to see its window while the batch's own positions are written.
  for (int64_t l = 0; l < p.n_layer; ++l) {
    const int64_t w = p.layer_is_swa(l) ? p.swa_window : 0;
    window_.push_back(w);
    // Whole key blocks: a ring's slots and a block's lanes stay aligned.
    const int64_t cap = w > 0 ? std::min(n_ctx, w + n_batch) : n_ctx;
    cap_.push_back((cap + kKeyBlock - 1) / kKeyBlock * kKeyBlock);
    layer_row_.push_back(rows_per_seq_);
    rows_per_seq_ += static_cast<uint64_t>(cap_.back());
  }
  for (GgmlType t : {type_k, type_v}) {
    if (t != GgmlType::F16 && t != GgmlType::F32 && t != GgmlType::Q8_0)
      throw Error("usage", std::string("the KV cache cannot hold ") + ggml_type_name(t) + " (f16, f32, q8_0)");
    // Heads are read one at a time, so each head must start on a block boundary.
    if (p.head_dim % ggml_type_info(t).block_size)
      throw Error("usage", std::string("a ") + ggml_type_name(t) + " KV cache needs a head size that is a multiple of " +
                               std::to_string(ggml_type_info(t).block_size) + " (this model's is " +
                               std::to_string(p.head_dim) + ")");
  }
  k_row_ = ggml_bytes(type_k, static_cast<uint64_t>(kv_dim_));
  v_row_ = ggml_bytes(type_v, static_cast<uint64_t>(kv_dim_));
  // Checked before allocating: `-c 2000000000` or `--parallel 64` must say what fits, not abort.
  const uint64_t row_bytes = k_row_ + v_row_;
  const uint64_t per_token = static_cast<uint64_t>(n_seq) * static_cast<uint64_t>(n_layer_) * row_bytes;
  const uint64_t avail = available_memory_bytes();
  if (per_token == 0 || rows_per_seq_ > avail / row_bytes / static_cast<uint64_t>(n_seq)) {
    const uint64_t per_seq = rows_per_seq_ * row_bytes;
    char msg[512];
    std::snprintf(msg, sizeof msg,
                  "a KV cache of %lld tokens x %d sequence%s needs %.1f GiB; %.1f GiB of memory is available, which "
                  "holds at most %llu tokens in all (-c per sequence x --parallel), fewer with the model's working memory",
                  static_cast<long long>(n_ctx), n_seq, n_seq == 1 ? "" : "s",
                  double(per_seq) * double(n_seq) / double(uint64_t(1) << 30), double(avail) / double(uint64_t(1) << 30),
                  static_cast<unsigned long long>(per_token ? avail / per_token : 0));
    throw Error("too_large", msg);
  }
  const uint64_t rows = static_cast<uint64_t>(n_seq) * rows_per_seq_;
  k_.assign(rows * k_row_, 0);
  v_.assign(rows * v_row_, 0);
  n_past_.assign(static_cast<size_t>(n_seq), 0);
}

GgmlType parse_cache_type(const std::string& name) {
  std::string s = name;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "f16") return GgmlType::F16;
  if (s == "f32") return GgmlType::F32;
  if (s == "q8_0") return GgmlType::Q8_0;
  throw Error("usage", "unknown KV cache type '" + name + "' (f16, f32, q8_0)");
}

bool KvCache::holds_prefix(int seq, int64_t n) const {
  if (n > n_past(seq)) return false;
  for (int64_t l = 0; l < n_layer_; ++l)
    if (window_[static_cast<size_t>(l)] > 0 && n_past(seq) > cap_[static_cast<size_t>(l)]) return false;
  return true;
}

void KvCache::write_k(int seq, int64_t layer, int64_t pos, const float* k) {
  if (!k_blocked()) return quantize_act_row(type_k_, k, k_row(seq, layer, pos), kv_dim_);
  const int64_t slot = pos % cap_[static_cast<size_t>(layer)];
  const int64_t first = slot / kKeyBlock * kv_dim_ * kKeyBlock + slot % kKeyBlock;
  if (type_k_ == GgmlType::F16) {
    auto* dst = reinterpret_cast<uint16_t*>(k_blocks(seq, layer)) + first;
    for (int64_t c = 0; c < kv_dim_; ++c) dst[c * kKeyBlock] = kernels::fp32_to_fp16(k[c]);
  } else {
    float* dst = reinterpret_cast<float*>(k_blocks(seq, layer)) + first;
    for (int64_t c = 0; c < kv_dim_; ++c) dst[c * kKeyBlock] = k[c];
  }
}

void KvCache::read_k(int seq, int64_t layer, int64_t pos, float* dst) {
  if (!k_blocked()) return dequantize_row(type_k_, k_row(seq, layer, pos), dst, kv_dim_);
  const int64_t slot = pos % cap_[static_cast<size_t>(layer)];
  const int64_t first = slot / kKeyBlock * kv_dim_ * kKeyBlock + slot % kKeyBlock;
  if (type_k_ == GgmlType::F16) {
    const auto* src = reinterpret_cast<const uint16_t*>(k_blocks(seq, layer)) + first;
    for (int64_t c = 0; c < kv_dim_; ++c) dst[c] = kernels::fp16_to_fp32(src[c * kKeyBlock]);
  } else {
    const float* src = reinterpret_cast<const float*>(k_blocks(seq, layer)) + first;
    for (int64_t c = 0; c < kv_dim_; ++c) dst[c] = src[c * kKeyBlock];
  }
}

void KvCache::copy_prefix(int from, int to, int64_t n) {
  for (int64_t l = 0; l < n_layer_; ++l) {
    // Positions 0..n-1 are consecutive rows of a layer (no ring wrap: holds_prefix checked it);
    // blocked keys go by whole blocks (what lies past n in the last one is never read as a key).
    if (k_blocked()) {
      const int64_t rows = (n + kKeyBlock - 1) / kKeyBlock * kKeyBlock;
      std::memcpy(k_blocks(to, l), k_blocks(from, l), static_cast<size_t>(rows) * k_row_);
    } else {
      std::memcpy(k_row(to, l, 0), k_row(from, l, 0), static_cast<size_t>(n) * k_row_);
    }
    std::memcpy(v_row(to, l, 0), v_row(from, l, 0), static_cast<size_t>(n) * v_row_);
  }
  set_n_past(to, n);
}

}  // namespace llmkit
