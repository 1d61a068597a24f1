// Grammars in llama.cpp's GBNF syntax, and a matcher that follows text through one.
//
// A grammar is a set of rules; each rule a list of alternatives; each alternative a sequence of
// symbols, a symbol either a set of code points or a reference to a rule. Groups and repetitions
// (`( )`, `* + ?`, `{m,n}`) become rules of their own when parsed, so the matcher sees nothing but
// sequences. The matcher keeps every way the text read so far can continue (a set of stacks of
// positions in sequences), as a pushdown automaton read non-deterministically.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace llmkit {

// A set of code points: ranges [lo, hi], or everything but them.
struct CharSet {
  std::vector<std::pair<uint32_t, uint32_t>> ranges;
  bool negated = false;
  bool contains(uint32_t cp) const;
};

struct GrammarSymbol {
  bool is_rule = false;
  uint32_t rule = 0;  // when is_rule
  CharSet chars;      // otherwise
};

struct GrammarRule {
  std::string name;  // as written, or "name_N" for a rule made from a group or repetition
  std::vector<std::vector<GrammarSymbol>> alternatives;
};

struct Grammar {
  std::vector<GrammarRule> rules;
  uint32_t root = 0;
  // The fewest UTF-8 bytes each rule can match (set by parse_gbnf): how far a text is from
  // complete, so that generation near its token limit can steer to an end.
  std::vector<uint32_t> min_bytes;
};

// Fills g.min_bytes. A rule that can never finish gets kNever.
constexpr uint32_t kNever = 0xFFFFFFFF;
void compute_min_bytes(Grammar& g);

// Parses GBNF text. Throws Error("bad_grammar", "line L:C: ...") naming what was expected, for an
// undefined rule, a missing root, or a rule that can recurse on its left without consuming text.
Grammar parse_gbnf(std::string_view text, const std::string& root = "root");

// A JSON Schema as GBNF text, as llama.cpp's json-schema-to-grammar converts one: objects
// (properties in the schema's order, required, additionalProperties), arrays (items, prefixItems,
// minItems, maxItems), strings (minLength, maxLength; format date, time, date-time, uuid),
// integers with bounds, numbers with whole bounds, enum, const, anyOf, oneOf (as anyOf), allOf
// of object schemas, $ref within the schema. Throws Error("bad_schema", "line L:C: ...") for
// malformed JSON, malformed schemas, and every keyword it cannot express, by name.
std::string json_schema_to_gbnf(std::string_view schema);

// Where a reading of the text is: the symbols still to match, innermost last.
struct GrammarPos {
  uint32_t rule, alt, index;
  bool operator==(const GrammarPos&) const = default;
};
using GrammarStack = std::vector<GrammarPos>;

// The vocabulary's byte strings as a trie, so that the tokens a grammar state allows are found by
// one walk that drops a whole subtree at the first byte no reading takes.
class TokenTrie {
 public:
  // pieces[id]: the bytes token id stands for; empty for tokens that are not text (control
  // tokens), which a grammar never allows.
  explicit TokenTrie(const std::vector<std::string>& pieces);
  struct Node {
    std::vector<std::pair<uint8_t, uint32_t>> kids;  // by byte
    std::vector<int32_t> tokens;                     // the tokens whose bytes end here
  };
  const std::vector<Node>& nodes() const { return nodes_; }
  size_t n_tokens() const { return n_tokens_; }

 private:
  std::vector<Node> nodes_;
  size_t n_tokens_;
};

class GrammarMatcher {
 public:
  explicit GrammarMatcher(const Grammar& g);
  // Feeds UTF-8 bytes (a token's text); a code point may be split across calls. Returns false, and
  // leaves the state as it was, when no reading of the text so far continues with these bytes.
  bool accept_bytes(std::string_view bytes);
  // Whether these bytes would be accepted, without changing the state; with `distance`, the
  // distance() the text would then be at.
  bool can_accept(std::string_view bytes, size_t* distance = nullptr) const;
  // The fewest bytes that make the text so far a whole sentence (0: it is one).
  size_t distance() const { return distance(stacks_, pending_); }
  // Whether the text so far is a whole sentence of the grammar (the root can end here).
  bool can_end() const;
  // Whether no more text can follow (every reading is complete).
  bool must_end() const;
  // mask[id] = 1 for the tokens whose bytes can follow the text so far (mask sized to the trie's
  // tokens) and leave it at most `max_distance` bytes from complete; end-of-text tokens are for
  // the caller to allow when can_end().
  void allowed_tokens(const TokenTrie& trie, std::vector<uint8_t>& mask, size_t max_distance = SIZE_MAX) const;
  // A key for the state (stacks and pending bytes): equal keys allow the same tokens.
  std::string state_key() const;
  const std::vector<GrammarStack>& stacks() const { return stacks_; }

 private:
  // Advances every stack over one code point; the stacks whose next symbol is a rule are
  // expanded to that rule's alternatives first, so each stack's top is a character set.
  static void expand(const Grammar& g, GrammarStack s, std::vector<GrammarStack>& out);
  bool step(std::vector<GrammarStack>& stacks, uint32_t cp) const;
  struct WalkMemo;
  int32_t advance(WalkMemo& memo, uint32_t state, uint32_t cp) const;
  void walk(const TokenTrie& trie, uint32_t node, WalkMemo& memo, uint32_t state, const std::string& pending,
            size_t max_distance, std::vector<uint8_t>& mask) const;
  size_t distance(const std::vector<GrammarStack>& stacks, const std::string& pending) const;
  bool viable(const std::vector<GrammarStack>& stacks, const std::string& partial) const;
  bool read(std::string_view bytes, std::vector<GrammarStack>& stacks, std::string& rest) const;
  const Grammar* g_;
  std::vector<GrammarStack> stacks_;
  // A code point's leading bytes still waiting for the rest.
  std::string pending_;
};

}  // namespace llmkit

namespace llmkit {

// A grammar ready to constrain sampling over one vocabulary: the trie of its tokens' bytes and
// the masks of the states met so far, computed when a state is first met (the inside of a JSON
// string, say, is met again at every character). Shared by the sequences that use the grammar.
class GrammarConstraint {
 public:
  // The trie is the vocabulary's, shared by every grammar used with it.
  GrammarConstraint(Grammar g, std::shared_ptr<const TokenTrie> trie);
  const Grammar& grammar() const { return g_; }
  // The tokens allowed after the text `m` has read (1: allowed).
  const std::vector<uint8_t>& mask(const GrammarMatcher& m);
  // Those of them that leave the text at most `max_distance` bytes from complete (not kept: the
  // budget differs at every call).
  void mask_within(const GrammarMatcher& m, size_t max_distance, std::vector<uint8_t>& out);
  // Masks computed, masks found again, and the time spent computing them.
  uint64_t computed() const { return computed_; }
  uint64_t reused() const { return reused_; }
  double mask_ms() const { return mask_ms_; }

 private:
  Grammar g_;
  std::shared_ptr<const TokenTrie> trie_;
  std::unordered_map<std::string, std::vector<uint8_t>> masks_;
  uint64_t computed_ = 0, reused_ = 0;
  double mask_ms_ = 0;
};

}  // namespace llmkit
