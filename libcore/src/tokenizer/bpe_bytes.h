// GPT-2's reversible byte <-> printable codepoint mapping, which byte-level BPE vocabularies
// spell their tokens in: printable Latin-1 bytes map to themselves, the rest to U+0100 onwards.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include "llmkit/unicode.h"

namespace llmkit::bpe_bytes {

struct Tables {
  std::array<std::string, 256> encode;  // byte -> UTF-8 of its codepoint
  std::array<int16_t, 512> decode;      // codepoint (< 512) -> byte, -1 if none
};

inline const Tables& tables() {
  static const Tables t = [] {
    Tables t{};
    t.decode.fill(-1);
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
      const uint32_t cp = printable ? b : next++;
      t.encode[b] = unicode::to_utf8(cp);
      t.decode[cp] = static_cast<int16_t>(b);
    }
    return t;
  }();
  return t;
}

// The byte a codepoint stands for, or -1 when it is not part of the mapping.
inline int to_byte(uint32_t cp) { return cp < 512 ? tables().decode[cp] : -1; }

}  // namespace llmkit::bpe_bytes
