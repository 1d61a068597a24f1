#include "llmkit/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "llmkit/error.h"

namespace llmkit {

void apply_penalties(std::vector<float>& logits, const std::vector<int32_t>& history, const SamplerParams& p) {
  if (p.repeat_penalty == 1.0f && p.presence_penalty == 0.0f && p.frequency_penalty == 0.0f) return;
  const size_t n = p.penalty_last_n < 0 ? history.size() : std::min(history.size(), size_t(p.penalty_last_n));
  std::unordered_map<int32_t, int> count;
  for (size_t i = history.size() - n; i < history.size(); ++i) count[history[i]]++;
  for (const auto& [id, c] : count) {
    if (id < 0 || static_cast<size_t>(id) >= logits.size()) continue;
    float& l = logits[static_cast<size_t>(id)];
    // A repeated token becomes less likely whatever the sign of its logit.
    l = l > 0 ? l / p.repeat_penalty : l * p.repeat_penalty;
    l -= static_cast<float>(c) * p.frequency_penalty + p.presence_penalty;
  }
}

Sampler::Sampler(const SamplerParams& p) : p_(p), rng_(p.seed) {
  if (p.top_p <= 0 || p.repeat_penalty <= 0) throw Error("usage", "top-p and the repeat penalty must be positive");
}

int32_t Sampler::sample(std::vector<float>& logits, const std::vector<int32_t>& history) {
  if (logits.empty()) throw Error("internal", "no logits to sample from");
  apply_penalties(logits, history, p_);
  if (p_.temperature <= 0) return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());

  cand_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) cand_[i] = {static_cast<int32_t>(i), logits[i], 0.f};
  // Ties broken by id so that the order, and so the draw, never depends on the sort's whims.
  auto by_logit = [](const Candidate& a, const Candidate& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); };
  size_t n = cand_.size();
  if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < n) {
    std::partial_sort(cand_.begin(), cand_.begin() + p_.top_k, cand_.end(), by_logit);
    n = static_cast<size_t>(p_.top_k);
  } else {
    std::sort(cand_.begin(), cand_.end(), by_logit);
  }
  auto softmax = [&](float temp) {
    const float mx = cand_[0].logit;
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += (cand_[i].p = std::exp((cand_[i].logit - mx) / temp));
    for (size_t i = 0; i < n; ++i) cand_[i].p = static_cast<float>(cand_[i].p / sum);
  };
  softmax(1.0f);
  if (p_.top_p < 1.0f) {  // smallest prefix whose probability reaches top_p
    double cum = 0;
    size_t keep = n;
    for (size_t i = 0; i < n; ++i) {
      cum += cand_[i].p;
      if (cum >= p_.top_p) {
        keep = i + 1;
        break;
      }
    }
    n = keep;
  }
  if (p_.min_p > 0.0f) {  // drop what is less likely than min_p times the most likely
    const float floor = cand_[0].p * p_.min_p;
    size_t keep = 1;
    while (keep < n && cand_[keep].p >= floor) ++keep;
    n = keep;
  }
  softmax(p_.temperature);
  // Inverse-CDF draw from 53 random bits: the same on every platform, unlike std distributions.
  const double u = static_cast<double>(rng_() >> 11) * (1.0 / 9007199254740992.0);
  double cum = 0;
  for (size_t i = 0; i < n; ++i) {
    cum += cand_[i].p;
    if (u < cum) return cand_[i].id;
  }
  return cand_[n - 1].id;
}

}  // namespace llmkit
