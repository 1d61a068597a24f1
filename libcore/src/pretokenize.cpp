// Pre-tokenizers of byte-level BPE vocabularies: the regular expressions llama.cpp applies
// before merging, written as direct scanners over codepoints (linear time, no regex engine).
#include <string>
#include <vector>

#include "llmkit/error.h"
#include "llmkit/tokenizer.h"
#include "llmkit/unicode.h"

namespace llmkit {
namespace {

namespace u = unicode;

// GPT-2's pattern: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// Returns the end offsets (in codepoints) of each word.
std::vector<size_t> split_gpt2(const std::vector<uint32_t>& cp) {
  std::vector<size_t> ends;
  const size_t n = cp.size();
  auto fl = [&](size_t i) -> uint16_t { return i < n ? u::flags(cp[i]) : 0; };
  auto other = [](uint16_t f) { return f && !(f & (u::kWhitespace | u::kLetter | u::kNumber)); };
  size_t pos = 0;
  while (pos < n) {
    const uint32_t c = cp[pos];
    if (c == '\'' && pos + 1 < n) {
      const uint32_t c1 = cp[pos + 1];
      if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
        ends.push_back(pos += 2);
        continue;
      }
      if (pos + 2 < n) {
        const uint32_t c2 = cp[pos + 2];
        if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
          ends.push_back(pos += 3);
          continue;
        }
      }
    }
    // " ?X+": an ASCII space joins the run of letters, digits or other symbols after it.
    const uint16_t f2 = c == ' ' ? fl(pos + 1) : fl(pos);
    if (f2 & u::kLetter) {
      pos += c == ' ';
      while (fl(pos) & u::kLetter) ++pos;
      ends.push_back(pos);
      continue;
    }
    if (f2 & u::kNumber) {
      pos += c == ' ';
      while (fl(pos) & u::kNumber) ++pos;
      ends.push_back(pos);
      continue;
    }
    if (other(f2)) {
      pos += c == ' ';
      while (other(fl(pos))) ++pos;
      ends.push_back(pos);
      continue;
    }
    size_t ws = 0;
    while (fl(pos + ws) & u::kWhitespace) ++ws;
    if (ws > 1 && pos + ws < n) {  // \s+(?!\S): leave the last space to the word after it
      ends.push_back(pos += ws - 1);
      continue;
    }
    if (ws > 0) {
      ends.push_back(pos += ws);
      continue;
    }
    ends.push_back(++pos);
  }
  return ends;
}

// GPT-2's reversible byte -> printable codepoint mapping, applied to each word's UTF-8 bytes.
const std::array<std::string, 256>& byte_encoding() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
      t[b] = u::to_utf8(printable ? b : next++);
    }
    return t;
  }();
  return table;
}

bool is_gpt2_family(std::string_view pre) {
  for (const char* name : {"gpt-2", "phi-2", "roberta-bpe", "jina-es", "jina-de", "jina-v1-en", "jina-v2-es",
                           "jina-v2-de", "jina-v2-code", "gigachat"})
    if (pre == name) return true;
  return false;
}

}  // namespace

bool bpe_pretokenizer_known(std::string_view pre) { return is_gpt2_family(pre); }

std::vector<std::string> bpe_pretokenize(std::string_view pre, std::string_view text) {
  if (!is_gpt2_family(pre)) throw Error("unsupported_tokenizer", "pre-tokenizer '" + std::string(pre) + "' is not supported yet");
  const std::vector<uint32_t> cp = u::to_codepoints(text);
  const auto& enc = byte_encoding();
  std::vector<std::string> words;
  size_t start = 0;
  std::string utf8;
  for (size_t end : split_gpt2(cp)) {
    std::string w;
    for (size_t i = start; i < end; ++i) {
      utf8.clear();
      u::append_utf8(utf8, cp[i]);
      for (unsigned char b : utf8) w += enc[b];
    }
    words.push_back(std::move(w));
    start = end;
  }
  return words;
}

}  // namespace llmkit
