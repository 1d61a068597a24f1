#include "llmkit/generate.h"

#include <algorithm>
#include <cmath>
#include <chrono>
#include <limits>
#include <optional>

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

std::string grammar_piece(const Tokenizer& tok, int32_t id) {
  const TokenType type = tok.vocab().types[static_cast<size_t>(id)];
  return type == TokenType::Control || type == TokenType::Unknown ? std::string() : tok.piece(id);
}

std::shared_ptr<const TokenTrie> grammar_trie(const Tokenizer& tok) {
  std::vector<std::string> pieces(tok.vocab().size());
  for (size_t id = 0; id < pieces.size(); ++id) pieces[id] = grammar_piece(tok, static_cast<int32_t>(id));
  return std::make_shared<const TokenTrie>(pieces);
}

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
    if (s.matcher) {
      stats.grammar_tokens += static_cast<int64_t>(s.res.tokens.size());
      stats.grammar_ms += s.res.grammar_ms;
      stats.grammar_redrawn += s.res.grammar_redrawn;
    }
    s.active = false;
    if (cb.on_done) cb.on_done(s.id, std::move(s.res));
  };

  Batch batch;
  std::vector<int> owner;  // slot of each logits row
  std::vector<float> row(static_cast<size_t>(V)), scratch;
  std::vector<uint8_t> budget_mask;
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
      int32_t t;
      if (s.matcher) {
        if (s.matcher->must_end()) {  // the grammar allows nothing more
          finish(s, FinishReason::Stop);
          continue;
        }
        const Clock::time_point g0 = Clock::now();
        // Tokens that can still follow this one: a text the grammar can finish within them is
        // steered to its end rather than cut off at the limit.
        size_t left = static_cast<size_t>(std::max<int64_t>(0, kv.n_ctx() - kv.n_past(owner[r]) - 1));
        if (s.req.max_tokens > 0)
          left = std::min(left, static_cast<size_t>(std::max<int64_t>(0, s.req.max_tokens - static_cast<int64_t>(s.res.tokens.size()) - 1)));
        const auto fits = [&](int32_t c) {
          if (is_eog(c)) return s.matcher->can_end();
          const std::string p = grammar_piece(tok, c);
          size_t d;
          return !p.empty() && s.matcher->can_accept(p, &d) && d <= left;
        };
        // First the token the sampler draws without the grammar: when the grammar takes it (a
        // model following its instructions, mostly) no mask is needed. Otherwise it is drawn
        // again from the masked logits, as llama.cpp does; greedy decoding gets the same token.
        scratch = row;
        t = s.sampler->sample(scratch, s.history);
        if (!fits(t)) {
          ++s.res.grammar_redrawn;
          // Control tokens have no bytes, so masks refuse them; end-of-generation ones come
          // back where the text is a sentence.
          const bool can_end = s.matcher->can_end();
          const auto draw = [&](const std::vector<uint8_t>& allowed) -> std::optional<int32_t> {
            scratch = row;
            bool any = false;
            for (int64_t i = 0; i < V; ++i) {
              const bool ok = static_cast<size_t>(i) < allowed.size() && allowed[static_cast<size_t>(i)] != 0;
              if (!ok) scratch[static_cast<size_t>(i)] = -std::numeric_limits<float>::infinity();
              any = any || ok;
            }
            if (can_end)
              for (int32_t e : eog)
                if (e < V) scratch[static_cast<size_t>(e)] = row[static_cast<size_t>(e)], any = true;
            if (!any) return std::nullopt;
            return s.sampler->sample(scratch, s.history);
          };
          std::optional<int32_t> c = draw(s.req.grammar->mask(*s.matcher));
          if (c && !fits(*c)) {
            // Too far from an end for the tokens left: only tokens that keep it within reach.
            s.req.grammar->mask_within(*s.matcher, left, budget_mask);
            if (std::optional<int32_t> b = draw(budget_mask)) c = b;
          }
          if (!c) {
            s.res.error = Error("grammar_dead_end", "the grammar allows no token of this vocabulary after " +
                                                        std::to_string(s.res.tokens.size()) + " generated tokens");
            s.res.grammar_ms += ms_between(g0, Clock::now());
            finish(s, FinishReason::Stop);
            continue;
          }
          t = *c;
        }
        s.res.grammar_ms += ms_between(g0, Clock::now());
      } else {
        t = s.sampler->sample(row, s.history);
      }
      if (!s.req.ignore_eos && is_eog(t)) {
        finish(s, FinishReason::Stop);
        continue;
      }
      s.res.tokens.push_back(t);
      s.history.push_back(t);
      const std::string piece = tok.piece(t);
      if (s.matcher) {
        const Clock::time_point g0 = Clock::now();
        s.matcher->accept_bytes(piece);
        s.res.grammar_ms += ms_between(g0, Clock::now());
      }
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
