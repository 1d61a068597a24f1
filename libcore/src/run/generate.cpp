#include "llmkit/generate.h"

#include <algorithm>
#include <cmath>
#include <chrono>
#include <limits>

#include "llmkit/error.h"

namespace llmkit {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

struct Slot {
  bool active = false;
  uint64_t id = 0;
  GenerationRequest req;
  std::optional<Sampler> sampler;
  std::optional<GrammarMatcher> matcher;  // with a grammar
  std::vector<int32_t> history;  // prompt and generated tokens, for the penalties
  size_t n_fed = 0;              // prompt tokens already in the cache
  int32_t pending = -1;          // sampled, not yet run through the model
  GenerationResult res;
  size_t shown = 0;  // bytes of res.text already given to on_text
  Clock::time_point t_start, t_first;
};

// Earliest occurrence of any stop string that ends within the last `added` bytes' reach.
size_t find_stop(const std::string& text, size_t added, const std::vector<std::string>& stop) {
  size_t best = std::string::npos;
  for (const std::string& s : stop) {
    if (s.empty()) continue;
    const size_t reach = added + s.size() - 1;
    const size_t from = text.size() > reach ? text.size() - reach : 0;
    const size_t at = text.find(s, from);
    if (at != std::string::npos) best = std::min(best, at);
  }
  return best;
}

}  // namespace

size_t stable_prefix(std::string_view text, const std::vector<std::string>& stop) {
  size_t n = text.size();
  for (const std::string& s : stop)  // the longest proper prefix of a stop string ending the text
    for (size_t k = std::min(s.empty() ? 0 : s.size() - 1, text.size()); k > 0; --k)
      if (text.substr(text.size() - k) == std::string_view(s).substr(0, k)) {
        n = std::min(n, text.size() - k);
        break;
      }
  // Back off an unfinished UTF-8 sequence at the end.
  size_t i = n, cont = 0;
  while (i > 0 && cont < 4 && (static_cast<unsigned char>(text[i - 1]) & 0xC0) == 0x80) --i, ++cont;
  if (i > 0) {
    const unsigned char lead = static_cast<unsigned char>(text[i - 1]);
    const size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (need > 1 && cont + 1 < need) n = i - 1;
  }
  return n;
}

GenerationStats generate(const Model& m, const Tokenizer& tok, KvCache& kv, int64_t n_batch,
                         const GenerationCallbacks& cb, bool reuse_prefixes) {
  if (n_batch <= 0) throw Error("usage", "the batch size must be positive");
  const std::vector<int32_t>& eog = tok.vocab().eog;
  const auto is_eog = [&](int32_t t) { return std::binary_search(eog.begin(), eog.end(), t); };
  const int64_t V = m.params().n_vocab;
  std::vector<Slot> slots(static_cast<size_t>(kv.n_seq()));
  GenerationStats stats;
  const Clock::time_point t_run = Clock::now();
  bool input_done = false;

  auto admit = [&](Slot& s, int si) {
    auto r = cb.next ? cb.next() : std::nullopt;
    if (!r) {
      input_done = true;
      return;
    }
    GenerationRequest& q = r->second;
    if (q.prompt.empty()) throw Error("usage", "a request needs at least one prompt token");
    if (static_cast<int64_t>(q.prompt.size()) > kv.n_ctx())
      throw Error("usage", "a prompt of " + std::to_string(q.prompt.size()) + " tokens exceeds the context");
    // The longest prefix of this prompt that a slot holds in the cache (this slot's previous
    // request included), for all but the prompt's last token.
    int best = -1;
    int64_t best_len = 0;
    if (reuse_prefixes)
      for (size_t j = 0; j < slots.size(); ++j) {
        const std::vector<int32_t>& held = slots[j].history;  // positions [0, n_past) are its first tokens
        const int64_t limit = std::min<int64_t>({kv.n_past(static_cast<int>(j)), static_cast<int64_t>(held.size()),
                                                 static_cast<int64_t>(q.prompt.size()) - 1});
        int64_t n = 0;
        while (n < limit && held[static_cast<size_t>(n)] == q.prompt[static_cast<size_t>(n)]) ++n;
        if (n > best_len && n >= kMinReusedPrefix && kv.holds_prefix(static_cast<int>(j), n)) best = static_cast<int>(j), best_len = n;
      }
    if (best >= 0 && best != si) kv.copy_prefix(best, si, best_len);
    s = Slot();
    s.active = true;
    s.id = r->first;
    s.sampler.emplace(q.sampling);
    if (q.grammar) s.matcher.emplace(q.grammar->grammar());
    s.history = q.prompt;
    s.res.prompt_tokens = static_cast<int64_t>(q.prompt.size());
    s.req = std::move(q);
    s.t_start = Clock::now();
    kv.set_n_past(si, best >= 0 ? best_len : 0);
    s.n_fed = best >= 0 ? static_cast<size_t>(best_len) : 0;
    stats.reused_tokens += best >= 0 ? best_len : 0;
    stats.prompt_tokens += s.res.prompt_tokens;
  };
  auto finish = [&](Slot& s, FinishReason why) {
    s.res.finish = why;
    s.res.gen_ms = ms_between(s.t_first, Clock::now());
    if (cb.on_text && s.shown < s.res.text.size())
      cb.on_text(s.id, std::string_view(s.res.text).substr(s.shown));
    ++stats.requests;
    stats.generated_tokens += static_cast<int64_t>(s.res.tokens.size());
    s.active = false;
    if (cb.on_done) cb.on_done(s.id, std::move(s.res));
  };

  Batch batch;
  std::vector<int> owner;  // slot of each logits row
  std::vector<float> row(static_cast<size_t>(V)), eog_logits;
  for (;;) {
    for (size_t si = 0; si < slots.size() && !input_done; ++si)
      if (!slots[si].active) admit(slots[si], static_cast<int>(si));
    if (std::none_of(slots.begin(), slots.end(), [](const Slot& s) { return s.active; })) break;
    if (cb.cancelled && cb.cancelled()) break;

    // Generating slots first (one token each), then prompts fill what is left of the batch.
    batch.clear();
    owner.clear();
    int64_t budget = n_batch;
    for (size_t si = 0; si < slots.size(); ++si)
      if (slots[si].active && slots[si].pending >= 0) {
        batch.add(slots[si].pending, static_cast<int32_t>(si), true);
        owner.push_back(static_cast<int>(si));
        --budget;
      }
    for (size_t si = 0; si < slots.size() && budget > 0; ++si) {
      Slot& s = slots[si];
      if (!s.active || s.n_fed >= s.req.prompt.size()) continue;
      const size_t take = std::min<size_t>(static_cast<size_t>(budget), s.req.prompt.size() - s.n_fed);
      for (size_t i = 0; i < take; ++i) {
        const bool last = s.n_fed + i + 1 == s.req.prompt.size();
        batch.add(s.req.prompt[s.n_fed + i], static_cast<int32_t>(si), last);
        if (last) owner.push_back(static_cast<int>(si));
      }
      s.n_fed += take;
      budget -= static_cast<int64_t>(take);
    }
    const std::vector<float> logits = decode(m, kv, batch);

    for (size_t r = 0; r < owner.size(); ++r) {
      Slot& s = slots[static_cast<size_t>(owner[r])];
      if (s.pending < 0) s.t_first = Clock::now(), s.res.prompt_ms = ms_between(s.t_start, s.t_first);
      s.pending = -1;
      if (s.req.max_tokens == 0) {
        finish(s, FinishReason::Length);
        continue;
      }
      std::copy_n(logits.begin() + static_cast<std::ptrdiff_t>(r) * V, V, row.begin());
      // Broken weights or hyperparameters (a NaN scale, eps or rope base) poison every logit;
      // sampling from them would print garbage with a success status.
      if (!std::all_of(row.begin(), row.end(), [](float x) { return std::isfinite(x); })) {
        s.res.error = Error("non_finite", "the model produced non-finite logits (NaN or Inf) after " +
                                              std::to_string(s.res.tokens.size()) +
                                              " generated tokens: its weights or hyperparameters are broken");
        finish(s, FinishReason::Stop);
        continue;
      }
      if (s.matcher) {
        // Every token that would take the text out of the grammar is never drawn; the end only
        // where the text is a sentence. Nothing left to draw: the grammar is complete (stop) or
        // cannot be completed with this vocabulary (an error).
        if (s.matcher->must_end()) {
          finish(s, FinishReason::Stop);
          continue;
        }
        const std::vector<uint8_t>& allowed = s.req.grammar->mask(*s.matcher);
        const bool can_end = s.matcher->can_end();
        // Control tokens have no bytes, so the mask refuses them; end-of-generation ones come back
        // where the text is a sentence.
        bool any = false;
        eog_logits.clear();
        for (int32_t e : eog) eog_logits.push_back(e < V ? row[static_cast<size_t>(e)] : 0.f);
        for (int64_t i = 0; i < V; ++i) {
          const bool ok = static_cast<size_t>(i) < allowed.size() && allowed[static_cast<size_t>(i)] != 0;
          if (!ok) row[static_cast<size_t>(i)] = -std::numeric_limits<float>::infinity();
          any = any || ok;
        }
        if (can_end)
          for (size_t k = 0; k < eog.size(); ++k)
            if (eog[k] < V) row[static_cast<size_t>(eog[k])] = eog_logits[k], any = true;
        if (!any) {
          s.res.error = Error("grammar_dead_end", "the grammar allows no token of this vocabulary after " +
                                                      std::to_string(s.res.tokens.size()) + " generated tokens");
          finish(s, FinishReason::Stop);
          continue;
        }
      }
      const int32_t t = s.sampler->sample(row, s.history);
      if (!s.req.ignore_eos && is_eog(t)) {
        finish(s, FinishReason::Stop);
        continue;
      }
      s.res.tokens.push_back(t);
      s.history.push_back(t);
      const std::string piece = tok.piece(t);
      if (s.matcher) s.matcher->accept_bytes(piece);
      s.res.text += piece;
      if (size_t at = find_stop(s.res.text, piece.size(), s.req.stop); at != std::string::npos) {
        s.res.text.resize(std::max(at, s.shown));
        finish(s, FinishReason::Stop);
        continue;
      }
      const bool out_of_tokens = s.req.max_tokens > 0 && static_cast<int64_t>(s.res.tokens.size()) >= s.req.max_tokens;
      if (out_of_tokens || kv.n_past(owner[r]) >= kv.n_ctx()) {
        finish(s, FinishReason::Length);
        continue;
      }
      s.pending = t;
      if (cb.on_text) {
        const size_t stable = stable_prefix(s.res.text, s.req.stop);
        if (stable > s.shown) {
          cb.on_text(s.id, std::string_view(s.res.text).substr(s.shown, stable - s.shown));
          s.shown = stable;
        }
      }
    }
  }
  stats.seconds = std::chrono::duration<double>(Clock::now() - t_run).count();
  return stats;
}

}  // namespace llmkit
