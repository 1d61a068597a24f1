#include "regex_lite.h"

#include <functional>
#include <string>

#include "llmkit/error.h"
#include "llmkit/unicode.h"

namespace llmkit::regex_lite {

namespace u = unicode;

struct Node {
  enum Kind { Class, Seq, Alt, Repeat, Look, End, Start } kind;
  // Class
  std::vector<std::pair<uint32_t, uint32_t>> ranges;
  uint16_t cat_mask = 0;  // unicode::Flag bits any of which makes a member
  bool space = false, not_space = false, negated = false;
  std::unique_ptr<Node> also;  // must match this class too: (?=[A])[B] folded into one class
  // Seq / Alt / Repeat / Look children
  std::vector<std::unique_ptr<Node>> kids;
  int min = 0, max = 0;  // Repeat; max -1 = unbounded
  bool negative = false;  // Look
};

namespace {

// Codepoint as the pattern's literals see it: llama.cpp maps non-ASCII whitespace to \v
// before matching, so such a character matches \s but no literal range.
inline uint32_t literal_view(uint32_t c) { return c > 0x7F && u::is_whitespace(c) ? 0x0B : c; }

bool class_has(const Node& n, uint32_t c) {
  bool in = false;
  const uint32_t lc = literal_view(c);
  for (const auto& [a, b] : n.ranges)
    if (lc >= a && lc <= b) {
      in = true;
      break;
    }
  if (!in && n.cat_mask && (u::flags(c) & n.cat_mask)) in = true;
  if (!in && n.space && u::is_whitespace(c)) in = true;
  if (!in && n.not_space && !u::is_whitespace(c)) in = true;
  return in != n.negated && (!n.also || class_has(*n.also, c));
}

class Parser {
 public:
  explicit Parser(std::string_view p) : cp_(u::to_codepoints(p)) {}

  std::unique_ptr<Node> parse() {
    auto n = alternation();
    if (i_ != cp_.size()) fail("unexpected ')'");
    return n;
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw Error("bad_regex", "pre-tokenizer pattern: " + what + " at position " + std::to_string(i_));
  }
  bool eof() const { return i_ >= cp_.size(); }
  uint32_t peek() const { return cp_[i_]; }

  std::unique_ptr<Node> alternation() {
    auto alt = std::make_unique<Node>(Node{Node::Alt});
    alt->kids.push_back(sequence());
    while (!eof() && peek() == '|') {
      ++i_;
      alt->kids.push_back(sequence());
    }
    return alt->kids.size() == 1 ? std::move(alt->kids[0]) : std::move(alt);
  }

  std::unique_ptr<Node> sequence() {
    auto seq = std::make_unique<Node>(Node{Node::Seq});
    while (!eof() && peek() != '|' && peek() != ')') seq->kids.push_back(quantified());
    return seq->kids.size() == 1 ? std::move(seq->kids[0]) : std::move(seq);
  }

  std::unique_ptr<Node> quantified() {
    auto atom_node = atom();
    while (!eof()) {
      int lo, hi;
      const uint32_t c = peek();
      if (c == '?') lo = 0, hi = 1;
      else if (c == '*') lo = 0, hi = -1;
      else if (c == '+') lo = 1, hi = -1;
      else if (c == '{') {
        size_t save = i_++;
        lo = number();
        hi = lo;
        if (!eof() && peek() == ',') {
          ++i_;
          hi = !eof() && peek() == '}' ? -1 : number();
        }
        if (eof() || peek() != '}') {
          i_ = save;
          break;
        }
      } else {
        break;
      }
      ++i_;
      auto rep = std::make_unique<Node>(Node{Node::Repeat});
      rep->min = lo;
      rep->max = hi;
      rep->kids.push_back(std::move(atom_node));
      atom_node = std::move(rep);
    }
    return atom_node;
  }

  int number() {
    int v = 0;
    bool any = false;
    while (!eof() && peek() >= '0' && peek() <= '9') v = v * 10 + static_cast<int>(cp_[i_++] - '0'), any = true;
    if (!any) fail("number expected");
    return v;
  }

  std::unique_ptr<Node> atom() {
    const uint32_t c = cp_[i_++];
    if (c == '(') {
      if (!eof() && peek() == '?') {
        ++i_;
        if (eof()) fail("bad group");
        const uint32_t k = cp_[i_++];
        if (k == ':') return group_rest();
        if (k == '=' || k == '!') {
          auto look = std::make_unique<Node>(Node{Node::Look});
          look->negative = k == '!';
          look->kids.push_back(group_rest());
          return look;
        }
        fail("unsupported group");
      }
      return group_rest();
    }
    if (c == '[') return bracket();
    if (c == '$') return std::make_unique<Node>(Node{Node::End});
    if (c == '^') return std::make_unique<Node>(Node{Node::Start});
    auto cls = std::make_unique<Node>(Node{Node::Class});
    if (c == '.') {
      cls->negated = true;
      cls->ranges = {{'\n', '\n'}, {'\r', '\r'}};
      return cls;
    }
    if (c == '\\') escape(*cls, false);
    else cls->ranges.push_back({c, c});
    return cls;
  }

  std::unique_ptr<Node> group_rest() {
    auto inner = alternation();
    if (eof() || peek() != ')') fail("missing ')'");
    ++i_;
    return fold_lookahead_class(std::move(inner));
  }

  // (?=[A])[B] consumes one character that is in A and in B: make it one class, so that a
  // loop over it runs iteratively (tekken and gpt-4o patterns repeat exactly this).
  static std::unique_ptr<Node> fold_lookahead_class(std::unique_ptr<Node> n) {
    if (n->kind != Node::Seq || n->kids.size() != 2) return n;
    Node& look = *n->kids[0];
    if (look.kind != Node::Look || look.negative || look.kids[0]->kind != Node::Class || n->kids[1]->kind != Node::Class)
      return n;
    auto cls = std::move(n->kids[1]);
    cls->also = std::move(look.kids[0]);
    return cls;
  }

  // After a backslash: a class escape or a literal. Returns the literal (or 0 for a class).
  uint32_t escape(Node& cls, bool in_bracket) {
    if (eof()) fail("trailing backslash");
    const uint32_t e = cp_[i_++];
    switch (e) {
      case 's': cls.space = true; return 0;
      case 'S': cls.not_space = true; return 0;
      case 'd': cls.ranges.push_back({'0', '9'}); return 0;
      case 'p': {
        if (eof() || cp_[i_] != '{' || i_ + 2 >= cp_.size() || cp_[i_ + 2] != '}') fail("bad \\p{..}");
        const uint32_t cat = cp_[i_ + 1];
        i_ += 3;
        switch (cat) {
          case 'L': cls.cat_mask |= u::kLetter; break;
          case 'N': cls.cat_mask |= u::kNumber; break;
          case 'P': cls.cat_mask |= u::kPunctuation; break;
          case 'S': cls.cat_mask |= u::kSymbol; break;
          case 'M': cls.cat_mask |= u::kAccentMark; break;
          default: fail("unsupported category");
        }
        return 0;
      }
      case 'r': return literal(cls, '\r', in_bracket);
      case 'n': return literal(cls, '\n', in_bracket);
      case 't': return literal(cls, '\t', in_bracket);
      case 'v': return literal(cls, '\v', in_bracket);
      case 'f': return literal(cls, '\f', in_bracket);
      default:
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')) fail("unsupported escape");
        return literal(cls, e, in_bracket);
    }
  }

  uint32_t literal(Node& cls, uint32_t c, bool in_bracket) {
    if (!in_bracket) cls.ranges.push_back({c, c});
    return c;
  }

  std::unique_ptr<Node> bracket() {
    auto cls = std::make_unique<Node>(Node{Node::Class});
    if (!eof() && peek() == '^') {
      cls->negated = true;
      ++i_;
    }
    bool first = true;
    while (true) {
      if (eof()) fail("missing ']'");
      uint32_t c = cp_[i_++];
      if (c == ']' && !first) break;
      first = false;
      uint32_t lo;
      if (c == '\\') {
        lo = escape(*cls, true);
        if (lo == 0) continue;  // a class escape inside the bracket
      } else {
        lo = c;
      }
      uint32_t hi = lo;
      if (i_ + 1 < cp_.size() && peek() == '-' && cp_[i_ + 1] != ']') {
        ++i_;
        uint32_t h = cp_[i_++];
        if (h == '\\') {
          h = escape(*cls, true);
          if (h == 0) fail("class in a range");
        }
        hi = h;
      }
      if (hi < lo) fail("reversed range");
      cls->ranges.push_back({lo, hi});
    }
    return cls;
  }

  std::vector<uint32_t> cp_;
  size_t i_ = 0;
};

struct Matcher {
  const std::vector<uint32_t>& t;
  size_t end;

  using Cont = std::function<bool(size_t)>;

  bool m(const Node& n, size_t i, const Cont& k) const {
    switch (n.kind) {
      case Node::Class: return i < end && class_has(n, t[i]) && k(i + 1);
      case Node::End: return i == end && k(i);
      case Node::Start: return i == 0 && k(i);
      case Node::Seq: return seq(n, 0, i, k);
      case Node::Alt:
        for (const auto& kid : n.kids)
          if (m(*kid, i, k)) return true;
        return false;
      case Node::Look: {
        const bool hit = m(*n.kids[0], i, [](size_t) { return true; });
        return hit != n.negative && k(i);
      }
      case Node::Repeat: return repeat(n, i, k);
    }
    return false;
  }

  bool seq(const Node& n, size_t idx, size_t i, const Cont& k) const {
    if (idx == n.kids.size()) return k(i);
    return m(*n.kids[idx], i, [&](size_t j) { return seq(n, idx + 1, j, k); });
  }

  bool repeat(const Node& n, size_t i, const Cont& k) const {
    const Node& kid = *n.kids[0];
    if (kid.kind == Node::Class) {
      // Greedy run of one class: count it, then give back one at a time.
      size_t run = 0;
      const size_t cap = n.max < 0 ? end - i : std::min<size_t>(static_cast<size_t>(n.max), end - i);
      while (run < cap && class_has(kid, t[i + run])) ++run;
      for (size_t c = run + 1; c-- > static_cast<size_t>(n.min);)
        if (k(i + c)) return true;
      return false;
    }
    return repeat_general(n, i, 0, k);
  }

  bool repeat_general(const Node& n, size_t i, int count, const Cont& k) const {
    if (n.max < 0 || count < n.max) {
      // One more iteration (which must consume something, so the recursion ends).
      if (m(*n.kids[0], i, [&](size_t j) { return j > i && repeat_general(n, j, count + 1, k); })) return true;
    }
    return count >= n.min && k(i);
  }
};

}  // namespace

Regex::Regex(std::string_view pattern) : root_(Parser(pattern).parse()) {
  const Node* first = root_.get();
  if (first->kind == Node::Seq && !first->kids.empty()) first = first->kids[0].get();
  if (first->kind == Node::Repeat && first->max < 0 && first->kids[0]->kind == Node::Class) lead_ = first->kids[0].get();
}

bool Regex::leading_loop_has(uint32_t c) const { return lead_ && class_has(*lead_, c); }
Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;

long Regex::match_at(const std::vector<uint32_t>& text, size_t pos, size_t end) const {
  Matcher mt{text, end};
  long result = -1;
  mt.m(*root_, pos, [&](size_t j) {
    result = static_cast<long>(j - pos);
    return true;
  });
  return result;
}

std::vector<size_t> split(const Regex& re, const std::vector<uint32_t>& text, const std::vector<size_t>& segments) {
  std::vector<size_t> out;
  out.reserve(segments.size());
  size_t start = 0;
  for (size_t len : segments) {
    const size_t end = start + len;
    size_t pos = start;
    for (size_t s = start; s < end; ++s) {
      const long n = re.match_at(text, s, end);
      if (n <= 0) {  // patterns here never match empty; an empty match moves on
        while (s + 1 < end && re.leading_loop_has(text[s]) && re.leading_loop_has(text[s + 1])) ++s;
        continue;
      }
      if (s > pos) out.push_back(s - pos);
      out.push_back(static_cast<size_t>(n));
      pos = s + static_cast<size_t>(n);
      s = pos - 1;
    }
    if (pos < end) out.push_back(end - pos);
    start = end;
  }
  return out;
}

}  // namespace llmkit::regex_lite
