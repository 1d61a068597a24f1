// Unicode facts the tokenizers need: UTF-8 decoding that never fails, general-category flags,
// simple lowercasing, and the base character of a canonical decomposition. Tables are generated
// (scripts/gen_unicode_tables.py); lookups are binary searches, no allocation.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llmkit::unicode {

enum Flag : uint16_t {
  kUndefined = 1,     // Cn
  kNumber = 2,        // N*
  kLetter = 4,        // L*
  kSeparator = 8,     // Z*
  kAccentMark = 16,   // M*
  kPunctuation = 32,  // P*
  kSymbol = 64,       // S*
  kControl = 128,     // Cc, Cf, Cs, Co
  kWhitespace = 256,  // the White_Space property
};

uint16_t flags(uint32_t cp);
inline bool is_whitespace(uint32_t cp) { return flags(cp) & kWhitespace; }
inline bool is_letter(uint32_t cp) { return flags(cp) & kLetter; }
inline bool is_number(uint32_t cp) { return flags(cp) & kNumber; }
uint32_t to_lower(uint32_t cp);
// First codepoint of the canonical decomposition: 'é' -> 'e', a Hangul syllable -> its lead jamo.
uint32_t nfd_first(uint32_t cp);

constexpr uint32_t kReplacement = 0xFFFD;

// Length of the UTF-8 sequence a lead byte announces (1 for continuation or invalid bytes).
inline size_t utf8_len(unsigned char lead) {
  static const uint8_t lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return lookup[lead >> 4];
}
// Decodes the codepoint at s[pos]; an invalid or truncated sequence yields U+FFFD for one byte.
uint32_t decode_utf8(std::string_view s, size_t pos, size_t* len);
std::vector<uint32_t> to_codepoints(std::string_view s);
void append_utf8(std::string& out, uint32_t cp);
std::string to_utf8(uint32_t cp);

}  // namespace llmkit::unicode
