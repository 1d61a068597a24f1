// libFuzzer: any bytes as a JSON schema (users pass them with -j, --json-schema-file or a record's
// "json_schema"), converted to a grammar; a conversion that succeeds must give a grammar that
// parses, whose matcher then follows a fixed text and computes the tokens a small vocabulary
// allows, and whose distance to an end is defined. A crash, hang, leak or sanitizer report is a
// bug; Error("bad_schema") is the expected outcome for most inputs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "llmkit/error.h"
#include "llmkit/grammar.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  static const llmkit::TokenTrie trie({"{", "}", "\"", " ", "1", "-", "[", "]", ",", ":", "a", "true", "null", "\xC3", "\xA9", ""});
  std::string gbnf;
  try {
    gbnf = llmkit::json_schema_to_gbnf(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const llmkit::Error&) {
    return 0;
  }
  // The converter checked that its grammar parses; a failure here is a converter bug.
  const llmkit::Grammar g = llmkit::parse_gbnf(gbnf);
  llmkit::GrammarMatcher m(g);
  std::vector<uint8_t> mask;
  for (const char* piece : {"{", "\"", "a", "\"", ":", "1", "}"}) {
    if (m.stacks().size() > 256) break;
    m.allowed_tokens(trie, mask);
    m.allowed_tokens(trie, mask, 4);
    (void)m.distance();
    if (!m.accept_bytes(piece)) break;
  }
  return 0;
}
