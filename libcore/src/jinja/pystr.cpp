#include "jinja/pystr.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <unordered_map>

#include "llmkit/unicode.h"

namespace llmkit::jinja::py {
namespace {

using unicode::append_utf8;
using unicode::decode_utf8;

uint32_t at(std::string_view s, size_t pos, size_t* len) { return decode_utf8(s, pos, len); }

// Start of the code point that ends at `end` (exclusive).
size_t prev_start(std::string_view s, size_t end) {
  size_t p = end - 1;
  while (p > 0 && end - p < 4 && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80) --p;
  return p;
}

// Python's str.upper for one code point: the inverse of the simple lowercase table, built once.
uint32_t to_upper(uint32_t cp) {
  if (cp < 128) return cp >= 'a' && cp <= 'z' ? cp - 32 : cp;
  static const std::unordered_map<uint32_t, uint32_t>* table = [] {
    auto* m = new std::unordered_map<uint32_t, uint32_t>();
    for (uint32_t c = 0x80; c < 0x20000; ++c) {
      const uint32_t l = unicode::to_lower(c);
      if (l != c) m->emplace(l, c);  // the first (lowest) upper form wins, as for 'k' and KELVIN SIGN
    }
    return m;
  }();
  auto it = table->find(cp);
  return it == table->end() ? cp : it->second;
}

bool in_chars(uint32_t cp, const std::string* chars) {
  if (!chars) return isspace(cp);
  size_t n = 0;
  for (size_t i = 0; i < chars->size(); i += n)
    if (at(*chars, i, &n) == cp) return true;
  return false;
}

bool printable(uint32_t cp) {
  if (cp == ' ') return true;
  return !(unicode::flags(cp) & (unicode::kControl | unicode::kUndefined | unicode::kSeparator));
}

void hex_escape(std::string& out, uint32_t cp) {
  char buf[12];
  if (cp < 0x100) std::snprintf(buf, sizeof buf, "\\x%02x", cp);
  else if (cp < 0x10000) std::snprintf(buf, sizeof buf, "\\u%04x", cp);
  else std::snprintf(buf, sizeof buf, "\\U%08x", cp);
  out += buf;
}

}  // namespace

bool isspace(uint32_t cp) { return (cp >= 0x1C && cp <= 0x1F) || unicode::is_whitespace(cp); }

size_t leading_space(std::string_view s) {
  size_t i = 0, n = 0;
  while (i < s.size() && isspace(at(s, i, &n))) i += n;
  return i;
}

size_t trailing_space(std::string_view s) {
  size_t end = s.size(), n = 0;
  while (end > 0) {
    const size_t p = prev_start(s, end);
    if (!isspace(at(s, p, &n)) || p + n != end) break;
    end = p;
  }
  return s.size() - end;
}

std::string strip(std::string_view s, const std::string* chars, bool left, bool right) {
  size_t b = 0, e = s.size(), n = 0;
  if (left)
    while (b < e && in_chars(at(s, b, &n), chars)) b += n;
  if (right)
    while (e > b) {
      const size_t p = prev_start(s, e);
      if (p < b || !in_chars(at(s, p, &n), chars) || p + n != e) break;
      e = p;
    }
  return std::string(s.substr(b, e - b));
}

std::string upper(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t n = 0;
  for (size_t i = 0; i < s.size(); i += n) {
    const uint32_t cp = at(s, i, &n);
    if (cp == 0xDF) out += "SS";  // the one full (one-to-many) uppercase mapping text commonly meets
    else append_utf8(out, to_upper(cp));
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t n = 0;
  for (size_t i = 0; i < s.size(); i += n) {
    const uint32_t cp = at(s, i, &n);
    append_utf8(out, cp < 128 ? (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp) : unicode::to_lower(cp));
  }
  return out;
}

std::string capitalize(std::string_view s) {
  if (s.empty()) return "";
  size_t n = 0;
  at(s, 0, &n);
  return upper(s.substr(0, n)) + lower(s.substr(n));
}

std::string title(std::string_view s) {
  std::string out;
  bool prev_cased = false;
  size_t n = 0;
  for (size_t i = 0; i < s.size(); i += n) {
    const uint32_t cp = at(s, i, &n);
    const bool letter = unicode::is_letter(cp);
    const std::string one(s.substr(i, n));
    out += letter ? (prev_cased ? lower(one) : upper(one)) : one;
    prev_cased = letter;
  }
  return out;
}

size_t length(std::string_view s) {
  size_t count = 0, n = 0;
  for (size_t i = 0; i < s.size(); i += n, ++count) at(s, i, &n);
  return count;
}

std::vector<std::string> chars(std::string_view s) {
  std::vector<std::string> out;
  size_t n = 0;
  for (size_t i = 0; i < s.size(); i += n) {
    at(s, i, &n);
    out.emplace_back(s.substr(i, n));
  }
  return out;
}

std::vector<size_t> offsets(std::string_view s) {
  std::vector<size_t> out;
  out.reserve(s.size() + 1);
  size_t n = 0;
  for (size_t i = 0; i < s.size(); i += n) {
    out.push_back(i);
    at(s, i, &n);
  }
  out.push_back(s.size());
  return out;
}

std::vector<std::string> split(std::string_view s, const std::string* sep, int64_t maxsplit, bool from_right) {
  std::vector<std::string> out;
  if (sep) {
    if (sep->empty()) return {};  // the caller reports "empty separator"
    if (!from_right) {
      size_t start = 0;
      while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
        const size_t p = s.find(*sep, start);
        if (p == std::string_view::npos) break;
        out.emplace_back(s.substr(start, p - start));
        start = p + sep->size();
      }
      out.emplace_back(s.substr(start));
    } else {
      size_t end = s.size();
      std::vector<std::string> rev;
      while (maxsplit < 0 || static_cast<int64_t>(rev.size()) < maxsplit) {
        if (end < sep->size()) break;
        const size_t p = s.rfind(*sep, end - sep->size());
        if (p == std::string_view::npos) break;
        rev.emplace_back(s.substr(p + sep->size(), end - p - sep->size()));
        end = p;
      }
      rev.emplace_back(s.substr(0, end));
      out.assign(rev.rbegin(), rev.rend());
    }
    return out;
  }
  // Runs of whitespace; no empty strings; the remainder after maxsplit keeps its inner spaces.
  std::vector<std::pair<size_t, size_t>> words;
  size_t n = 0, i = 0;
  while (i < s.size()) {
    while (i < s.size() && isspace(at(s, i, &n))) i += n;
    if (i >= s.size()) break;
    const size_t b = i;
    while (i < s.size() && !isspace(at(s, i, &n))) i += n;
    words.emplace_back(b, i);
  }
  if (maxsplit < 0 || static_cast<int64_t>(words.size()) <= maxsplit) {
    for (auto [b, e] : words) out.emplace_back(s.substr(b, e - b));
    return out;
  }
  if (!from_right) {
    for (int64_t k = 0; k < maxsplit; ++k) out.emplace_back(s.substr(words[k].first, words[k].second - words[k].first));
    out.emplace_back(s.substr(words[maxsplit].first));  // the rest keeps its trailing spaces
  } else {
    const size_t keep = words.size() - maxsplit;
    out.emplace_back(s.substr(0, words[keep - 1].second));
    for (size_t k = keep; k < words.size(); ++k) out.emplace_back(s.substr(words[k].first, words[k].second - words[k].first));
  }
  return out;
}

std::string replace(std::string_view s, std::string_view old, std::string_view with, int64_t count) {
  std::string out;
  if (old.empty()) {  // Python inserts `with` between code points and at both ends
    int64_t done = 0;
    size_t n = 0;
    for (size_t i = 0; i <= s.size(); i += n) {
      if (count < 0 || done < count) out += with, ++done;
      if (i == s.size()) break;
      at(s, i, &n);
      out += s.substr(i, n);
    }
    return out;
  }
  size_t start = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    const size_t p = s.find(old, start);
    if (p == std::string_view::npos) break;
    out += s.substr(start, p - start);
    out += with;
    start = p + old.size();
    ++done;
  }
  out += s.substr(start);
  return out;
}

std::string repr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  size_t n = 0;
  for (size_t i = 0; i < s.size(); i += n) {
    const uint32_t cp = at(s, i, &n);
    if (cp == static_cast<uint32_t>(quote) || cp == '\\') out += '\\', out += static_cast<char>(cp);
    else if (cp == '\n') out += "\\n";
    else if (cp == '\r') out += "\\r";
    else if (cp == '\t') out += "\\t";
    else if (!printable(cp) || (cp == unicode::kReplacement && n == 1 && static_cast<unsigned char>(s[i]) != 0xEF))
      hex_escape(out, cp);
    else out += s.substr(i, n);
  }
  out += quote;
  return out;
}

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  // The shortest digits that round-trip, placed as Python's repr places them: positional for
  // exponents -4..15, else d.ddde+XX.
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, r.ptr);
  const size_t e = sci.find('e');
  std::string mant = sci.substr(0, e);
  const int exp = std::stoi(sci.substr(e + 1));
  const bool neg = mant[0] == '-';
  if (neg) mant.erase(0, 1);
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  std::string out = neg ? "-" : "";
  if (exp < -4 || exp >= 16) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    return out + eb;
  }
  if (exp < 0) return out + "0." + std::string(-exp - 1, '0') + digits;
  if (static_cast<int>(digits.size()) <= exp + 1) return out + digits + std::string(exp + 1 - digits.size(), '0') + ".0";
  return out + digits.substr(0, exp + 1) + "." + digits.substr(exp + 1);
}

std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (u < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string escape_html(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace llmkit::jinja::py
