// Text generation for many requests at once: continuous batching over the slots of a KV cache.
// Each step runs one forward pass holding the next token of every generating request plus as
// much pending prompt as the batch allows; a finished request frees its slot for the next one.
// A request's tokens never depend on what shares its batch, so greedy output is the same for any
// number of slots; for F32 and BF16 weights with Backend::Auto, which changes kernel with the
// number of tokens in a pass, the logits can differ in their last bits (Cpu or OneDnn: none).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmkit/error.h"
#include "llmkit/grammar.h"
#include "llmkit/model.h"
#include "llmkit/sampler.h"
#include "llmkit/tokenizer.h"

namespace llmkit {

struct GenerationRequest {
  std::vector<int32_t> prompt;  // at least one token, at most the cache's context
  int64_t max_tokens = 128;     // < 0: until the context is full
  SamplerParams sampling;
  std::vector<std::string> stop;  // generation ends before the first of these in the text
  bool ignore_eos = false;        // end-of-generation tokens are drawn like any other (benchmarks)
  // Only tokens that keep the text a prefix of a sentence of this grammar are drawn; generation
  // ends when the grammar allows nothing more (finish Stop), and end-of-generation tokens are
  // drawn only where the text is a whole sentence. One constraint may serve many requests.
  std::shared_ptr<GrammarConstraint> grammar;
};

// The bytes a grammar sees for a token: its text, or nothing for control and unknown tokens,
// which no grammar allows.
std::string grammar_piece(const Tokenizer& tok, int32_t id);
// The trie of a vocabulary's grammar pieces, for every GrammarConstraint over it.
std::shared_ptr<const TokenTrie> grammar_trie(const Tokenizer& tok);

enum class FinishReason { Stop, Length };

struct GenerationResult {
  std::string text;
  std::vector<int32_t> tokens;
  FinishReason finish = FinishReason::Length;
  int64_t prompt_tokens = 0;
  double prompt_ms = 0, gen_ms = 0;  // wall time from admission to first token, and after
  // With a grammar: time spent checking tokens and computing masks, and the tokens whose first
  // draw the grammar refused (drawn again from the masked logits).
  double grammar_ms = 0;
  int64_t grammar_redrawn = 0;
  // Set when the request failed part way (non-finite logits): `text` is then not an answer.
  std::optional<Error> error;
};

struct GenerationStats {
  int64_t prompt_tokens = 0, generated_tokens = 0, requests = 0;
  int64_t reused_tokens = 0;  // prompt tokens whose KV was copied from another request's prefix
  double seconds = 0;
  // Tokens generated under a grammar, the time the grammar took, and the tokens redrawn.
  int64_t grammar_tokens = 0, grammar_redrawn = 0;
  double grammar_ms = 0;
};

struct GenerationCallbacks {
  // The next request, tagged with the caller's id; nullopt when there is none.
  std::function<std::optional<std::pair<uint64_t, GenerationRequest>>()> next;
  // Text of a request as it becomes final (held back while it could still begin a stop string or
  // an unfinished UTF-8 character). Optional.
  std::function<void(uint64_t id, std::string_view text)> on_text;
  std::function<void(uint64_t id, GenerationResult&& result)> on_done;
  // Polled between forward passes; true stops the run with unfinished requests dropped.
  std::function<bool()> cancelled;
};

// Runs requests through up to kv.n_seq() slots, n_batch tokens per forward pass. With
// reuse_prefixes, a request whose prompt begins with tokens another slot holds in the cache (the
// instruction of a --template, a system prompt, a chat template's header) takes their keys and
// values from it rather than computing them again (at least kMinReusedPrefix tokens, and never
// the prompt's last, whose logits are needed). A token's keys and values do not depend on what
// shared its batch, so the output is the same either way.
inline constexpr int64_t kMinReusedPrefix = 16;
GenerationStats generate(const Model& m, const Tokenizer& tok, KvCache& kv, int64_t n_batch,
                         const GenerationCallbacks& cb, bool reuse_prefixes = true);

// How much of `text` can be shown without showing the start of a stop string or half a UTF-8
// character.
size_t stable_prefix(std::string_view text, const std::vector<std::string>& stop);

}  // namespace llmkit
