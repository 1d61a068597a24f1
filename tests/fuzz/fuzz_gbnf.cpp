// libFuzzer: any bytes as a GBNF grammar (users pass them with --grammar-file), parsed under the
// parser's limits; a grammar that parses then follows a fixed text and computes the tokens a small
// vocabulary allows. A crash, hang, leak or sanitizer report is a bug; Error("bad_grammar") is the
// expected outcome for most inputs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "llmkit/error.h"
#include "llmkit/grammar.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  static const llmkit::TokenTrie trie({"a", "b", "{", "}", "\"", " ", "1", "ab", "\xC3", "\xA9", "\xC3\xA9", "x", ""});
  try {
    const llmkit::Grammar g = llmkit::parse_gbnf(std::string_view(reinterpret_cast<const char*>(data), size));
    llmkit::GrammarMatcher m(g);
    std::vector<uint8_t> mask;
    for (const char* piece : {"a", "{", "\"", "1", "\xC3", "\xA9", "b", "}"}) {
      if (m.stacks().size() > 256) break;  // a very ambiguous grammar: the parse was the test
      m.allowed_tokens(trie, mask);
      (void)m.accept_bytes(piece);
      (void)m.can_end();
    }
  } catch (const llmkit::Error&) {
  }
  return 0;
}
