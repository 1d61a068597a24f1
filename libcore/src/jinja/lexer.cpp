#include "jinja/lexer.h"

#include <algorithm>
#include <cctype>

#include "jinja/pystr.h"
#include "llmkit/jinja.h"
#include "llmkit/unicode.h"

namespace llmkit::jinja {
namespace {

class Lexer {
 public:
  explicit Lexer(std::string src) : src_(std::move(src)) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      const size_t tag = find_tag(pos_);
      if (tag == std::string::npos) {
        emit(Tok::Data, src_.substr(pos_), pos_);
        break;
      }
      std::string data = src_.substr(pos_, tag - pos_);
      const char kind = src_[tag + 1];
      const char sign = tag + 2 < src_.size() && (src_[tag + 2] == '-' || src_[tag + 2] == '+') ? src_[tag + 2] : 0;
      if (sign == '-') {
        data.resize(data.size() - py::trailing_space(data));
      } else if (sign != '+' && kind != '{') {
        // lstrip_blocks: only spaces and tabs between the line's start and the tag.
        const size_t nl = data.rfind('\n');
        const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
        if ((l_pos > 0 || line_starting_) && data.find_first_not_of(" \t", l_pos) == std::string::npos)
          data.resize(l_pos);
      }
      emit(Tok::Data, data, pos_);
      pos_ = tag + 2 + (sign ? 1 : 0);
      if (kind == '#') comment(tag);
      else if (kind == '%' && raw_block(tag)) continue;
      else tag_tokens(kind == '%', tag);
    }
    tokens_.push_back({Tok::Eof, "", line_of(src_.size()), col_of(src_.size())});
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t p = src_.find('{', from); p != std::string::npos; p = src_.find('{', p + 1))
      if (p + 1 < src_.size() && (src_[p + 1] == '{' || src_[p + 1] == '%' || src_[p + 1] == '#')) return p;
    return std::string::npos;
  }

  int line_of(size_t pos) const {
    return static_cast<int>(std::upper_bound(line_starts_.begin(), line_starts_.end(), pos) - line_starts_.begin());
  }
  int col_of(size_t pos) const { return static_cast<int>(pos - line_starts_[line_of(pos) - 1]) + 1; }

  [[noreturn]] void fail(const std::string& what, size_t pos) const {
    throw JinjaError("template_syntax", what, line_of(pos), col_of(pos));
  }

  void emit(Tok t, std::string text, size_t pos) {
    if (t == Tok::Data && text.empty()) return;
    tokens_.push_back({t, std::move(text), line_of(pos), col_of(pos)});
  }

  // After a block or comment end: `-` eats all whitespace, `+` nothing, else one newline (trim_blocks).
  void after_block_end(char sign) {
    if (sign == '-') pos_ += py::leading_space(std::string_view(src_).substr(pos_));
    else if (sign != '+' && pos_ < src_.size() && src_[pos_] == '\n') ++pos_;
    line_starting_ = pos_ > 0 && src_[pos_ - 1] == '\n';
  }

  void comment(size_t tag) {
    for (size_t p = pos_; p + 1 < src_.size(); ++p) {
      if (src_[p] == '-' && src_.compare(p + 1, 2, "#}") == 0) {
        pos_ = p + 3;
        return after_block_end('-');
      }
      if (src_.compare(p, 2, "#}") == 0) {
        pos_ = p + 2;
        return after_block_end(0);
      }
    }
    fail("a comment is not closed with #}", tag);
  }

  // {% raw %}...{% endraw %}: the text in between is data, tags and all.
  bool raw_block(size_t tag) {
    auto skip_ws = [&](size_t p) {
      while (p < src_.size() && std::isspace(static_cast<unsigned char>(src_[p]))) ++p;
      return p;
    };
    size_t p = skip_ws(pos_);
    if (src_.compare(p, 3, "raw") != 0) return false;
    p = skip_ws(p + 3);
    char sign = 0;
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) sign = src_[p++];
    if (src_.compare(p, 2, "%}") != 0) return false;
    pos_ = p + 2;
    after_block_end(sign);
    for (size_t q = find_tag(pos_); q != std::string::npos; q = find_tag(q + 1)) {
      if (src_[q + 1] != '%') continue;
      size_t r = q + 2;
      const char open_sign = r < src_.size() && (src_[r] == '-' || src_[r] == '+') ? src_[r++] : 0;
      r = skip_ws(r);
      if (src_.compare(r, 6, "endraw") != 0) continue;
      r = skip_ws(r + 6);
      char close_sign = 0;
      if (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) close_sign = src_[r++];
      if (src_.compare(r, 2, "%}") != 0) continue;
      std::string body = src_.substr(pos_, q - pos_);
      if (open_sign == '-') body.resize(body.size() - py::trailing_space(body));
      emit(Tok::Data, body, pos_);
      pos_ = r + 2;
      after_block_end(close_sign);
      return true;
    }
    fail("{% raw %} without {% endraw %}", tag);
  }

  void tag_tokens(bool block, size_t tag) {
    emit(block ? Tok::BlockBegin : Tok::VarBegin, "", tag);
    int depth = 0;
    while (true) {
      while (pos_ < src_.size()) {
        size_t n = 0;
        const uint32_t cp = unicode::decode_utf8(src_, pos_, &n);
        if (!py::isspace(cp)) break;
        pos_ += n;
      }
      if (pos_ >= src_.size()) fail(block ? "a block tag is not closed with %}" : "a {{ is not closed with }}", tag);
      if (depth == 0 && end_tag(block)) return;
      token(depth);
    }
  }

  bool end_tag(bool block) {
    const char* close = block ? "%}" : "}}";
    if (src_[pos_] == '-' && src_.compare(pos_ + 1, 2, close) == 0) {
      emit(block ? Tok::BlockEnd : Tok::VarEnd, "", pos_);
      pos_ += 3;
      after_block_end('-');
      return true;
    }
    if (block && src_[pos_] == '+' && src_.compare(pos_ + 1, 2, close) == 0) {
      emit(Tok::BlockEnd, "", pos_);
      pos_ += 3;
      after_block_end('+');
      return true;
    }
    if (src_.compare(pos_, 2, close) == 0) {
      emit(block ? Tok::BlockEnd : Tok::VarEnd, "", pos_);
      pos_ += 2;
      if (block) after_block_end(0);
      else line_starting_ = false;
      return true;
    }
    return false;
  }

  void token(int& depth) {
    const size_t start = pos_;
    const char c = src_[pos_];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      while (pos_ < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_')) ++pos_;
      return emit(Tok::Name, src_.substr(start, pos_ - start), start);
    }
    if (std::isdigit(static_cast<unsigned char>(c))) return number(start);
    if (c == '\'' || c == '"') return string_literal(start);
    static const char* const two[] = {"//", "**", "==", "!=", "<=", ">="};
    for (const char* op : two)
      if (src_.compare(pos_, 2, op) == 0) {
        pos_ += 2;
        return emit(Tok::Op, op, start);
      }
    if (std::string_view("+-/*%~[](){}<>=.:|,;").find(c) == std::string_view::npos)
      fail(std::string("unexpected character '") + c + "'", start);
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') {
      if (depth == 0) fail(std::string("unexpected '") + c + "'", start);
      --depth;
    }
    ++pos_;
    emit(Tok::Op, std::string(1, c), start);
  }

  void digits() {
    while (pos_ < src_.size() &&
           (std::isdigit(static_cast<unsigned char>(src_[pos_])) ||
            (src_[pos_] == '_' && pos_ + 1 < src_.size() && std::isdigit(static_cast<unsigned char>(src_[pos_ + 1])))))
      ++pos_;
  }

  void number(size_t start) {
    digits();
    bool is_float = false;
    const bool after_dot = start > 0 && src_[start - 1] == '.';  // x.0.1 is two subscripts
    if (!after_dot && pos_ + 1 < src_.size() && src_[pos_] == '.' && std::isdigit(static_cast<unsigned char>(src_[pos_ + 1]))) {
      ++pos_;
      digits();
      is_float = true;
    }
    if (!after_dot && pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      size_t q = pos_ + 1;
      if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
      if (q < src_.size() && std::isdigit(static_cast<unsigned char>(src_[q]))) {
        pos_ = q;
        digits();
        is_float = true;
      }
    }
    std::string text;
    for (size_t i = start; i < pos_; ++i)
      if (src_[i] != '_') text += src_[i];
    emit(is_float ? Tok::Float : Tok::Int, text, start);
  }

  // Python's unicode-escape decoding of the literal's body, as jinja2 applies it.
  void string_literal(size_t start) {
    const char q = src_[pos_++];
    std::string out;
    while (true) {
      if (pos_ >= src_.size()) fail("a string is not closed", start);
      const char c = src_[pos_++];
      if (c == q) break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= src_.size()) fail("a string is not closed", start);
      const char e = src_[pos_++];
      auto hex = [&](int n) {
        uint32_t v = 0;
        for (int k = 0; k < n; ++k) {
          if (pos_ >= src_.size() || !std::isxdigit(static_cast<unsigned char>(src_[pos_])))
            fail("a string has a truncated \\x, \\u or \\U escape", start);
          const char h = src_[pos_++];
          v = v * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
        }
        if (v > 0x10FFFF) fail("a string escapes a code point beyond U+10FFFF", start);
        unicode::append_utf8(out, v);
      };
      switch (e) {
        case '\n': break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        case 'x': hex(2); break;
        case 'u': hex(4); break;
        case 'U': hex(8); break;
        default:
          if (e >= '0' && e <= '7') {
            uint32_t v = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7'; ++k)
              v = v * 8 + static_cast<uint32_t>(src_[pos_++] - '0');
            unicode::append_utf8(out, v);
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    emit(Tok::String, out, start);
  }

  std::string src_;
  size_t pos_ = 0;
  bool line_starting_ = true;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;
};

// \r\n and \r become \n; one trailing newline goes.
std::string normalize(std::string_view source) {
  std::string s;
  s.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      s += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      s += source[i];
    }
  }
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace

std::vector<Token> tokenize(std::string_view source) { return Lexer(normalize(source)).run(); }

}  // namespace llmkit::jinja
