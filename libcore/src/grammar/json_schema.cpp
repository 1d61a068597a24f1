// JSON Schema to GBNF: a grammar whose sentences are JSON texts valid against the schema, for
// the keywords a context-free grammar can express. Anything else is refused by name, where it is
// written, rather than left out of the grammar (an output that passes the grammar but not the
// schema would break the pipeline that asked for it).
//
// The JSON the grammar allows: values end in at most 20 whitespace characters (so that a model
// cannot stall in spaces), integers have at most 16 digits, fractions 16, exponents 2 (every
// value stays finite), strings carry no control characters and no \u escape of a surrogate (so
// lengths count code points exactly as the schema does).
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "json_doc.h"
#include "llmkit/error.h"
#include "llmkit/grammar.h"

namespace llmkit {
namespace {

using json_doc::Member;
using json_doc::Node;

constexpr int64_t kMaxCount = 1000;          // minItems, maxItems, minLength, maxLength
constexpr double kMaxBound = 1e15;           // integer and number bounds (16 digits)

const std::set<std::string, std::less<>> kAnnotations = {
    "$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated", "readOnly",
    "writeOnly", "$defs", "definitions"};
const std::set<std::string, std::less<>> kHandled = {
    "type", "$ref", "const", "enum", "anyOf", "oneOf", "allOf", "properties", "required", "additionalProperties",
    "items", "prefixItems", "minItems", "maxItems", "minLength", "maxLength", "format", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum"};

// Keywords of the other types, which an object schema with several types may carry.
const std::set<std::string, std::less<>> kOtherTypes = {
    "items", "prefixItems", "minItems", "maxItems", "minLength", "maxLength", "format", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum"};

// A GBNF string literal for these bytes: JSON's escapes (\" \\ \n \r \t \u00XX) are GBNF's too.
std::string literal(std::string_view s) { return json_doc::quote(s); }

std::string repeat(const std::string& item, int64_t lo, int64_t hi) {  // hi < 0: no upper bound
  if (hi == 0) return "";
  if (lo == 0 && hi < 0) return item + "*";
  if (lo == 1 && hi < 0) return item + "+";
  if (lo == 0 && hi == 1) return item + "?";
  if (lo == hi) return item + "{" + std::to_string(lo) + "}";
  return item + "{" + std::to_string(lo) + "," + (hi < 0 ? "" : std::to_string(hi)) + "}";
}

// Digit strings of one length from a to b (same length, a <= b), as a GBNF sequence.
std::string digits_between(const std::string& a, const std::string& b) {
  const size_t n = a.size();
  if (n == 0) return "";
  const auto rest_is = [](const std::string& s, char c) { return s.find_first_not_of(c, 1) == std::string::npos; };
  const auto cls = [](char x, char y) { return x == y ? literal(std::string(1, x)) : "[" + std::string(1, x) + "-" + y + "]"; };
  const std::string tail_any = n > 1 ? " " + repeat("[0-9]", int64_t(n - 1), int64_t(n - 1)) : "";
  if (rest_is(a, '0') && rest_is(b, '9')) return cls(a[0], b[0]) + tail_any;
  if (a[0] == b[0]) return literal(a.substr(0, 1)) + " " + digits_between(a.substr(1), b.substr(1));
  std::vector<std::string> alts;
  alts.push_back(literal(a.substr(0, 1)) + " " + digits_between(a.substr(1), std::string(n - 1, '9')));
  if (a[0] + 1 <= b[0] - 1) alts.push_back(cls(static_cast<char>(a[0] + 1), static_cast<char>(b[0] - 1)) + tail_any);
  alts.push_back(literal(b.substr(0, 1)) + " " + digits_between(std::string(n - 1, '0'), b.substr(1)));
  std::string out = "(";
  for (size_t k = 0; k < alts.size(); ++k) out += (k ? " | " : "") + alts[k];
  return out + ")";
}

// Non-negative integers from lo to hi (hi < 0: no bound), without leading zeros, at most 16 digits.
std::string naturals_between(int64_t lo, int64_t hi) {
  const std::string a = std::to_string(lo);
  std::vector<std::string> alts;
  const size_t top = hi < 0 ? 16 : std::to_string(hi).size();
  for (size_t len = a.size(); len <= top; ++len) {
    const std::string low = len == a.size() ? a : "1" + std::string(len - 1, '0');
    if (hi < 0 && len > a.size()) {  // every longer number, up to 16 digits
      alts.push_back("[1-9] " + repeat("[0-9]", int64_t(len - 1), 15));
      break;
    }
    const std::string high = hi >= 0 && len == top ? std::to_string(hi) : std::string(len, '9');
    if (low.size() == high.size() && low <= high) alts.push_back(digits_between(low, high));
  }
  std::string out = "(";
  for (size_t k = 0; k < alts.size(); ++k) out += (k ? " | " : "") + alts[k];
  return out + ")";
}

class Converter {
 public:
  explicit Converter(const Node& root) : root_(root) {}

  std::string run() {
    used_.insert("root");
    const std::string body = visit(root_, "root");
    std::string out = "root ::= " + body + "\n";
    for (const auto& [name, rule] : rules_) out += name + " ::= " + rule + "\n";
    return out;
  }

 private:
  [[noreturn]] static void fail(const std::string& where, const std::string& what) {
    throw Error("bad_schema", where + ": " + what);
  }

  std::string unique_name(const std::string& hint) {
    std::string base;
    for (char c : hint) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (ok) base.push_back(c);
      else if (!base.empty() && base.back() != '-') base.push_back('-');
    }
    while (!base.empty() && base.back() == '-') base.pop_back();
    if (base.size() > 48) base.resize(48);
    if (base.empty()) base = "r";
    std::string name = base;
    for (int k = 2; used_.count(name); ++k) name = base + "-" + std::to_string(k);
    used_.insert(name);
    return name;
  }
  // A rule with this body (one rule per distinct body).
  std::string rule(const std::string& hint, const std::string& body) {
    if (auto it = by_body_.find(body); it != by_body_.end()) return it->second;
    const std::string name = unique_name(hint);
    rules_.emplace_back(name, body);
    by_body_.emplace(body, name);
    return name;
  }

  std::string ws() { return rule("ws", "[ \\t\\n]{0,20}"); }
  std::string chr() {
    return rule("char", "[^\"\\\\\\x00-\\x1f] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" ([0-9a-cA-CeEfF] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2}))");
  }
  std::string string_rule() { return rule("string", "\"\\\"\" " + chr() + "* \"\\\"\" " + ws()); }
  std::string number_rule() {
    return rule("number", "\"-\"? (\"0\" | [1-9] [0-9]{0,15}) (\".\" [0-9]{1,16})? ([eE] [-+]? [0-9]{1,2})? " + ws());
  }
  std::string integer_rule() { return rule("integer", "\"-\"? (\"0\" | [1-9] [0-9]{0,15}) " + ws()); }
  std::string boolean_rule() { return rule("boolean", "(\"true\" | \"false\") " + ws()); }
  std::string null_rule() { return rule("null", "\"null\" " + ws()); }
  std::string any_value() {
    if (!any_.empty()) return any_;
    any_ = unique_name("value");
    const std::string obj = unique_name("object"), arr = unique_name("array");
    const std::string w = ws(), s = string_rule();
    rules_.emplace_back(any_, obj + " | " + arr + " | " + s + " | " + number_rule() + " | " + boolean_rule() + " | " + null_rule());
    rules_.emplace_back(obj, "\"{\" " + w + " (" + s + " \":\" " + w + " " + any_ + " (\",\" " + w + " " + s + " \":\" " + w +
                                 " " + any_ + ")*)? \"}\" " + w);
    rules_.emplace_back(arr, "\"[\" " + w + " (" + any_ + " (\",\" " + w + " " + any_ + ")*)? \"]\" " + w);
    return any_;
  }

  static void check_keywords(const Node& s) {
    for (const Member& m : s.members)
      if (!kAnnotations.count(m.key) && !kHandled.count(m.key))
        fail(m.where(), "unsupported keyword '" + m.key + "' (a grammar cannot express it; remove it or put it in the prompt)");
  }

  static int64_t count(const Node& s, const char* key, int64_t dflt) {
    const Member* m = s.member(key);
    if (!m) return dflt;
    const Node& v = m->value;
    if (v.kind != Node::Kind::Number || v.text.find_first_of(".eE-") != std::string::npos)
      fail(v.where(), std::string("'") + key + "' must be a non-negative integer");
    if (v.text.size() > 4 || std::stoll(v.text) > kMaxCount)
      fail(v.where(), std::string("'") + key + "' above " + std::to_string(kMaxCount) + " is not supported");
    return std::stoll(v.text);
  }

  static std::optional<double> bound(const Node& s, const char* key) {
    const Node* v = s.get(key);
    if (!v) return std::nullopt;
    if (v->kind != Node::Kind::Number) fail(v->where(), std::string("'") + key + "' must be a number");
    const double x = std::strtod(v->text.c_str(), nullptr);  // 1e999 is inf: refused below
    if (!(std::fabs(x) <= kMaxBound)) fail(v->where(), std::string("'") + key + "' beyond 1e15 is not supported");
    return x;
  }

  const Node& resolve(const Member& ref) {
    if (ref.value.kind != Node::Kind::String) fail(ref.value.where(), "'$ref' must be a string");
    const std::string& r = ref.value.text;
    if (r.empty() || r[0] != '#')
      fail(ref.value.where(), "only references within the schema ('#/$defs/name') are supported, not '" + r + "'");
    const Node* n = &root_;
    size_t i = 1;
    while (i < r.size()) {
      if (r[i] != '/') fail(ref.value.where(), "'$ref' '" + r + "' is not a JSON pointer ('#/$defs/name')");
      const size_t j = std::min(r.find('/', i + 1), r.size());
      std::string part = r.substr(i + 1, j - i - 1), key;
      for (size_t k = 0; k < part.size(); ++k)  // JSON pointer escapes: ~1 is '/', ~0 is '~'
        key.push_back(part[k] == '~' && k + 1 < part.size() ? (part[++k] == '1' ? '/' : '~') : part[k]);
      const Node* next = nullptr;
      if (n->kind == Node::Kind::Object) {
        next = n->get(key);
      } else if (n->kind == Node::Kind::Array && !key.empty() && key.find_first_not_of("0123456789") == std::string::npos &&
                 key.size() < 6 && std::stoul(key) < n->items.size()) {
        next = &n->items[std::stoul(key)];
      }
      if (!next) fail(ref.value.where(), "'$ref' '" + r + "' points to nothing in the schema");
      n = next;
      i = j;
    }
    return *n;
  }

  std::string visit(const Node& s, const std::string& hint) {
    if (s.kind == Node::Kind::Bool) {
      if (!s.b) fail(s.where(), "the schema 'false' allows no value");
      return any_value();
    }
    if (s.kind != Node::Kind::Object) fail(s.where(), "expected a schema (an object, true or false)");
    check_keywords(s);
    const auto constraining = [&](std::initializer_list<const char*> except) {
      for (const Member& m : s.members) {
        if (kAnnotations.count(m.key)) continue;
        bool ok = false;
        for (const char* e : except) ok = ok || m.key == e;
        if (!ok) return &m;
      }
      return static_cast<const Member*>(nullptr);
    };
    if (const Member* ref = s.member("$ref")) {
      if (const Member* other = constraining({"$ref"}))
        fail(other->where(), "'" + other->key + "' alongside '$ref' is not supported (put it in the referenced schema)");
      const std::string& r = ref->value.kind == Node::Kind::String ? ref->value.text : std::string();
      if (auto it = refs_.find(r); it != refs_.end()) return it->second;
      const Node& target = resolve(*ref);
      const size_t slash = r.rfind('/');
      const std::string name = unique_name("ref-" + (slash == std::string::npos || slash + 1 == r.size() ? std::string("root") : r.substr(slash + 1)));
      refs_[r] = name;
      const size_t at = rules_.size();
      rules_.emplace_back(name, "");  // named now, so that the schema can refer to itself
      const std::string body = visit(target, name);
      rules_[at].second = body;
      return name;
    }
    if (const Node* c = s.get("const")) {
      if (const Member* other = constraining({"const"})) fail(other->where(), "'" + other->key + "' alongside 'const' is not supported");
      return rule(hint + "-const", literal(json_doc::to_json(*c)) + " " + ws());
    }
    if (const Member* e = s.member("enum")) {
      if (e->value.kind != Node::Kind::Array || e->value.items.empty()) fail(e->value.where(), "'enum' must be a non-empty array");
      if (const Member* other = constraining({"enum", "type"}))
        fail(other->where(), "'" + other->key + "' alongside 'enum' is not supported");
      std::string body = "(";
      for (size_t k = 0; k < e->value.items.size(); ++k) body += (k ? " | " : "") + literal(json_doc::to_json(e->value.items[k]));
      return rule(hint, body + ") " + ws());
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      const Member* m = s.member(key);
      if (!m) continue;
      if (m->value.kind != Node::Kind::Array || m->value.items.empty()) fail(m->value.where(), std::string("'") + key + "' must be a non-empty array");
      if (const Member* other = constraining({key}))
        fail(other->where(), "'" + other->key + "' alongside '" + key + "' is not supported (put it in each alternative)");
      std::string body;
      for (size_t k = 0; k < m->value.items.size(); ++k)
        body += (k ? " | " : "") + visit(m->value.items[k], hint + "-" + std::to_string(k));
      return rule(hint, body);
    }
    if (s.member("allOf")) return object_rule(s, hint);
    const Node* type = s.get("type");
    std::vector<std::string> types;
    if (!type) {
      // No type: the keywords say which (llama.cpp reads them the same way), else any value.
      if (s.get("properties") || s.get("additionalProperties") || s.get("required")) types = {"object"};
      else if (s.get("items") || s.get("prefixItems") || s.get("minItems") || s.get("maxItems")) types = {"array"};
      else if (s.get("minLength") || s.get("maxLength") || s.get("format")) types = {"string"};
      else if (s.get("minimum") || s.get("maximum") || s.get("exclusiveMinimum") || s.get("exclusiveMaximum")) types = {"number"};
      else return any_value();
    } else if (type->kind == Node::Kind::String) {
      types = {type->text};
    } else if (type->kind == Node::Kind::Array && !type->items.empty()) {
      for (const Node& t : type->items) {
        if (t.kind != Node::Kind::String) fail(t.where(), "expected a type name");
        types.push_back(t.text);
      }
    } else {
      fail(type->where(), "'type' must be a type name or an array of them");
    }
    std::string body;
    for (size_t k = 0; k < types.size(); ++k) {
      const Node& where = type && type->kind == Node::Kind::Array ? type->items[k] : (type ? *type : s);
      body += (k ? " | " : "") + typed(s, types[k], where, types.size() > 1 ? hint + "-" + types[k] : hint);
    }
    return types.size() == 1 ? body : rule(hint, body);
  }

  std::string typed(const Node& s, const std::string& t, const Node& where, const std::string& hint) {
    if (t == "object") return object_rule(s, hint);
    if (t == "array") return array_rule(s, hint);
    if (t == "string") return string_of(s, hint);
    if (t == "integer") return integer_of(s, hint);
    if (t == "number") return number_of(s, hint);
    if (t == "boolean") return boolean_rule();
    if (t == "null") return null_rule();
    fail(where.where(), "unknown type '" + t + "' (expected object, array, string, integer, number, boolean or null)");
  }

  std::string string_of(const Node& s, const std::string& hint) {
    const int64_t lo = count(s, "minLength", 0), hi = count(s, "maxLength", -1);
    if (hi >= 0 && lo > hi) fail(s.where(), "minLength is above maxLength");
    if (const Node* f = s.get("format")) {
      if (s.get("minLength") || s.get("maxLength")) fail(f->where(), "'format' with 'minLength' or 'maxLength' is not supported");
      if (f->kind != Node::Kind::String) fail(f->where(), "'format' must be a string");
      const std::string q = "\"\\\"\"";
      const std::string date = rule("date", "[0-9]{4} \"-\" (\"0\" [1-9] | \"1\" [0-2]) \"-\" (\"0\" [1-9] | [12] [0-9] | \"3\" [01])");
      const std::string time = rule("time", "([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9] \":\" [0-5] [0-9] (\".\" [0-9]{1,6})? (\"Z\" | [+-] ([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9])");
      std::string inner;
      if (f->text == "date") inner = date;
      else if (f->text == "time") inner = time;
      else if (f->text == "date-time") inner = date + " \"T\" " + time;
      else if (f->text == "uuid") inner = "[0-9a-f]{8} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{12}";
      else fail(f->where(), "unsupported format '" + f->text + "' (supported: date, time, date-time, uuid)");
      return rule(hint + "-" + f->text, q + " " + inner + " " + q + " " + ws());
    }
    if (lo == 0 && hi < 0) return string_rule();
    return rule(hint, "\"\\\"\" " + repeat(chr(), lo, hi) + " \"\\\"\" " + ws());
  }

  std::string integer_of(const Node& s, const std::string& hint) {
    std::optional<double> min = bound(s, "minimum"), max = bound(s, "maximum");
    const std::optional<double> xmin = bound(s, "exclusiveMinimum"), xmax = bound(s, "exclusiveMaximum");
    if (!min && !max && !xmin && !xmax) return integer_rule();
    // Bounds as inclusive integers.
    std::optional<int64_t> lo, hi;
    if (min) lo = static_cast<int64_t>(std::ceil(*min));
    if (xmin) lo = std::max(lo.value_or(INT64_MIN), static_cast<int64_t>(std::floor(*xmin)) + 1);
    if (max) hi = static_cast<int64_t>(std::floor(*max));
    if (xmax) hi = std::min(hi.value_or(INT64_MAX), static_cast<int64_t>(std::ceil(*xmax)) - 1);
    if (lo && hi && *lo > *hi) fail(s.where(), "no integer lies within these bounds");
    return rule(hint, "(" + integers_between(lo, hi) + ") " + ws());
  }

  static std::string integers_between(std::optional<int64_t> lo, std::optional<int64_t> hi) {
    std::vector<std::string> alts;
    if (!hi || *hi >= 0) alts.push_back(naturals_between(std::max<int64_t>(lo.value_or(0), 0), hi ? *hi : -1));
    if (!lo || *lo < 0) {  // -1 .. lo, as "-" and a natural number
      const int64_t from = hi && *hi < 0 ? -*hi : 1;
      alts.push_back("\"-\" " + naturals_between(from, lo ? -*lo : -1));
    }
    std::string out;
    for (size_t k = 0; k < alts.size(); ++k) out += (k ? " | " : "") + alts[k];
    return out;
  }

  std::string number_of(const Node& s, const std::string& hint) {
    for (const char* key : {"exclusiveMinimum", "exclusiveMaximum"})
      if (const Node* v = s.get(key))
        fail(v->where(), std::string("'") + key + "' on a number is not expressible in a grammar (use minimum/maximum, or an integer type)");
    const std::optional<double> min = bound(s, "minimum"), max = bound(s, "maximum");
    if (!min && !max) return number_rule();
    for (const char* key : {"minimum", "maximum"})
      if (const Node* v = s.get(key); v && std::floor(std::strtod(v->text.c_str(), nullptr)) != std::strtod(v->text.c_str(), nullptr))
        fail(v->where(), std::string("'") + key + "' on a number must be a whole number to be expressible in a grammar");
    const std::optional<int64_t> lo = min ? std::optional<int64_t>(static_cast<int64_t>(*min)) : std::nullopt;
    const std::optional<int64_t> hi = max ? std::optional<int64_t>(static_cast<int64_t>(*max)) : std::nullopt;
    if (lo && hi && *lo > *hi) fail(s.where(), "minimum is above maximum");
    // x in [lo, hi] with whole bounds and no exponent: |x|'s integer part within the bounds, and
    // at a bound's magnitude only a zero fraction.
    const std::string frac = "(\".\" [0-9]{1,16})?", zero = "(\".\" \"0\"{1,16})?";
    const auto magnitude = [&](int64_t a, std::optional<int64_t> b) {  // [a, b] for a >= 0
      if (!b) return "(" + naturals_between(a, -1) + " " + frac + ")";
      std::string out = "(";
      if (a < *b) out += naturals_between(a, *b - 1) + " " + frac + " | ";
      return out + literal(std::to_string(*b)) + " " + zero + ")";
    };
    std::vector<std::string> alts;
    if (!hi || *hi >= 0) alts.push_back(magnitude(std::max<int64_t>(lo.value_or(0), 0), hi));
    if (!lo || *lo < 0) {
      // Negative: -y with y from max(0, -hi) (exclusive of 0 unless hi <= 0 allows it) to -lo.
      const int64_t from = hi && *hi < 0 ? -*hi : 0;
      alts.push_back("\"-\" " + magnitude(from, lo ? std::optional<int64_t>(-*lo) : std::nullopt));
    }
    std::string body = "(";
    for (size_t k = 0; k < alts.size(); ++k) body += (k ? " | " : "") + alts[k];
    return rule(hint, body + ") " + ws());
  }

  // The keys an object may add past its properties: any string but theirs. A trie of the names:
  // at each node the next character either follows a name or leaves every name behind.
  std::string other_key(const std::vector<std::string>& names, const std::string& hint) {
    if (names.empty()) return string_rule();
    std::vector<std::string> escaped;
    for (const std::string& n : names) {
      std::string q = json_doc::quote(n);
      escaped.push_back(q.substr(1, q.size() - 2));
      if (escaped.back().find('\\') != std::string::npos) return string_rule();  // rare; not excluded
    }
    const std::string tail = chr() + "* \"\\\"\" " + ws();
    std::function<std::string(const std::string&)> node = [&](const std::string& prefix) -> std::string {
      std::set<std::string> next;  // the next characters (whole UTF-8 sequences) after the prefix
      bool whole = false;
      for (const std::string& e : escaped) {
        if (e.compare(0, prefix.size(), prefix) != 0) continue;
        if (e.size() == prefix.size()) {
          whole = true;
          continue;
        }
        const auto b = static_cast<unsigned char>(e[prefix.size()]);
        const size_t len = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
        next.insert(e.substr(prefix.size(), len));
      }
      std::string body, cls;
      for (const std::string& c : next) {
        body += (body.empty() ? "" : " | ") + literal(c) + " " + node(prefix + c);
        cls += c == "]" || c == "-" || c == "^" ? "\\" + c : c;
      }
      body += std::string(body.empty() ? "" : " | ") + "[^" + cls + "\"\\\\\\x00-\\x1f] " + tail;
      body += " | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" ([0-9a-cA-CeEfF] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2})) " + tail;
      if (!whole) body += " | \"\\\"\" " + ws();
      return rule(hint + "-key", body);
    };
    return rule(hint + "-key", "\"\\\"\" " + node(""));
  }

  // Properties (in the schema's order), which are required, and what other keys may hold; allOf
  // merges its parts into one.
  struct ObjectSpec {
    std::vector<std::pair<std::string, const Node*>> props;
    std::set<std::string> required;
    std::vector<std::pair<std::string, const Node*>> required_where;  // to report unknown names
    const Node* additional = nullptr;  // a schema, or nullptr: no other keys
  };

  void gather(const Node& s0, ObjectSpec& spec, int depth) {
    if (depth > 64) fail(s0.where(), "allOf and $ref nest too deep");
    const Node* s = &s0;
    if (const Member* ref = s->member("$ref")) s = &resolve(*ref);
    if (s->kind != Node::Kind::Object) fail(s->where(), "expected an object schema within allOf");
    check_keywords(*s);
    for (const Member& m : s->members) {
      if (kAnnotations.count(m.key) || m.key == "type" || m.key == "$ref") continue;
      if (m.key == "allOf") {
        if (m.value.kind != Node::Kind::Array) fail(m.value.where(), "'allOf' must be an array");
        for (const Node& part : m.value.items) gather(part, spec, depth + 1);
      } else if (m.key == "properties") {
        if (!m.value.is_object()) fail(m.value.where(), "'properties' must be an object");
        for (const Member& p : m.value.members) {
          bool seen = false;
          for (auto& [name, schema] : spec.props)
            if (name == p.key) {
              if (schema != &p.value) fail(p.where(), "property '" + p.key + "' is given two schemas (in allOf); merging them is not supported");
              seen = true;
            }
          if (!seen) spec.props.emplace_back(p.key, &p.value);
        }
      } else if (m.key == "required") {
        if (m.value.kind != Node::Kind::Array) fail(m.value.where(), "'required' must be an array of names");
        for (const Node& r : m.value.items) {
          if (r.kind != Node::Kind::String) fail(r.where(), "'required' must be an array of names");
          spec.required.insert(r.text);
          spec.required_where.emplace_back(r.text, &r);
        }
      } else if (m.key == "additionalProperties") {
        if (m.value.kind == Node::Kind::Bool ? m.value.b : true) spec.additional = &m.value;
        else spec.additional = nullptr;
      } else if (depth == 0 && kOtherTypes.count(m.key)) {
        continue;  // for the schema's other types ("type": ["object", "array"])
      } else {
        fail(m.where(), "'" + m.key + "' in an object schema " + (depth ? "within allOf " : "") + "is not supported");
      }
    }
    if (const Node* t = s->get("type"); t && !(t->kind == Node::Kind::String && t->text == "object"))
      fail(t->where(), "allOf is supported for object schemas only");
  }

  std::string object_rule(const Node& s, const std::string& hint) {
    ObjectSpec spec;
    gather(s, spec, 0);
    for (const auto& [name, where] : spec.required_where) {
      bool known = false;
      for (const auto& p : spec.props) known = known || p.first == name;
      if (!known) fail(where->where(), "required property '" + name + "' has no schema in 'properties'");
    }
    const std::string w = ws();
    std::vector<std::string> kv;
    std::vector<bool> req;
    std::vector<std::string> names;
    for (const auto& [name, schema] : spec.props) {
      const std::string value = visit(*schema, hint + "-" + name);
      kv.push_back(rule(hint + "-" + name + "-kv", literal(json_doc::quote(name)) + " " + w + " \":\" " + w + " " + value));
      req.push_back(spec.required.count(name) > 0);
      names.push_back(name);
    }
    std::string rest;  // the other keys, after the properties
    std::string extra;
    if (spec.additional) {
      const std::string value = visit(*spec.additional, hint + "-additional");
      extra = rule(hint + "-additional-kv", other_key(names, hint) + " \":\" " + w + " " + value);
      rest = "(\",\" " + w + " " + extra + ")*";
    }
    const size_t n = kv.size();
    // after(i): the members from i on once one has been written (each after a comma);
    // first(i): the members from i on when none has been written yet.
    const auto after = [&](size_t i) {
      std::string out;
      for (size_t j = i; j < n; ++j) out += req[j] ? " \",\" " + w + " " + kv[j] : " (\",\" " + w + " " + kv[j] + ")?";
      return out + (rest.empty() ? "" : " " + rest);
    };
    // Before the first required property each optional one may be the first written.
    size_t k = 0;
    while (k < n && !req[k]) ++k;
    std::string first = k < n ? kv[k] + after(k + 1) : extra.empty() ? "" : "(" + extra + " " + rest + ")?";
    for (size_t i = k; i-- > 0;) {
      const std::string with = kv[i] + after(i + 1);
      first = first.empty() ? "(" + with + ")?" : rule(hint + "-from-" + names[i], with + " | " + first);
    }
    return rule(hint, "\"{\" " + w + " " + first + " \"}\" " + w);
  }

  std::string array_rule(const Node& s, const std::string& hint) {
    const int64_t min = count(s, "minItems", 0), max = count(s, "maxItems", -1);
    if (max >= 0 && min > max) fail(s.where(), "minItems is above maxItems");
    const std::string w = ws();
    std::vector<std::string> prefix;
    if (const Node* p = s.get("prefixItems")) {
      if (p->kind != Node::Kind::Array) fail(p->where(), "'prefixItems' must be an array of schemas");
      for (size_t k = 0; k < p->items.size(); ++k) prefix.push_back(visit(p->items[k], hint + "-" + std::to_string(k)));
      if (max >= 0 && static_cast<int64_t>(prefix.size()) > max) fail(p->where(), "more prefixItems than maxItems allows");
    }
    const auto k = static_cast<int64_t>(prefix.size());
    // Items past the prefix: `items` (any value if absent), as many as minItems needs (and no
    // more where a prefix is given without `items`), up to maxItems.
    const Node* items = s.get("items");
    std::string item;
    int64_t extra_min = std::max<int64_t>(0, min - k), extra_max = max < 0 ? -1 : max - k;
    if (items && items->kind == Node::Kind::Bool && !items->b) {
      if (extra_min > 0) fail(items->where(), "'items': false leaves fewer items than minItems");
      extra_max = 0;
    } else {
      item = items ? visit(*items, hint + "-item") : any_value();
      if (!items && k > 0) extra_max = extra_min;
    }
    std::string body = "\"[\" " + w + " ";
    if (k > 0) {
      for (int64_t j = 0; j < k; ++j) body += (j ? "\",\" " + w + " " : "") + prefix[static_cast<size_t>(j)] + " ";
      if (extra_max != 0) body += repeat("(\",\" " + w + " " + item + ")", extra_min, extra_max) + " ";
    } else if (extra_max != 0) {
      const std::string more = repeat("(\",\" " + w + " " + item + ")", std::max<int64_t>(0, extra_min - 1), extra_max < 0 ? -1 : extra_max - 1);
      body += extra_min == 0 ? "(" + item + " " + more + ")? " : item + " " + more + " ";
    }
    return rule(hint, body + "\"]\" " + w);
  }

  const Node& root_;
  std::vector<std::pair<std::string, std::string>> rules_;
  std::map<std::string, std::string> by_body_;
  std::set<std::string> used_;
  std::map<std::string, std::string> refs_;
  std::string any_;
};

}  // namespace

std::string json_schema_to_gbnf(std::string_view schema) {
  const Node root = json_doc::parse(schema, "bad_schema");
  std::string gbnf = Converter(root).run();
  try {
    parse_gbnf(gbnf);
  } catch (const Error& e) {
    // A schema that refers to itself before any text (a $ref loop) makes a left-recursive grammar.
    throw Error("bad_schema", std::string("the schema cannot be made a grammar: ") + e.what());
  }
  return gbnf;
}

}  // namespace llmkit
