// llama.cpp's tokenizer conformance files: every string of X.gguf.inp must give exactly the ids
// of the matching line of X.gguf.out (no BOS, special tokens not parsed).
#include <catch2/catch.hpp>

#include <sstream>

#include "llmkit/gguf.h"
#include "llmkit/tokenizer.h"
#include "support/fixture.h"

using namespace llmkit;

namespace {

void check_vocab(const std::string& name, const std::string& dir = "vocab") {
  const auto base = fixture::require_shared(dir + "/ggml-vocab-" + name + ".gguf");
  GgufFile f = GgufFile::open(base.string());
  Tokenizer tok(load_vocab(f));
  std::vector<uint8_t> inp = fixture::read_file(base.string() + ".inp");
  std::vector<uint8_t> outp = fixture::read_file(base.string() + ".out");
  std::string in(inp.begin(), inp.end()), expected(outp.begin(), outp.end());
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t from = 0, at; (at = in.find(sep, from)) != std::string::npos; from = at + sep.size())
    texts.push_back(in.substr(from, at - from));
  std::vector<std::string> lines;
  std::istringstream ls(expected);
  for (std::string l; std::getline(ls, l);) lines.push_back(l);
  REQUIRE(texts.size() == lines.size());
  REQUIRE(texts.size() >= 10);  // a conformance set that splits into nothing compares nothing
  int failures = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<int32_t> want;
    std::istringstream ids(lines[i]);
    for (int32_t id; ids >> id;) want.push_back(id);
    std::vector<int32_t> got = tok.encode(texts[i], false, false);
    if (got != want && failures++ < 5) {
      std::ostringstream g;
      for (auto id : got) g << ' ' << id;
      FAIL_CHECK(name << " string " << i << " [" << texts[i] << "]\n  got: " << g.str() << "\n want: " << lines[i]);
    }
  }
  CHECK(failures == 0);
}

}  // namespace

TEST_CASE("conformance: llama-spm (SentencePiece)", "[tokenizer][shared]") { check_vocab("llama-spm"); }
TEST_CASE("conformance: phi-3 (SentencePiece)", "[tokenizer][shared]") { check_vocab("phi-3"); }
TEST_CASE("conformance: gpt-2 (byte-level BPE)", "[tokenizer][shared]") { check_vocab("gpt-2"); }
TEST_CASE("conformance: bert-bge (WordPiece)", "[tokenizer][shared]") { check_vocab("bert-bge"); }
TEST_CASE("conformance: falcon (byte-level BPE, falcon pre-tokenizer)", "[tokenizer][shared]") { check_vocab("falcon"); }
TEST_CASE("conformance: deepseek-llm (byte-level BPE, deepseek-llm pre-tokenizer)", "[tokenizer][shared]") { check_vocab("deepseek-llm"); }
// Current llama.cpp's sets (vocab-current/): Llama 3.x and Qwen2/2.5/3.
TEST_CASE("conformance: llama-bpe (Llama 3, byte-level BPE)", "[tokenizer][shared]") { check_vocab("llama-bpe", "vocab-current"); }
TEST_CASE("conformance: qwen2 (Qwen2, Qwen2.5, Qwen3)", "[tokenizer][shared]") { check_vocab("qwen2", "vocab-current"); }
