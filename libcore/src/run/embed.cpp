#include "llmkit/embed.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "llmkit/error.h"

namespace llmkit {

Pooling parse_pooling(const std::string& name) {
  if (name == "none") return Pooling::None;
  if (name == "mean") return Pooling::Mean;
  if (name == "cls") return Pooling::Cls;
  if (name == "last") return Pooling::Last;
  throw Error("usage", "unknown pooling '" + name + "' (none, mean, cls, last)");
}

const char* pooling_name(Pooling p) {
  switch (p) {
    case Pooling::None: return "none";
    case Pooling::Mean: return "mean";
    case Pooling::Cls: return "cls";
    case Pooling::Last: return "last";
  }
  return "?";
}

Pooling default_pooling(const ModelParams& p) {
  switch (p.pooling) {
    case -1: return p.encoder ? Pooling::Mean : Pooling::Last;
    case 0: return Pooling::None;
    case 1: return Pooling::Mean;
    case 2: return Pooling::Cls;
    case 3: return Pooling::Last;
    case 4: throw Error("unsupported_model", "the model pools by rank (a reranker), which llmkit does not support; pass a pooling");
    default: throw Error("bad_model", "unknown " + p.arch + ".pooling_type " + std::to_string(p.pooling));
  }
}

Normalize parse_normalize(const std::string& name) {
  if (name == "none") return Normalize::None;
  if (name == "l2") return Normalize::L2;
  throw Error("usage", "unknown normalization '" + name + "' (l2, none)");
}

void normalize_l2(float* v, int64_t n) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += double(v[i]) * v[i];
  const double norm = std::sqrt(ss);
  const float s = norm > 0 ? static_cast<float>(1.0 / norm) : 0.0f;
  for (int64_t i = 0; i < n; ++i) v[i] *= s;
}

Embedder::Embedder(const Model& m, int64_t n_ctx, int64_t n_batch) : m_(m), n_ctx_(n_ctx), n_batch_(n_batch) {
  if (n_ctx <= 0) throw Error("usage", "the context size must be positive");
  if (n_batch <= 0) throw Error("usage", "the batch size must be positive");
  if (m.params().encoder) n_ctx_ = std::min(n_ctx_, m.params().n_ctx_train);
}

// The hidden states a pooling needs, for one pass: every token's (mean, none) or one per
// sequence (cls: the first, last: the last), sequences in order.
std::vector<float> Embedder::hidden(std::span<const std::vector<int32_t>> seqs, Pooling pooling) {
  if (m_.params().encoder) return encode(m_, seqs);
  int64_t longest = 0;
  for (const auto& s : seqs) longest = std::max(longest, static_cast<int64_t>(s.size()));
  const int n_seq = static_cast<int>(seqs.size());
  // Each sequence goes in whole in one pass, so a windowed layer keeps all of it.
  if (!kv_ || kv_->n_seq() < n_seq || kv_->n_ctx() < longest || kv_->max_batch() < longest)
    kv_ = std::make_unique<KvCache>(m_.params(), std::max(longest, kv_ ? kv_->n_ctx() : 0),
                                    std::max(n_seq, kv_ ? kv_->n_seq() : 0), GgmlType::F16, GgmlType::F16,
                                    std::max({longest, n_batch_, kv_ ? kv_->max_batch() : 0}));
  kv_->clear_all();
  Batch b;
  for (int s = 0; s < n_seq; ++s) {
    const auto& toks = seqs[static_cast<size_t>(s)];
    for (size_t j = 0; j < toks.size(); ++j) {
      const bool want = pooling == Pooling::Mean || pooling == Pooling::None ||
                        (pooling == Pooling::Cls && j == 0) || (pooling == Pooling::Last && j + 1 == toks.size());
      b.add(toks[j], s, want);
    }
  }
  return decode(m_, *kv_, b, DecodeOutput::Hidden);
}

std::vector<std::vector<float>> Embedder::embed(const std::vector<std::vector<int32_t>>& seqs, Pooling pooling,
                                                Normalize norm) {
  const int64_t E = m_.params().n_embd;
  for (const auto& s : seqs) {
    if (s.empty()) throw Error("usage", "an empty sequence has no embedding");
    if (static_cast<int64_t>(s.size()) > n_ctx_)
      throw Error("context_full", "a sequence of " + std::to_string(s.size()) + " tokens is longer than the context (" +
                                      std::to_string(n_ctx_) + ")");
  }
  std::vector<std::vector<float>> out;
  out.reserve(seqs.size());
  const bool encoder = m_.params().encoder;
  for (size_t i = 0; i < seqs.size();) {
    // A pass: sequences while their tokens fit the batch (a decoder's cache holds every slot at the
    // longest length, so count that).
    size_t j = i;
    int64_t tokens = 0, longest = 0;
    while (j < seqs.size()) {
      const int64_t len = static_cast<int64_t>(seqs[j].size()), lg = std::max(longest, len);
      const int64_t cost = encoder ? tokens + len : lg * static_cast<int64_t>(j - i + 1);
      if (j > i && cost > n_batch_) break;
      tokens += len, longest = lg, ++j;
    }
    const std::span<const std::vector<int32_t>> pass(seqs.data() + i, j - i);
    const std::vector<float> h = hidden(pass, pooling);
    const bool per_token = encoder || pooling == Pooling::Mean || pooling == Pooling::None;
    size_t row = 0;
    for (const auto& s : pass) {
      const size_t len = s.size();
      std::vector<float> v;
      const float* first = h.data() + row * static_cast<size_t>(E);
      switch (pooling) {
        case Pooling::None:
          v.assign(first, first + len * static_cast<size_t>(E));
          break;
        case Pooling::Mean: {
          v.assign(static_cast<size_t>(E), 0.f);
          for (size_t t = 0; t < len; ++t)
            for (int64_t e = 0; e < E; ++e) v[static_cast<size_t>(e)] += first[t * static_cast<size_t>(E) + static_cast<size_t>(e)];
          const float inv = 1.0f / static_cast<float>(len);
          for (float& x : v) x *= inv;
          break;
        }
        case Pooling::Cls:
          v.assign(first, first + E);
          break;
        case Pooling::Last: {
          const float* last = per_token ? first + (len - 1) * static_cast<size_t>(E) : first;
          v.assign(last, last + E);
          break;
        }
      }
      if (norm == Normalize::L2)
        for (size_t r = 0; r < v.size(); r += static_cast<size_t>(E)) normalize_l2(v.data() + r, E);
      row += per_token ? len : 1;
      out.push_back(std::move(v));
    }
    i = j;
  }
  return out;
}

}  // namespace llmkit
