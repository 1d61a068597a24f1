// Following text through a grammar: every reading of the text so far is a stack of positions
// (rule, alternative, index of the next symbol), innermost last, kept so that its top is always a
// character set (or the stack is empty: a complete sentence). A code point advances the stacks
// whose top contains it and drops the others.
#include <algorithm>
#include <array>
#include <chrono>
#include <tuple>
#include <unordered_map>

#include "llmkit/error.h"
#include "llmkit/grammar.h"

namespace llmkit {
namespace {

// The code points a UTF-8 sequence can still become, given its first bytes; false when the bytes
// cannot begin one.
bool utf8_prefix_range(std::string_view p, uint32_t& lo, uint32_t& hi) {
  const auto b = static_cast<unsigned char>(p[0]);
  const int len = b >= 0xF0 && b < 0xF5 ? 4 : b >= 0xE0 && b < 0xF0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 0;
  if (len == 0 || static_cast<int>(p.size()) >= len) return false;
  uint32_t cp = b & (0x7F >> len);
  for (size_t k = 1; k < p.size(); ++k) {
    const auto c = static_cast<unsigned char>(p[k]);
    if ((c & 0xC0) != 0x80) return false;
    cp = cp << 6 | (c & 0x3F);
  }
  const int missing = len - static_cast<int>(p.size());
  lo = cp << (6 * missing);
  hi = lo | ((1u << (6 * missing)) - 1);
  // Overlong forms (E0 80.., F0 80..) and code points past U+10FFFF are never completed.
  static constexpr uint32_t kLeast[5] = {0, 0, 0x80, 0x800, 0x10000};
  lo = std::max(lo, kLeast[len]);
  hi = std::min<uint32_t>(hi, 0x10FFFF);
  return lo <= hi;
}

bool intersects(const CharSet& s, uint32_t lo, uint32_t hi) {
  if (s.negated) {
    // Some code point of [lo, hi] outside every range: the ranges do not cover [lo, hi].
    std::vector<std::pair<uint32_t, uint32_t>> r = s.ranges;
    std::sort(r.begin(), r.end());
    uint32_t next = lo;
    for (const auto& [a, b] : r) {
      if (a > next) break;
      if (b >= next) {
        if (b >= hi) return false;
        next = b + 1;
      }
    }
    return true;
  }
  return std::any_of(s.ranges.begin(), s.ranges.end(), [&](const auto& r) { return r.first <= hi && r.second >= lo; });
}

void dedupe(std::vector<GrammarStack>& stacks) {
  std::sort(stacks.begin(), stacks.end(), [](const GrammarStack& a, const GrammarStack& b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](const GrammarPos& x, const GrammarPos& y) {
      return std::tie(x.rule, x.alt, x.index) < std::tie(y.rule, y.alt, y.index);
    });
  });
  stacks.erase(std::unique(stacks.begin(), stacks.end()), stacks.end());
}

// Bytes decoded into whole code points, the trailing part of an unfinished one left in `rest`.
bool decode(std::string_view bytes, std::vector<uint32_t>& cps, std::string& rest) {
  size_t i = 0;
  while (i < bytes.size()) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (b < 0x80) {
      cps.push_back(b);
      ++i;
      continue;
    }
    const int len = b >= 0xF0 && b < 0xF5 ? 4 : b >= 0xE0 && b < 0xF0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 0;
    if (len == 0) return false;
    if (i + static_cast<size_t>(len) > bytes.size()) {
      rest.assign(bytes.substr(i));
      uint32_t lo, hi;
      return utf8_prefix_range(rest, lo, hi);
    }
    uint32_t cp = b & (0x7F >> len);
    for (int k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(bytes[i + static_cast<size_t>(k)]);
      if ((c & 0xC0) != 0x80) return false;
      cp = cp << 6 | (c & 0x3F);
    }
    // Overlong forms and surrogates are not text.
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    cps.push_back(cp);
    i += static_cast<size_t>(len);
  }
  return true;
}

// The fewest UTF-8 bytes a code point of the set takes (a negated set is taken to leave some
// ASCII character out of its ranges).
uint32_t min_bytes(const CharSet& s) {
  if (s.negated || s.ranges.empty()) return s.ranges.empty() && !s.negated ? kNever : 1;
  uint32_t lo = 0x10FFFF;
  for (const auto& r : s.ranges) lo = std::min(lo, r.first);
  return lo < 0x80 ? 1 : lo < 0x800 ? 2 : lo < 0x10000 ? 3 : 4;
}

}  // namespace

void compute_min_bytes(Grammar& g) {
  // Fixed point from "never": each pass can only lower a rule's length.
  g.min_bytes.assign(g.rules.size(), kNever);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t r = 0; r < g.rules.size(); ++r)
      for (const auto& alt : g.rules[r].alternatives) {
        uint64_t n = 0;
        for (const GrammarSymbol& sym : alt) {
          const uint32_t c = sym.is_rule ? g.min_bytes[sym.rule] : min_bytes(sym.chars);
          n = c == kNever ? kNever : n + c;
          if (n >= kNever) break;
        }
        if (n < g.min_bytes[r]) g.min_bytes[r] = static_cast<uint32_t>(n), changed = true;
      }
  }
}

GrammarMatcher::GrammarMatcher(const Grammar& g) : g_(&g) {
  for (uint32_t a = 0; a < g.rules[g.root].alternatives.size(); ++a) expand(g, {{g.root, a, 0}}, stacks_);
  dedupe(stacks_);
}

void GrammarMatcher::expand(const Grammar& g, GrammarStack s, std::vector<GrammarStack>& out) {
  while (!s.empty()) {
    const GrammarPos top = s.back();
    const auto& alt = g.rules[top.rule].alternatives[top.alt];
    if (top.index == alt.size()) {  // this rule is read: back to the one that named it
      s.pop_back();
      continue;
    }
    const GrammarSymbol& sym = alt[top.index];
    if (!sym.is_rule) break;
    // Past the reference in the caller (dropped when it was the caller's last symbol, so that a
    // repetition's tail call does not grow the stack), then each alternative of the rule.
    if (++s.back().index == alt.size()) s.pop_back();
    const size_t n_alts = g.rules[sym.rule].alternatives.size();
    for (uint32_t a = 0; a + 1 < n_alts; ++a) {
      GrammarStack t = s;
      t.push_back({sym.rule, a, 0});
      expand(g, std::move(t), out);
    }
    if (n_alts == 0) return;
    s.push_back({sym.rule, static_cast<uint32_t>(n_alts - 1), 0});
  }
  out.push_back(std::move(s));
}

bool GrammarMatcher::step(std::vector<GrammarStack>& stacks, uint32_t cp) const {
  std::vector<GrammarStack> next;
  for (const GrammarStack& s : stacks) {
    if (s.empty()) continue;
    const GrammarPos& top = s.back();
    if (!g_->rules[top.rule].alternatives[top.alt][top.index].chars.contains(cp)) continue;
    GrammarStack t = s;
    ++t.back().index;
    expand(*g_, std::move(t), next);
  }
  dedupe(next);
  stacks.swap(next);
  return !stacks.empty();
}

// Whether some reading takes a code point that the unfinished UTF-8 `partial` can still become.
bool GrammarMatcher::viable(const std::vector<GrammarStack>& stacks, const std::string& partial) const {
  uint32_t lo, hi;
  if (!utf8_prefix_range(partial, lo, hi)) return false;
  return std::any_of(stacks.begin(), stacks.end(), [&](const GrammarStack& s) {
    if (s.empty()) return false;
    const GrammarPos& top = s.back();
    return intersects(g_->rules[top.rule].alternatives[top.alt][top.index].chars, lo, hi);
  });
}

// The stacks and unfinished bytes after reading these bytes; false when no reading takes them.
bool GrammarMatcher::read(std::string_view bytes, std::vector<GrammarStack>& stacks, std::string& rest) const {
  std::string joined = pending_;
  joined.append(bytes);
  std::vector<uint32_t> cps;
  if (!decode(joined, cps, rest)) return false;
  stacks = stacks_;
  for (uint32_t cp : cps)
    if (!step(stacks, cp)) return false;
  return rest.empty() || viable(stacks, rest);
}

bool GrammarMatcher::can_accept(std::string_view bytes, size_t* dist) const {
  std::vector<GrammarStack> stacks;
  std::string rest;
  if (!read(bytes, stacks, rest)) return false;
  if (dist) *dist = distance(stacks, rest);
  return true;
}

// The cheapest way to finish some reading: the fewest bytes each stack's remaining symbols take.
// With an unfinished code point pending, its missing bytes replace the character set it fills.
size_t GrammarMatcher::distance(const std::vector<GrammarStack>& stacks, const std::string& pending) const {
  size_t missing = 0;
  uint32_t lo = 0, hi = 0;
  if (!pending.empty()) {
    const auto b = static_cast<unsigned char>(pending[0]);
    missing = (b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2) - pending.size();
    if (!utf8_prefix_range(pending, lo, hi)) return SIZE_MAX;
  }
  size_t best = SIZE_MAX;
  for (const GrammarStack& s : stacks) {
    // Only the readings that can take the code point being completed.
    if (!pending.empty() && (s.empty() || !intersects(g_->rules[s.back().rule].alternatives[s.back().alt][s.back().index].chars, lo, hi)))
      continue;
    size_t d = 0;
    for (size_t f = 0; f < s.size() && d < best; ++f) {
      const GrammarPos& p = s[f];
      const auto& alt = g_->rules[p.rule].alternatives[p.alt];
      // The top's first symbol is the set the pending bytes fill.
      const size_t from = p.index + (!pending.empty() && f + 1 == s.size() ? 1 : 0);
      for (size_t k = from; k < alt.size(); ++k) {
        const uint32_t c = alt[k].is_rule ? g_->min_bytes[alt[k].rule] : min_bytes(alt[k].chars);
        d = c == kNever ? SIZE_MAX : d + c;
        if (d == SIZE_MAX) break;
      }
    }
    best = std::min(best, d);
  }
  return best == SIZE_MAX ? SIZE_MAX : best + missing;
}

bool GrammarMatcher::accept_bytes(std::string_view bytes) {
  std::vector<GrammarStack> stacks;
  std::string rest;
  if (!read(bytes, stacks, rest)) return false;
  stacks_.swap(stacks);
  pending_.swap(rest);
  return true;
}

// The walk meets the same few sets of stacks at most of the trie's nodes (inside a string, every
// character leads back to the state it left), so the sets are numbered as they are met and each
// (set, code point) step is computed once per walk.
struct GrammarMatcher::WalkMemo {
  std::vector<std::vector<GrammarStack>> states;
  std::unordered_map<std::string, uint32_t> ids;
  std::unordered_map<uint64_t, int32_t> next;         // state << 21 | code point -> state, or -1
  std::unordered_map<std::string, bool> viable;       // state id and unfinished bytes -> whether some reading takes them
  std::vector<size_t> distance;                       // per state; kUnknown until asked
  std::vector<std::array<int32_t, 128>> ascii;        // per state, ASCII steps (kNotYet until taken)
  static constexpr size_t kUnknown = SIZE_MAX - 1;
  static constexpr int32_t kNotYet = -2;

  uint32_t intern(std::vector<GrammarStack>&& stacks) {
    std::string key;
    for (const GrammarStack& s : stacks) {
      const auto depth = static_cast<uint32_t>(s.size());
      key.append(reinterpret_cast<const char*>(&depth), sizeof depth);
      for (const GrammarPos& p : s) key.append(reinterpret_cast<const char*>(&p), sizeof p);
    }
    auto [it, added] = ids.emplace(std::move(key), static_cast<uint32_t>(states.size()));
    if (added) {
      states.push_back(std::move(stacks));
      distance.push_back(kUnknown);
      ascii.emplace_back().fill(kNotYet);
    }
    return it->second;
  }
};

int32_t GrammarMatcher::advance(WalkMemo& memo, uint32_t state, uint32_t cp) const {
  if (cp < 128 && memo.ascii[state][cp] != WalkMemo::kNotYet) return memo.ascii[state][cp];
  const uint64_t key = uint64_t(state) << 21 | cp;
  if (auto it = memo.next.find(key); it != memo.next.end()) return it->second;
  std::vector<GrammarStack> next = memo.states[state];
  const int32_t id = step(next, cp) ? static_cast<int32_t>(memo.intern(std::move(next))) : -1;
  if (cp < 128) memo.ascii[state][cp] = id;
  else memo.next.emplace(key, id);
  return id;
}

// Depth first over the trie: a byte either finishes a code point (the stacks step over it),
// extends an unfinished one that some reading can still take, or ends the subtree.
void GrammarMatcher::walk(const TokenTrie& trie, uint32_t node, WalkMemo& memo, uint32_t state, const std::string& pending,
                          size_t max_distance, std::vector<uint8_t>& mask) const {
  const TokenTrie::Node& n = trie.nodes()[node];
  if (!n.tokens.empty()) {
    bool near = true;
    if (max_distance != SIZE_MAX) {
      size_t d;
      if (pending.empty()) {
        if (memo.distance[state] == WalkMemo::kUnknown) memo.distance[state] = distance(memo.states[state], pending);
        d = memo.distance[state];
      } else {
        d = distance(memo.states[state], pending);
      }
      near = d <= max_distance;
    }
    if (near)
      for (int32_t id : n.tokens) mask[static_cast<size_t>(id)] = 1;
  }
  for (const auto& [byte, kid] : n.kids) {
    if (pending.empty() && byte < 0x80) {  // ASCII: a code point of its own
      const int32_t next = advance(memo, state, byte);
      if (next >= 0) walk(trie, kid, memo, static_cast<uint32_t>(next), pending, max_distance, mask);
      continue;
    }
    std::string p = pending;
    p.push_back(static_cast<char>(byte));
    std::vector<uint32_t> cps;
    std::string rest;
    if (!decode(p, cps, rest)) continue;
    if (cps.empty()) {  // still unfinished (decode checked that some code point can follow)
      std::string key(reinterpret_cast<const char*>(&state), sizeof state);
      key += rest;
      auto it = memo.viable.find(key);
      if (it == memo.viable.end()) it = memo.viable.emplace(std::move(key), viable(memo.states[state], rest)).first;
      if (it->second) walk(trie, kid, memo, state, rest, max_distance, mask);
      continue;
    }
    const int32_t next = advance(memo, state, cps[0]);
    if (next >= 0) walk(trie, kid, memo, static_cast<uint32_t>(next), rest, max_distance, mask);
  }
}

void GrammarMatcher::allowed_tokens(const TokenTrie& trie, std::vector<uint8_t>& mask, size_t max_distance) const {
  // The root holds no token (empty pieces are not put in the trie): the walk from it is the answer.
  mask.assign(trie.n_tokens(), 0);
  WalkMemo memo;
  std::vector<GrammarStack> start = stacks_;
  walk(trie, 0, memo, memo.intern(std::move(start)), pending_, max_distance, mask);
}

std::string GrammarMatcher::state_key() const {
  std::string key = pending_;
  key.push_back('\0');
  for (const GrammarStack& s : stacks_) {
    const auto depth = static_cast<uint32_t>(s.size());
    key.append(reinterpret_cast<const char*>(&depth), sizeof depth);
    for (const GrammarPos& p : s) key.append(reinterpret_cast<const char*>(&p), sizeof p);
  }
  return key;
}

TokenTrie::TokenTrie(const std::vector<std::string>& pieces) : nodes_(1), n_tokens_(pieces.size()) {
  for (size_t id = 0; id < pieces.size(); ++id) {
    if (pieces[id].empty()) continue;
    uint32_t node = 0;
    for (char c : pieces[id]) {
      const auto b = static_cast<uint8_t>(c);
      auto& kids = nodes_[node].kids;
      auto it = std::lower_bound(kids.begin(), kids.end(), b, [](const auto& k, uint8_t v) { return k.first < v; });
      if (it != kids.end() && it->first == b) {
        node = it->second;
      } else {
        const auto child = static_cast<uint32_t>(nodes_.size());
        kids.insert(it, {b, child});
        nodes_.emplace_back();
        node = child;
      }
    }
    nodes_[node].tokens.push_back(static_cast<int32_t>(id));
  }
}

bool GrammarMatcher::can_end() const {
  return pending_.empty() && std::any_of(stacks_.begin(), stacks_.end(), [](const GrammarStack& s) { return s.empty(); });
}

bool GrammarMatcher::must_end() const {
  return pending_.empty() && std::all_of(stacks_.begin(), stacks_.end(), [](const GrammarStack& s) { return s.empty(); });
}

}  // namespace llmkit

namespace llmkit {

namespace {
// States whose masks are kept; past this the cache starts again (a grammar with that many
// distinct states, a long enumeration say, gains little from it).
constexpr size_t kMaxMasks = 4096;
}  // namespace

GrammarConstraint::GrammarConstraint(Grammar g, std::shared_ptr<const TokenTrie> trie)
    : g_(std::move(g)), trie_(std::move(trie)) {}

const std::vector<uint8_t>& GrammarConstraint::mask(const GrammarMatcher& m) {
  std::string key = m.state_key();
  if (auto it = masks_.find(key); it != masks_.end()) {
    ++reused_;
    return it->second;
  }
  const auto t0 = std::chrono::steady_clock::now();
  if (masks_.size() >= kMaxMasks) masks_.clear();
  std::vector<uint8_t>& out = masks_[std::move(key)];
  m.allowed_tokens(*trie_, out);
  ++computed_;
  mask_ms_ += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

void GrammarConstraint::mask_within(const GrammarMatcher& m, size_t max_distance, std::vector<uint8_t>& out) {
  const auto t0 = std::chrono::steady_clock::now();
  m.allowed_tokens(*trie_, out, max_distance);
  ++computed_;
  mask_ms_ += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace llmkit
