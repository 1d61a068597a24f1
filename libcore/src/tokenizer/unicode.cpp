#include "llmkit/unicode.h"

#include <algorithm>

namespace llmkit::unicode {
namespace {

struct FlagRange {
  uint32_t first;
  uint16_t flags;
};
struct CodepointPair {
  uint32_t from, to;
};
struct NfdRange {
  uint32_t first, last, nfd;
};

#include "unicode_tables.inc"

}  // namespace

uint16_t flags_slow(uint32_t cp) {
  if (cp > 0x10FFFF) return kUndefined;
  auto it = std::upper_bound(std::begin(kFlagRanges), std::end(kFlagRanges), cp,
                             [](uint32_t c, const FlagRange& r) { return c < r.first; });
  return (it - 1)->flags;
}

// The Basic Multilingual Plane, where nearly all text lives, in a direct table (128 KiB).
uint16_t flags(uint32_t cp) {
  static const std::vector<uint16_t> bmp = [] {
    std::vector<uint16_t> t(0x10000);
    for (uint32_t c = 0; c < 0x10000; ++c) t[c] = flags_slow(c);
    return t;
  }();
  return cp < 0x10000 ? bmp[cp] : flags_slow(cp);
}

uint32_t to_lower(uint32_t cp) {
  if (cp < 0x80) return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
  auto it = std::lower_bound(std::begin(kLowercase), std::end(kLowercase), cp,
                             [](const CodepointPair& p, uint32_t c) { return p.from < c; });
  return it != std::end(kLowercase) && it->from == cp ? it->to : cp;
}

uint32_t nfd_first(uint32_t cp) {
  if (cp < 0xC0) return cp;
  auto it = std::upper_bound(std::begin(kNfdFirst), std::end(kNfdFirst), cp,
                             [](uint32_t c, const NfdRange& r) { return c < r.first; });
  if (it == std::begin(kNfdFirst)) return cp;
  --it;
  return cp <= it->last ? it->nfd : cp;
}

uint32_t decode_utf8(std::string_view s, size_t pos, size_t* len) {
  const auto b0 = static_cast<unsigned char>(s[pos]);
  *len = 1;
  if (b0 < 0x80) return b0;
  const size_t n = utf8_len(b0);
  if (n == 1 || pos + n > s.size()) return kReplacement;
  uint32_t cp = b0 & (0xFF >> (n + 1));
  for (size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[pos + k]);
    if ((b & 0xC0) != 0x80) return kReplacement;
    cp = (cp << 6) | (b & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not characters.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return kReplacement;
  *len = n;
  return cp;
}

std::vector<uint32_t> to_codepoints(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n;
    out.push_back(decode_utf8(s, i, &n));
    i += n;
  }
  return out;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string to_utf8(uint32_t cp) {
  std::string s;
  append_utf8(s, cp);
  return s;
}

}  // namespace llmkit::unicode
