// GBNF grammars: parsing (and its errors, with line:col), and the matcher following text through
// them, a code point split across calls included.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "llmkit/error.h"
#include "llmkit/grammar.h"

using namespace llmkit;

namespace {

// Whether the whole text is a sentence of the grammar, fed in pieces of `piece` bytes.
bool sentence(const Grammar& g, const std::string& text, size_t piece = 1000) {
  GrammarMatcher m(g);
  for (size_t i = 0; i < text.size(); i += piece)
    if (!m.accept_bytes(std::string_view(text).substr(i, piece))) return false;
  return m.can_end();
}
// Whether the text can begin a sentence.
bool prefix(const Grammar& g, const std::string& text) { return GrammarMatcher(g).can_accept(text); }

std::string error_of(const std::string& text) {
  try {
    parse_gbnf(text);
  } catch (const Error& e) {
    CHECK(e.code() == "bad_grammar");
    return e.what();
  }
  return "(parsed)";
}

// A JSON grammar written for this test.
const char* kJson = R"(# JSON values
root   ::= ws value ws
value  ::= object | array | string | number | "true" | "false" | "null"
object ::= "{" ws ( member ( ws "," ws member )* )? ws "}"
member ::= string ws ":" ws value
array  ::= "[" ws ( value ( ws "," ws value )* )? ws "]"
string ::= "\"" (
    [^"\\\x00-\x1f] |
    "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} )   # escapes
  )* "\""
number ::= "-"? ( "0" | [1-9] [0-9]* ) ( "." [0-9]+ )? ( [eE] [-+]? [0-9]+ )?
ws     ::= [ \t\n]*
)";

}  // namespace

TEST_CASE("GBNF: literals, classes, repetitions and groups", "[grammar]") {
  const Grammar g = parse_gbnf("root ::= \"a\" [b-d]+ \"e\"?\n");
  CHECK(sentence(g, "abce"));
  CHECK(sentence(g, "ab"));
  CHECK(sentence(g, "adddb"));
  CHECK_FALSE(sentence(g, "ae"));
  CHECK_FALSE(sentence(g, "abx"));
  CHECK_FALSE(sentence(g, "a"));  // a prefix, not a sentence
  CHECK(prefix(g, "a"));

  const Grammar counts = parse_gbnf("root ::= [0-9]{2,3} \"-\" \"ab\"{2} [x]{1,}");
  CHECK(sentence(counts, "12-ababx"));
  CHECK(sentence(counts, "123-ababxxx"));
  CHECK_FALSE(sentence(counts, "1-ababx"));
  CHECK_FALSE(sentence(counts, "1234-ababx"));
  CHECK_FALSE(sentence(counts, "12-abx"));  // the literal repeats whole

  const Grammar neg = parse_gbnf("root ::= \"\\\"\" [^\"]* \"\\\"\" .");
  CHECK(sentence(neg, "\"it's\"!"));
  CHECK_FALSE(sentence(neg, "\"a\"b\""));

  const Grammar alt = parse_gbnf("root ::= ( \"yes\" | \"no\" )\n  # a comment\n");
  CHECK(sentence(alt, "yes"));
  CHECK(sentence(alt, "no"));
  CHECK_FALSE(sentence(alt, "yesno"));

  // A rule continues after `|` on the next line; escapes in literals and classes.
  const Grammar multi = parse_gbnf("root ::= \"a\" |\n  \"\\x41\" | [\\u00e9\\n]\n");
  CHECK(sentence(multi, "A"));
  CHECK(sentence(multi, "\xC3\xA9"));
  CHECK(sentence(multi, "\n"));
}

TEST_CASE("GBNF: JSON, fed whole and a byte at a time", "[grammar]") {
  const Grammar g = parse_gbnf(kJson);
  for (const std::string ok : {"{}", "[1, -2.5e3, true, null]", "{\"a\": [1, 2, {\"b\": \"x\\n\\u00e9\"}]}",
                               " \"caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80\" "}) {
    INFO(ok);
    CHECK(sentence(g, ok));
    CHECK(sentence(g, ok, 1));  // every multi-byte character split across calls
  }
  for (const std::string bad : {"{", "[1,]", "{\"a\" 1}", "01", "\"a\x01\"", "tru", "[1] x"}) {
    INFO(bad);
    CHECK_FALSE(sentence(g, bad));
  }
  // Broken UTF-8 is refused, an unfinished character where the grammar allows one is not.
  CHECK_FALSE(prefix(g, "\"\xC3("));
  CHECK_FALSE(prefix(g, "\"\xFF"));
  CHECK(prefix(g, "\"\xE6\x97"));
  CHECK_FALSE(prefix(g, "\xE6\x97"));  // no value begins with a CJK character
  CHECK_FALSE(prefix(g, "7\xE0"));     // E0 begins only U+0800 and above, never a digit
  CHECK_FALSE(prefix(g, "\"\xE0\x80"));  // an overlong form is no character at all
  GrammarMatcher m(g);
  CHECK(m.accept_bytes("{\"k\": 1"));
  CHECK_FALSE(m.accept_bytes("]"));  // refused, and the state kept
  CHECK(m.accept_bytes("}"));
  CHECK(m.can_end());
}

TEST_CASE("GBNF: errors name the line, the column and what was expected", "[grammar]") {
  CHECK(error_of("root ::= foo\n") == "line 1:10: undefined rule 'foo'");
  CHECK(error_of("root ::= \"a\"\nx := \"b\"\n") == "line 2:3: expected '::=' after 'x', found ':'");
  CHECK(error_of("root ::= \"abc\n") == "line 1:10: unterminated string literal");
  CHECK(error_of("root ::= [a-z\n") == "line 1:10: unterminated character class");
  CHECK(error_of("root ::= ( \"a\" \n") == "line 2:1: expected ')' to close the group, found the end of the grammar");
  CHECK(error_of("root ::= * \"a\"") == "line 1:10: expected an item before '*'");
  CHECK(error_of("root ::= \"a\"{3,1}") == "line 1:13: a repetition whose maximum is below its minimum");
  CHECK(error_of("root ::= \"a\"{99999}") == "line 1:14: a repetition count above 10000");
  CHECK(error_of("root ::= \"\\q\"") == "line 1:11: unknown escape '\\q'");
  CHECK(error_of("root ::= [z-a]") == "line 1:11: a character range whose end is below its start");
  CHECK(error_of("root ::= \"a\"\nroot ::= \"b\"") == "line 2:1: rule 'root' is defined twice");
  CHECK(error_of("item ::= \"a\"") == "line 1:13: the grammar has no rule 'root'");
  CHECK(error_of("root ::= root \"a\"") == "line 1:1: rule 'root' can recurse without reading any text (left recursion)");
  CHECK(error_of("root ::= x\nx ::= (\"\")* root") ==
        "line 2:1: rule 'x' can recurse without reading any text (left recursion)");
  CHECK(error_of("root ::= \"a\" )") ==
        "line 1:14: expected a string, a character class, a rule name, '(' or the end of the rule, found ')'");
  CHECK(error_of("") == "line 1:1: the grammar has no rule 'root'");
  // Groups repeat by reference; a literal's characters are copied: 200 x 9,000 is too many.
  CHECK(error_of("root ::= (\"abcdefghij\"{9000}){9000}") == "(parsed)");
  CHECK(error_of("root ::= \"" + std::string(200, 'a') + "\"{9000}") ==
        "line 1:212: the grammar's repetitions expand to more than 1048576 symbols");
}

TEST_CASE("GBNF: llama.cpp's grammars parse (LLMKIT_GBNF_DIR)", "[grammar]") {
  const char* dir = std::getenv("LLMKIT_GBNF_DIR");
  if (!dir || !std::filesystem::is_directory(dir)) {
    WARN("LLMKIT_GBNF_DIR is not set to llama.cpp's grammars/ folder: skipped");
    return;
  }
  // A sentence of each, which it must take whole, and a text it must refuse.
  const std::map<std::string, std::pair<std::string, std::string>> samples = {
      {"json.gbnf", {"{\"a\": [1, 2.5e3, \"x\\n\"], \"b\": {\"c\": null}}", "{\"a\": [1,]}"}},
      {"json_arr.gbnf", {"[\n{\"a\": 1},\n\"b\"]", "[1"}},
      {"list.gbnf", {"- eggs\n- milk\n", "* eggs\n"}},
      {"arithmetic.gbnf", {"a+b = (c*2)\n", "x = + 1\n"}},
      {"chess.gbnf", {"1. e4 e5\n2. Nf3 Nc6\n", "1. e9 e5\n"}},
      {"english.gbnf", {"Hello, world!", "Héllo"}},
      {"japanese.gbnf", {"こんにちは 世界", "hello"}},
      {"c.gbnf", {"int main(){return 0;}", "int main({"}},
  };
  int parsed = 0;
  const std::vector<std::string> pieces = {"a", "1", " ", "\n", "-", "{", "\"", "\xE3", "\x81", "\x93", "int", "e4", "=", "("};
  const TokenTrie trie(pieces);
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".gbnf") continue;
    std::ifstream in(e.path());
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string name = e.path().filename().string();
    INFO(name);
    Grammar g;
    REQUIRE_NOTHROW(g = parse_gbnf(ss.str()));
    ++parsed;
    auto it = samples.find(name);
    if (it == samples.end()) continue;
    CHECK(sentence(g, it->second.first));
    CHECK(sentence(g, it->second.first, 1));  // byte by byte
    CHECK_FALSE(sentence(g, it->second.second));
    // Constraining: at every point of the sentence some token of a small vocabulary is allowed
    // or the text is complete, and the masks agree with the tokens checked one by one.
    GrammarMatcher m(g);
    for (char c : it->second.first) {
      std::vector<uint8_t> mask;
      m.allowed_tokens(trie, mask);
      for (size_t id = 0; id < trie.n_tokens(); ++id) CHECK(bool(mask[id]) == m.can_accept(pieces[id]));
      REQUIRE(m.accept_bytes(std::string(1, c)));
    }
    CHECK(m.can_end());
  }
  CHECK(parsed >= 8);
}

TEST_CASE("GBNF: the tokens a state allows, by trie, equal those allowed one by one", "[grammar]") {
  const Grammar g = parse_gbnf(kJson);
  // Pieces as a byte-level vocabulary has them: single bytes (halves of UTF-8 characters among
  // them), words, JSON punctuation, multi-byte characters, and an empty (control) token.
  std::vector<std::string> pieces = {"", "{", "}", "[", "]", "\"", ",", ":", " ", "\n", "true", "tru", "null", "0",
                                     "12", "-", "1.5", "e", "\\", "\\n", "\\u00", "a", "ab", " \"", "\":", "\"}",
                                     "\xC3", "\xA9", "\xC3\xA9", "\xE6\x97\xA5", "\xE6", "\x97\xA5", "\x01", "{\"",
                                     "[1", "1]", "\xFF"};
  for (int c = 32; c < 127; ++c) pieces.push_back(std::string(1, static_cast<char>(c)));
  const TokenTrie trie(pieces);
  for (const std::string state : {"", "{", "{\"", "{\"a", "{\"a\xC3", "{\"a\": ", "{\"a\": [1", "[\"\\u00", "[1, 2.",
                                  "[\"\xE6", "\"x\"", "{\"a\": 1}"}) {
    GrammarMatcher m(g);
    REQUIRE(m.accept_bytes(state));
    std::vector<uint8_t> mask;
    m.allowed_tokens(trie, mask);
    REQUIRE(mask.size() == pieces.size());
    size_t allowed = 0;
    for (size_t id = 0; id < pieces.size(); ++id) {
      INFO("state '" << state << "' token " << id << " '" << pieces[id] << "'");
      CHECK(bool(mask[id]) == (!pieces[id].empty() && m.can_accept(pieces[id])));
      allowed += mask[id];
    }
    INFO("state '" << state << "'");
    CHECK(allowed > 0);
  }
}

TEST_CASE("GBNF: a vocabulary that cannot spell what the grammar needs allows nothing", "[grammar]") {
  // (Vocabularies with byte tokens can spell any text; this is what llm-generate reports as
  // grammar_dead_end.)
  const Grammar g = parse_gbnf("root ::= \"ab\" | \"c\"");
  const TokenTrie trie({"a", "x", "", "b"});
  GrammarMatcher m(g);
  std::vector<uint8_t> mask;
  m.allowed_tokens(trie, mask);
  CHECK(mask == std::vector<uint8_t>{1, 0, 0, 0});
  REQUIRE(m.accept_bytes("a"));
  m.allowed_tokens(TokenTrie({"a", "x", "c"}), mask);
  CHECK(mask == std::vector<uint8_t>{0, 0, 0});
  CHECK_FALSE(m.can_end());
}

TEST_CASE("GBNF: distance to a complete text, and masks that keep within a budget", "[grammar]") {
  // "ab", then one or more of c/d, then é (two bytes): 5 bytes at least.
  const Grammar g = parse_gbnf("root ::= \"ab\" [cd]+ x\nx ::= \"\xC3\xA9\" | \"zzz\"");
  GrammarMatcher m(g);
  CHECK(m.distance() == 5);
  REQUIRE(m.accept_bytes("a"));
  CHECK(m.distance() == 4);
  REQUIRE(m.accept_bytes("bcc"));
  CHECK(m.distance() == 2);  // still é (2 bytes); zzz is longer
  size_t d = 0;
  REQUIRE(m.can_accept("\xC3", &d));
  CHECK(d == 1);  // half of é read: one byte to go
  REQUIRE(m.can_accept("z", &d));
  CHECK(d == 2);
  REQUIRE(m.can_accept("\xC3\xA9", &d));
  CHECK(d == 0);
  CHECK(m.distance() == 2);  // can_accept leaves the state alone
  // With one token left after this one, only the tokens that leave at most one byte to go.
  const std::vector<std::string> pieces = {"c", "\xC3", "\xC3\xA9", "z", "zz", "d\xC3\xA9"};
  const TokenTrie trie(pieces);
  std::vector<uint8_t> all, within;
  m.allowed_tokens(trie, all);
  m.allowed_tokens(trie, within, 1);
  CHECK(all == std::vector<uint8_t>{1, 1, 1, 1, 1, 1});
  CHECK(within == std::vector<uint8_t>{0, 1, 1, 0, 1, 1});
  // A rule that can never finish is never "near".
  const Grammar never = parse_gbnf("root ::= \"a\" | loop\nloop ::= \"b\" loop");
  CHECK(never.min_bytes[never.root] == 1);
  GrammarMatcher n(never);
  REQUIRE(n.accept_bytes("b"));
  CHECK(n.distance() == SIZE_MAX);
}
