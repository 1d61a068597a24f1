// GBNF, the grammar syntax of llama.cpp (its grammars/README.md): rules `name ::= alternatives`,
// alternatives separated by `|`, sequences of string literals, character classes (`[a-z]`,
// `[^"\\]`), `.` for any character, rule names and groups, each optionally repeated (`*`, `+`, `?`,
// `{m}`, `{m,}`, `{m,n}`), `#` comments. A rule ends at the end of its line, except inside
// parentheses and after `|`.
#include <algorithm>
#include <map>
#include <set>

#include "llmkit/error.h"
#include "llmkit/grammar.h"

namespace llmkit {
namespace {

// Repetition counts beyond this are refused: {m,n} is expanded into copies of its item. So is a
// grammar whose expansions add more than kMaxSymbols symbols ("abcd...."{10000}{10000}).
constexpr uint64_t kMaxRepeat = 10000;
constexpr uint64_t kMaxSymbols = uint64_t(1) << 20;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

class Parser {
 public:
  explicit Parser(std::string_view text) : t_(text) {}

  Grammar run(const std::string& root) {
    skip_space(true);
    while (i_ < t_.size()) {
      parse_rule();
      skip_space(true);
    }
    for (const auto& [name, at] : first_use_)
      if (!defined_.count(name)) fail(at, "undefined rule '" + name + "'");
    const auto r = ids_.find(root);
    if (r == ids_.end() || !defined_.count(root)) fail(t_.size(), "the grammar has no rule '" + root + "'");
    check_left_recursion();
    Grammar g;
    g.rules = std::move(rules_);
    g.root = r->second;
    return g;
  }

 private:
  using Sequence = std::vector<GrammarSymbol>;
  using Alternatives = std::vector<Sequence>;

  [[noreturn]] void fail(size_t at, const std::string& what) const {
    size_t line = 1, col = 1;
    for (size_t k = 0; k < at && k < t_.size(); ++k) {
      if (t_[k] == '\n') ++line, col = 1;
      else if ((static_cast<unsigned char>(t_[k]) & 0xC0) != 0x80) ++col;  // columns in characters
    }
    throw Error("bad_grammar", "line " + std::to_string(line) + ":" + std::to_string(col) + ": " + what);
  }
  std::string describe_here() const {
    if (i_ >= t_.size()) return "the end of the grammar";
    if (t_[i_] == '\n') return "the end of the line";
    return std::string("'") + t_[i_] + "'";
  }

  // Spaces, tabs and comments; line ends too when `newlines`.
  void skip_space(bool newlines) {
    while (i_ < t_.size()) {
      const char c = t_[i_];
      if (c == '#') {
        while (i_ < t_.size() && t_[i_] != '\n') ++i_;
      } else if (c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n')) {
        ++i_;
      } else {
        break;
      }
    }
  }

  std::string parse_name() {
    const size_t start = i_;
    while (i_ < t_.size() && is_name_char(t_[i_])) ++i_;
    return std::string(t_.substr(start, i_ - start));
  }

  uint32_t rule_id(const std::string& name) {
    auto it = ids_.find(name);
    if (it != ids_.end()) return it->second;
    rules_.push_back({name, {}});
    return ids_[name] = static_cast<uint32_t>(rules_.size() - 1);
  }

  // A rule made from a group or a repetition, named after the rule it appears in.
  uint32_t new_rule(const std::string& base, Alternatives alts) {
    std::string name;
    do name = base + "_" + std::to_string(++generated_);
    while (ids_.count(name));
    const uint32_t id = rule_id(name);
    rules_[id].alternatives = std::move(alts);
    defined_.insert(name);
    const uint32_t parent = ids_.at(base);
    origin_[id] = origin_.count(parent) ? origin_[parent] : base;
    if (where_.count(parent)) where_[id] = where_[parent];
    return id;
  }

  void parse_rule() {
    const size_t at = i_;
    const std::string name = parse_name();
    if (name.empty()) fail(at, "expected a rule name, found " + describe_here());
    skip_space(false);
    if (t_.substr(i_, 3) != "::=") fail(i_, "expected '::=' after '" + name + "', found " + describe_here());
    i_ += 3;
    skip_space(true);
    if (defined_.count(name)) fail(at, "rule '" + name + "' is defined twice");
    const uint32_t id = rule_id(name);
    defined_.insert(name);
    where_[id] = at;
    Alternatives alts = parse_alternatives(name, false);
    rules_[id].alternatives = std::move(alts);
    skip_space(false);
    if (i_ < t_.size() && t_[i_] != '\n') fail(i_, "expected the end of the rule, found " + describe_here());
  }

  Alternatives parse_alternatives(const std::string& rule, bool nested) {
    Alternatives alts;
    alts.push_back(parse_sequence(rule, nested));
    while (i_ < t_.size() && t_[i_] == '|') {
      ++i_;
      skip_space(true);
      alts.push_back(parse_sequence(rule, nested));
    }
    return alts;
  }

  static GrammarSymbol single(uint32_t cp) {
    GrammarSymbol s;
    s.chars.ranges.push_back({cp, cp});
    return s;
  }
  static GrammarSymbol ref(uint32_t rule) {
    GrammarSymbol s;
    s.is_rule = true;
    s.rule = rule;
    return s;
  }

  uint64_t parse_count() {
    const size_t at = i_;
    uint64_t v = 0;
    if (i_ >= t_.size() || t_[i_] < '0' || t_[i_] > '9') fail(at, "expected a number, found " + describe_here());
    while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') {
      v = v * 10 + static_cast<uint64_t>(t_[i_++] - '0');
      if (v > kMaxRepeat) fail(at, "a repetition count above " + std::to_string(kMaxRepeat));
    }
    return v;
  }

  // Replaces seq[start..] (one item) with its repetition.
  void repeat(const std::string& rule, Sequence& seq, size_t start, uint64_t min, uint64_t max, bool unbounded, size_t at) {
    const Sequence item(seq.begin() + static_cast<std::ptrdiff_t>(start), seq.end());
    expanded_ += (item.size() + 1) * (std::max(min, max) + 1);
    if (expanded_ > kMaxSymbols)
      fail(at, "the grammar's repetitions expand to more than " + std::to_string(kMaxSymbols) + " symbols");
    seq.resize(start);
    for (uint64_t k = 0; k < min; ++k) seq.insert(seq.end(), item.begin(), item.end());
    if (unbounded) {
      // R ::= item R | (nothing)
      const uint32_t r = rule_id_reserved(rule);
      Sequence more = item;
      more.push_back(ref(r));
      rules_[r].alternatives = {more, {}};
      seq.push_back(ref(r));
      return;
    }
    // Up to max - min more: R_k ::= item R_(k-1) | (nothing), R_1 ::= item | (nothing).
    if (max == min) return;
    uint32_t tail = 0;
    for (uint64_t k = 1; k <= max - min; ++k) {
      Sequence more = item;
      if (k > 1) more.push_back(ref(tail));
      tail = new_rule(rule, {more, {}});
    }
    seq.push_back(ref(tail));
  }
  uint32_t rule_id_reserved(const std::string& base) { return new_rule(base, {}); }

  Sequence parse_sequence(const std::string& rule, bool nested) {
    Sequence seq;
    size_t item_start = 0;
    bool have_item = false;
    while (i_ < t_.size()) {
      const size_t at = i_;
      const char c = t_[i_];
      if (c == '"') {
        ++i_;
        item_start = seq.size();
        while (true) {
          if (i_ >= t_.size() || t_[i_] == '\n') fail(at, "unterminated string literal");
          if (t_[i_] == '"') break;
          seq.push_back(single(parse_char()));
        }
        ++i_;
        have_item = true;
      } else if (c == '[') {
        ++i_;
        GrammarSymbol s;
        if (i_ < t_.size() && t_[i_] == '^') s.chars.negated = true, ++i_;
        while (true) {
          if (i_ >= t_.size() || t_[i_] == '\n') fail(at, "unterminated character class");
          if (t_[i_] == ']') break;
          const size_t lo_at = i_;
          const uint32_t lo = parse_char();
          uint32_t hi = lo;
          if (i_ + 1 < t_.size() && t_[i_] == '-' && t_[i_ + 1] != ']') {
            ++i_;
            hi = parse_char();
            if (hi < lo) fail(lo_at, "a character range whose end is below its start");
          }
          s.chars.ranges.push_back({lo, hi});
        }
        ++i_;
        item_start = seq.size();
        seq.push_back(std::move(s));
        have_item = true;
      } else if (c == '.') {
        ++i_;
        GrammarSymbol s;
        s.chars.negated = true;  // nothing excluded: any character
        item_start = seq.size();
        seq.push_back(std::move(s));
        have_item = true;
      } else if (is_name_char(c)) {
        const std::string name = parse_name();
        if (!first_use_.count(name)) first_use_[name] = at;
        item_start = seq.size();
        seq.push_back(ref(rule_id(name)));
        have_item = true;
      } else if (c == '(') {
        ++i_;
        skip_space(true);
        Alternatives alts = parse_alternatives(rule, true);
        if (i_ >= t_.size() || t_[i_] != ')') fail(i_, "expected ')' to close the group, found " + describe_here());
        ++i_;
        item_start = seq.size();
        seq.push_back(ref(new_rule(rule, std::move(alts))));
        have_item = true;
      } else if (c == '*' || c == '+' || c == '?' || c == '{') {
        if (!have_item) fail(at, std::string("expected an item before '") + c + "'");
        ++i_;
        if (c == '*') repeat(rule, seq, item_start, 0, 0, true, at);
        else if (c == '+') repeat(rule, seq, item_start, 1, 0, true, at);
        else if (c == '?') repeat(rule, seq, item_start, 0, 1, false, at);
        else {
          skip_space(nested);
          const uint64_t min = parse_count();
          uint64_t max = min;
          bool unbounded = false;
          skip_space(nested);
          if (i_ < t_.size() && t_[i_] == ',') {
            ++i_;
            skip_space(nested);
            if (i_ < t_.size() && t_[i_] == '}') unbounded = true;
            else max = parse_count();
            skip_space(nested);
          }
          if (i_ >= t_.size() || t_[i_] != '}') fail(i_, "expected '}' to close the repetition, found " + describe_here());
          ++i_;
          if (!unbounded && max < min) fail(at, "a repetition whose maximum is below its minimum");
          repeat(rule, seq, item_start, min, max, unbounded, at);
        }
        have_item = false;  // "x**" is not a repetition of a repetition
        item_start = seq.size();
      } else {
        break;
      }
      skip_space(nested);
    }
    if (i_ < t_.size() && t_[i_] != '|' && t_[i_] != '\n' && !(nested && t_[i_] == ')'))
      fail(i_, "expected a string, a character class, a rule name, '(' or the end of the rule, found " + describe_here());
    return seq;
  }

  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // One character of a literal or class: an escape or a UTF-8 sequence, as a code point.
  uint32_t parse_char() {
    const size_t at = i_;
    const auto b = static_cast<unsigned char>(t_[i_]);
    if (b == '\\') {
      if (++i_ >= t_.size()) fail(at, "an escape at the end of the grammar");
      const char e = t_[i_++];
      int digits = 0;
      switch (e) {
        case 'n': return '\n';
        case 't': return '\t';
        case 'r': return '\r';
        case '\\': case '"': case '[': case ']': case '-': case '^': case '/': case '\'': return static_cast<uint32_t>(e);
        case 'x': digits = 2; break;
        case 'u': digits = 4; break;
        case 'U': digits = 8; break;
        default: fail(at, std::string("unknown escape '\\") + e + "'");
      }
      uint32_t v = 0;
      for (int k = 0; k < digits; ++k) {
        const int h = i_ < t_.size() ? hex(t_[i_]) : -1;
        if (h < 0) fail(at, std::string("expected ") + std::to_string(digits) + " hex digits after '\\" + e + "'");
        v = v * 16 + static_cast<uint32_t>(h);
        ++i_;
      }
      if (v > 0x10FFFF) fail(at, "a code point above U+10FFFF");
      return v;
    }
    ++i_;
    if (b < 0x80) return b;
    const int more = b >= 0xF0 && b < 0xF8 ? 3 : b >= 0xE0 ? 2 : b >= 0xC2 && b < 0xE0 ? 1 : -1;
    if (more < 0 || (b >= 0xE0 && more == 1)) fail(at, "invalid UTF-8");
    uint32_t cp = b & (0x3F >> more);
    for (int k = 0; k < more; ++k) {
      if (i_ >= t_.size() || (static_cast<unsigned char>(t_[i_]) & 0xC0) != 0x80) fail(at, "invalid UTF-8");
      cp = cp << 6 | (static_cast<unsigned char>(t_[i_++]) & 0x3F);
    }
    return cp;
  }

  // A rule that can reach itself before reading any text would send the matcher round forever.
  void check_left_recursion() const {
    const size_t n = rules_.size();
    std::vector<bool> nullable(n, false);
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t r = 0; r < n; ++r) {
        if (nullable[r]) continue;
        for (const Sequence& alt : rules_[r].alternatives)
          if (std::all_of(alt.begin(), alt.end(), [&](const GrammarSymbol& s) { return s.is_rule && nullable[s.rule]; })) {
            nullable[r] = changed = true;
            break;
          }
      }
    }
    // Rules each rule may start with (through nullable prefixes).
    std::vector<std::vector<uint32_t>> first(n);
    for (size_t r = 0; r < n; ++r)
      for (const Sequence& alt : rules_[r].alternatives)
        for (const GrammarSymbol& s : alt) {
          if (!s.is_rule) break;
          first[r].push_back(s.rule);
          if (!nullable[s.rule]) break;
        }
    std::vector<int> state(n, 0);  // 0 new, 1 on the path, 2 done
    std::vector<std::pair<uint32_t, size_t>> todo;
    for (size_t start = 0; start < n; ++start) {
      if (state[start]) continue;
      todo.push_back({static_cast<uint32_t>(start), 0});
      state[start] = 1;
      while (!todo.empty()) {
        auto& [r, k] = todo.back();
        if (k == first[r].size()) {
          state[r] = 2;
          todo.pop_back();
          continue;
        }
        const uint32_t next = first[r][k++];
        if (state[next] == 1) {
          // Name the written rule the cycle passes through (a made one is named after its rule).
          const std::string name = origin_.count(next) ? origin_.at(next) : rules_[next].name;
          auto w = where_.find(next);
          fail(w != where_.end() ? w->second : 0, "rule '" + name + "' can recurse without reading any text (left recursion)");
        }
        if (state[next] == 0) {
          state[next] = 1;
          todo.push_back({next, 0});
        }
      }
    }
  }

  std::string_view t_;
  size_t i_ = 0;
  std::vector<GrammarRule> rules_;
  std::map<std::string, uint32_t> ids_;
  std::set<std::string> defined_;
  std::map<std::string, size_t> first_use_;
  std::map<uint32_t, size_t> where_;       // where each rule is defined
  std::map<uint32_t, std::string> origin_;  // the written rule a made one comes from
  int generated_ = 0;
  uint64_t expanded_ = 0;  // symbols the repetitions have added
};

}  // namespace

bool CharSet::contains(uint32_t cp) const {
  bool in = false;
  for (const auto& [lo, hi] : ranges)
    if (cp >= lo && cp <= hi) {
      in = true;
      break;
    }
  return in != negated;
}

Grammar parse_gbnf(std::string_view text, const std::string& root) {
  Grammar g = Parser(text).run(root);
  compute_min_bytes(g);
  return g;
}

}  // namespace llmkit
