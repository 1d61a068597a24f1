// Keys and values of past positions for several independent sequences (one slot each), in the
// element type the user picks: F16 (llama.cpp's default), F32, or Q8_0 (half the memory of F16).
// A sliding-window layer (Gemma) keeps only its window plus one batch of positions, in a ring:
// at a 32k context that is a fifth of Gemma 3's cache.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "llmkit/ggml_type.h"

namespace llmkit {

struct ModelParams;

class KvCache {
 public:
  // Throws Error("usage") for a type the cache cannot hold or a head size Q8_0 cannot split.
  // n_batch: the most positions one forward pass adds to a sequence (what a windowed layer keeps
  // beyond its window).
  KvCache(const ModelParams& p, int64_t n_ctx, int n_seq = 1, GgmlType type_k = GgmlType::F16,
          GgmlType type_v = GgmlType::F16, int64_t n_batch = 512);

  int64_t n_ctx() const { return n_ctx_; }
  int n_seq() const { return n_seq_; }
  GgmlType type_k() const { return type_k_; }
  GgmlType type_v() const { return type_v_; }
  int64_t n_past(int seq) const { return n_past_[static_cast<size_t>(seq)]; }
  void set_n_past(int seq, int64_t n) { n_past_[static_cast<size_t>(seq)] = n; }
  void clear(int seq) { n_past_[static_cast<size_t>(seq)] = 0; }
  void clear_all() { n_past_.assign(n_past_.size(), 0); }
  uint64_t bytes() const { return k_.size() + v_.size(); }
  int64_t max_batch() const { return n_batch_; }
  // Layer l's window (0: every position kept) and the positions it holds (ring size).
  int64_t window(int64_t l) const { return window_[static_cast<size_t>(l)]; }
  int64_t capacity(int64_t l) const { return cap_[static_cast<size_t>(l)]; }

  // One position's values for every KV head of one layer: kv_dim elements. A windowed layer's
  // position must lie within its window of the sequence's latest positions.
  uint8_t* v_row(int seq, int64_t layer, int64_t pos) { return v_.data() + offset(seq, layer, pos, v_row_); }
  // Keys. An F16 or F32 cache holds them in blocks of kKeyBlock positions, each block element by
  // element (the 16 positions' element c side by side), the layout attention reads in place:
  // element c of the position in ring slot r = pos % capacity(layer) lies at element
  // (r / 16) * kv_dim * 16 + c * 16 + r % 16 of k_blocks(seq, layer). A Q8_0 cache keeps rows of
  // blocks (k_row), for the integer dot products.
  static constexpr int64_t kKeyBlock = 16;
  bool k_blocked() const { return type_k_ != GgmlType::Q8_0; }
  uint8_t* k_blocks(int seq, int64_t layer) { return k_.data() + offset(seq, layer, 0, k_row_); }
  uint8_t* k_row(int seq, int64_t layer, int64_t pos) { return k_.data() + offset(seq, layer, pos, k_row_); }
  // One position's keys in, converted to the cache's type (as quantize_act_row does), and out as F32.
  void write_k(int seq, int64_t layer, int64_t pos, const float* k);
  void read_k(int seq, int64_t layer, int64_t pos, float* dst);
  // Whether positions [0, n) of a sequence are all still held (a windowed layer's ring may have
  // overwritten its oldest positions), and a copy of them from one sequence to another.
  bool holds_prefix(int seq, int64_t n) const;
  void copy_prefix(int from, int to, int64_t n);
  uint64_t k_row_bytes() const { return k_row_; }
  uint64_t v_row_bytes() const { return v_row_; }

 private:
  uint64_t offset(int seq, int64_t layer, int64_t pos, uint64_t row) const {
    const auto l = static_cast<size_t>(layer);
    return (static_cast<uint64_t>(seq) * rows_per_seq_ + layer_row_[l] + static_cast<uint64_t>(pos % cap_[l])) * row;
  }
  int64_t n_ctx_, n_layer_, kv_dim_, n_batch_;
  std::vector<int64_t> window_, cap_;
  std::vector<uint64_t> layer_row_;  // first row of each layer within a sequence
  uint64_t rows_per_seq_ = 0;
  int n_seq_;
  GgmlType type_k_, type_v_;
  uint64_t k_row_, v_row_;
  std::vector<uint8_t> k_, v_;
  std::vector<int64_t> n_past_;
};

// "f16", "f32", "q8_0" (case-insensitive) -> type; Error("usage") otherwise.
GgmlType parse_cache_type(const std::string& name);

}  // namespace llmkit
