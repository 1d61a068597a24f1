#include "json_doc.h"

#include <cstdio>

#include "llmkit/error.h"

namespace llmkit::json_doc {
namespace {

constexpr int kMaxDepth = 256;

class Reader {
 public:
  Reader(std::string_view t, const char* code) : t_(t), code_(code) {}

  Node document() {
    ws();
    Node n = value(0);
    ws();
    if (i_ < t_.size()) fail("expected the end of the document after the value");
    return n;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(code_, "line " + std::to_string(line_) + ":" + std::to_string(col_) + ": " + what);
  }
  void ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r')) advance();
  }
  void advance() {
    if (t_[i_] == '\n') {
      ++line_, col_ = 1;
    } else if ((static_cast<unsigned char>(t_[i_]) & 0xC0) != 0x80) {
      ++col_;  // columns in characters
    }
    ++i_;
  }
  bool eat(char c) {
    if (i_ < t_.size() && t_[i_] == c) {
      advance();
      return true;
    }
    return false;
  }
  bool word(std::string_view w) {
    if (t_.substr(i_, w.size()) != w) return false;
    for (size_t k = 0; k < w.size(); ++k) advance();
    return true;
  }

  Node value(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    Node n;
    n.line = line_, n.col = col_;
    if (i_ >= t_.size()) fail("expected a value, found the end of the text");
    const char c = t_[i_];
    if (c == '{') {
      advance();
      n.kind = Node::Kind::Object;
      ws();
      if (eat('}')) return n;
      for (;;) {
        ws();
        Member m;
        m.line = line_, m.col = col_;
        if (i_ >= t_.size() || t_[i_] != '"') fail("expected a member name in double quotes");
        m.key = string();
        ws();
        if (!eat(':')) fail("expected ':' after the member name");
        ws();
        m.value = value(depth + 1);
        n.members.push_back(std::move(m));
        ws();
        if (eat('}')) return n;
        if (!eat(',')) fail("expected ',' or '}' after an object member");
      }
    }
    if (c == '[') {
      advance();
      n.kind = Node::Kind::Array;
      ws();
      if (eat(']')) return n;
      for (;;) {
        ws();
        n.items.push_back(value(depth + 1));
        ws();
        if (eat(']')) return n;
        if (!eat(',')) fail("expected ',' or ']' after an array item");
      }
    }
    if (c == '"') {
      n.kind = Node::Kind::String;
      n.text = string();
      return n;
    }
    if (word("true") || word("false")) {
      n.kind = Node::Kind::Bool;
      n.b = c == 't';
      return n;
    }
    if (word("null")) return n;
    if (c == '-' || (c >= '0' && c <= '9')) {
      n.kind = Node::Kind::Number;
      n.text = number();
      return n;
    }
    fail(std::string("expected a value (object, array, string, number, true, false or null)"));
  }

  std::string number() {
    const size_t start = i_;
    const auto digits = [&] {
      const size_t from = i_;
      while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') advance();
      return i_ > from;
    };
    eat('-');
    if (!eat('0') && !digits()) fail("expected a digit");
    if (eat('.') && !digits()) fail("expected a digit after '.'");
    if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) {
      advance();
      if (!eat('+')) eat('-');
      if (!digits()) fail("expected a digit in the exponent");
    }
    return std::string(t_.substr(start, i_ - start));
  }

  static void put_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | cp >> 6));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | cp >> 12));
      out.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | cp >> 18));
      out.push_back(static_cast<char>(0x80 | (cp >> 12 & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  uint32_t hex4() {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      if (i_ >= t_.size()) fail("expected four hex digits after \\u");
      const char h = t_[i_];
      const int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
      if (d < 0) fail("expected four hex digits after \\u");
      v = v << 4 | static_cast<uint32_t>(d);
      advance();
    }
    return v;
  }

  std::string string() {
    advance();  // the opening quote
    std::string out;
    for (;;) {
      if (i_ >= t_.size()) fail("expected the closing '\"' of a string");
      const char c = t_[i_];
      if (c == '"') {
        advance();
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) fail("expected '\\n' (or another escape) instead of a control character in a string");
      if (c != '\\') {
        out.push_back(c);
        advance();
        continue;
      }
      advance();
      if (i_ >= t_.size()) fail("expected an escape after '\\'");
      const char e = t_[i_];
      advance();
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00 && t_.substr(i_, 2) == "\\u") {
            advance(), advance();
            const uint32_t lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("expected a low surrogate after a high one");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            fail("a lone surrogate \\u escape");
          }
          put_utf8(out, cp);
          break;
        }
        default: fail(std::string("expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u, found '\\") + e + "'");
      }
    }
  }

  std::string_view t_;
  const char* code_;
  size_t i_ = 0;
  uint32_t line_ = 1, col_ = 1;
};

}  // namespace

const Member* Node::member(std::string_view key) const {
  for (const Member& m : members)
    if (m.key == key) return &m;
  return nullptr;
}

const Node* Node::get(std::string_view key) const {
  const Member* m = member(key);
  return m ? &m->value : nullptr;
}

std::string Node::where() const { return "line " + std::to_string(line) + ":" + std::to_string(col); }
std::string Member::where() const { return "line " + std::to_string(line) + ":" + std::to_string(col); }

Node parse(std::string_view text, const char* code) { return Reader(text, code).document(); }

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

std::string to_json(const Node& n) {
  switch (n.kind) {
    case Node::Kind::Null: return "null";
    case Node::Kind::Bool: return n.b ? "true" : "false";
    case Node::Kind::Number: return n.text;
    case Node::Kind::String: return quote(n.text);
    case Node::Kind::Array: {
      std::string out = "[";
      for (size_t k = 0; k < n.items.size(); ++k) out += (k ? "," : "") + to_json(n.items[k]);
      return out + "]";
    }
    case Node::Kind::Object: {
      std::string out = "{";
      for (size_t k = 0; k < n.members.size(); ++k)
        out += (k ? "," : "") + quote(n.members[k].key) + ":" + to_json(n.members[k].value);
      return out + "}";
    }
  }
  return "null";
}

}  // namespace llmkit::json_doc
