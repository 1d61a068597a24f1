#include "llmkit/perplexity.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "llmkit/error.h"

namespace llmkit {
namespace {

// log-softmax value of index `i` and the full distribution's log-sum-exp pieces.
struct LogSoftmax {
  float max;
  double log_sum;
  double logp(const float* lg, int64_t i) const { return double(lg[i]) - max - log_sum; }
};

LogSoftmax log_softmax(const float* lg, int64_t n) {
  const float mx = *std::max_element(lg, lg + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(double(lg[i]) - mx);
  return {mx, std::log(sum)};
}

struct Stats {
  double sum = 0, sum2 = 0;
  int64_t n = 0;
  void add(double v) {
    sum += v;
    sum2 += v * v;
    ++n;
  }
  double mean() const { return n ? sum / double(n) : 0; }
  double err() const {
    if (n < 2) return 0;
    const double m = mean();
    return std::sqrt(std::max(0.0, sum2 / double(n) - m * m) / double(n - 1));
  }
};

}  // namespace

PerplexityResult evaluate_perplexity(const Model& model, const Tokenizer& tok, const std::string& text,
                                     const PerplexityOptions& opt) {
  const ModelParams& p = model.params();
  if (opt.n_ctx < 4) throw Error("usage", "the context must hold at least 4 tokens");
  if (opt.base && opt.base->params().n_vocab != p.n_vocab)
    throw Error("usage", "the base model has another vocabulary (" + std::to_string(opt.base->params().n_vocab) +
                             " tokens, not " + std::to_string(p.n_vocab) + ")");
  const std::vector<int32_t> tokens = tok.encode(text, true);
  const int64_t n_ctx = opt.n_ctx;
  int64_t n_chunk = static_cast<int64_t>(tokens.size()) / n_ctx;
  if (opt.chunks >= 0) n_chunk = std::min(n_chunk, opt.chunks);
  if (n_chunk == 0)
    throw Error("text_too_short", "the text has " + std::to_string(tokens.size()) + " tokens, fewer than one chunk of " +
                                      std::to_string(n_ctx));
  const int64_t first = n_ctx / 2, V = p.n_vocab;
  Stats nll, base_nll, kl;
  int64_t agree = 0;
  KvCache kv(p, n_ctx);
  std::optional<KvCache> base_kv;
  if (opt.base) base_kv.emplace(opt.base->params(), n_ctx);
  for (int64_t c = 0; c < n_chunk; ++c) {
    std::vector<int32_t> chunk(tokens.begin() + c * n_ctx, tokens.begin() + (c + 1) * n_ctx);
    if (tok.vocab().add_bos && tok.vocab().bos >= 0) chunk[0] = tok.vocab().bos;
    kv.clear(0);
    const std::vector<float> logits = forward(model, kv, chunk, true, 512, opt.observer);
    std::vector<float> base_logits;
    if (opt.base) {
      base_kv->clear(0);
      base_logits = forward(*opt.base, *base_kv, chunk, true);
    }
    for (int64_t j = first; j < n_ctx - 1; ++j) {
      const float* lg = logits.data() + j * V;
      const LogSoftmax ls = log_softmax(lg, V);
      const int32_t next = chunk[static_cast<size_t>(j + 1)];
      nll.add(-ls.logp(lg, next));
      if (opt.base) {
        const float* bl = base_logits.data() + j * V;
        const LogSoftmax bs = log_softmax(bl, V);
        base_nll.add(-bs.logp(bl, next));
        double k = 0;
        for (int64_t i = 0; i < V; ++i) {
          const double lb = bs.logp(bl, i);
          k += std::exp(lb) * (lb - ls.logp(lg, i));
        }
        kl.add(k);
        agree += std::max_element(lg, lg + V) - lg == std::max_element(bl, bl + V) - bl;
      }
    }
    if (opt.on_chunk) opt.on_chunk(c, n_chunk, std::exp(nll.mean()));
  }
  if (!std::isfinite(nll.mean()))
    throw Error("non_finite", "the model produced non-finite log-likelihoods (NaN or Inf): its weights or "
                              "hyperparameters are broken");
  PerplexityResult r;
  r.ppl = std::exp(nll.mean());
  r.ppl_err = r.ppl * nll.err();
  r.tokens_scored = nll.n;
  r.chunks = n_chunk;
  r.text_tokens = static_cast<int64_t>(tokens.size());
  if (opt.base) {
    r.base_ppl = std::exp(base_nll.mean());
    r.base_ppl_err = r.base_ppl * base_nll.err();
    r.kl_mean = kl.mean();
    r.kl_err = kl.err();
    r.top1_agreement = double(agree) / double(nll.n);
  }
  return r;
}

}  // namespace llmkit
