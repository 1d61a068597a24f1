// Tokenizers beyond the conformance files: validation at load time, invalid UTF-8, long runs,
// special tokens, and decode(encode(text)) == text where the tokenizer allows it.
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>

#include "llmkit/error.h"
#include "llmkit/gguf.h"
#include "llmkit/gguf_writer.h"
#include "llmkit/tokenizer.h"
#include "llmkit/unicode.h"
#include "support/fixture.h"

using namespace llmkit;

namespace {

Tokenizer shared_tokenizer(const std::string& name) {
  GgufFile f = GgufFile::open(fixture::require_shared("vocab/ggml-vocab-" + name + ".gguf").string());
  return Tokenizer(load_vocab(f));
}

// A tiny vocabulary written with our own writer, with one key overridden to break it.
std::string tiny_vocab(const std::string& model, const std::function<void(GgufWriter&)>& tweak) {
  GgufWriter w;
  w.set("general.architecture", GgufValue("llama"));
  w.set("tokenizer.ggml.model", GgufValue(model));
  w.set("tokenizer.ggml.tokens", GgufValue(GgufArray::of(std::vector<std::string>{"<unk>", "<s>", "</s>", "<0x41>", "a", "b", "ab"})));
  w.set("tokenizer.ggml.token_type", GgufValue(GgufArray::of(std::vector<int32_t>{2, 3, 3, 6, 1, 1, 1})));
  w.set("tokenizer.ggml.scores", GgufValue(GgufArray::of(std::vector<float>{0, 0, 0, 0, -1, -1, -0.5f})));
  if (model == "gpt2") {
    w.set("tokenizer.ggml.pre", GgufValue("gpt-2"));
    w.set("tokenizer.ggml.merges", GgufValue(GgufArray::of(std::vector<std::string>{"a b"})));
  }
  tweak(w);
  std::string path = (fixture::temp_dir() / "v.gguf").string();
  w.write(path);
  return path;
}

std::string load_error(const std::string& path) {
  try {
    load_vocab(GgufFile::open(path));
  } catch (const Error& e) {
    return e.what();
  }
  return "(loaded)";
}

}  // namespace

TEST_CASE("vocabularies are validated when loaded", "[tokenizer]") {
  auto noop = [](GgufWriter&) {};
  CHECK(load_error(tiny_vocab("llama", noop)) == "(loaded)");
  CHECK(load_error(tiny_vocab("gpt2", noop)) == "(loaded)");
  CHECK_THAT(load_error(tiny_vocab("llama", [](GgufWriter& w) {
               w.set("tokenizer.ggml.tokens", GgufValue(GgufArray::of(std::vector<std::string>{"<unk>", "<s>", "</s>", "<0xZZ>", "a", "b", "ab"})));
             })),
             Catch::Contains("'<0xZZ>' is marked as a byte token"));
  CHECK_THAT(load_error(tiny_vocab("llama", [](GgufWriter& w) {
               w.set("tokenizer.ggml.tokens", GgufValue(GgufArray::of(std::vector<std::string>{"<unk>", "<s>", "</s>", "<0x-1>", "a", "b", "ab"})));
             })),
             Catch::Contains("is marked as a byte token"));
  CHECK_THAT(load_error(tiny_vocab("llama", [](GgufWriter& w) { w.set("tokenizer.ggml.bos_token_id", GgufValue(uint32_t(99))); })),
             Catch::Contains("bos_token_id = 99 is not a token id"));
  CHECK_THAT(load_error(tiny_vocab("gpt2", [](GgufWriter& w) {
               w.set("tokenizer.ggml.merges", GgufValue(GgufArray::of(std::vector<std::string>{"a zz"})));
             })),
             Catch::Contains("names a token the vocabulary lacks"));
  CHECK_THAT(load_error(tiny_vocab("gpt2", [](GgufWriter& w) { w.set("tokenizer.ggml.pre", GgufValue("no-such-pre")); })),
             Catch::Contains("pre-tokenizer 'no-such-pre'"));
  CHECK_THAT(load_error(tiny_vocab("rwkv7", noop)), Catch::Contains("'rwkv7' is not supported"));
  CHECK_THAT(load_error(tiny_vocab("llama", [](GgufWriter& w) {
               w.set("tokenizer.ggml.scores", GgufValue(GgufArray::of(std::vector<float>{0})));
             })),
             Catch::Contains("scores has 1 entries for 7 tokens"));
  CHECK_THAT(load_error(tiny_vocab("llama", [](GgufWriter& w) {
               w.set("tokenizer.ggml.token_type", GgufValue(GgufArray::of(std::vector<int32_t>{2, 3, 3, 6, 1, 9, 1})));
             })),
             Catch::Contains("unknown type 9"));
}

TEST_CASE("SentencePiece merges by score and falls back to bytes", "[tokenizer]") {
  Tokenizer t(load_vocab(GgufFile::open(tiny_vocab("llama", [](GgufWriter& w) {
    w.set("tokenizer.ggml.add_space_prefix", GgufValue(false));
  }))));
  CHECK(t.encode("ab", false) == std::vector<int32_t>{6});
  CHECK(t.encode("aab", true) == std::vector<int32_t>{1, 4, 6});
  CHECK(t.encode("A", false) == std::vector<int32_t>{3});  // byte fallback <0x41>
  CHECK(t.encode("ab<s>", false, true) == std::vector<int32_t>{6, 1});
  CHECK(t.encode("ab<s>", false, false).back() != 1);
  CHECK(t.decode({1, 6, 3}) == "abA");
}

TEST_CASE("invalid UTF-8 never crashes and is handled as llama.cpp does", "[tokenizer][shared]") {
  const std::string bad = std::string("ok \xFF\xFE broken \xE2\x82 end \xC0\xAF") + std::string(1, '\0') + "x";
  for (const char* name : {"llama-spm", "gpt-2", "bert-bge", "phi-3"}) {
    INFO(name);
    Tokenizer t = shared_tokenizer(name);
    std::vector<int32_t> ids = t.encode(bad, false);
    CHECK(!ids.empty());
    for (int32_t id : ids) CHECK((id >= 0 && static_cast<size_t>(id) < t.vocab().size()));
  }
  // SentencePiece keeps raw bytes: an invalid byte becomes its byte token.
  Tokenizer spm = shared_tokenizer("llama-spm");
  CHECK(spm.encode("\xFF", false) == std::vector<int32_t>{29871, spm.vocab().byte_token[0xFF]});
  CHECK(spm.decode(spm.encode("a\xFFz", false)) == "a\xFFz");
  // Byte-level BPE sees U+FFFD for each invalid byte, as llama.cpp's UTF-8 decoder does.
  Tokenizer bpe = shared_tokenizer("gpt-2");
  CHECK(bpe.decode(bpe.encode("a\xFFz", false)) == "a\xEF\xBF\xBDz");
}

TEST_CASE("pre-tokenizers stay linear on long runs followed by any character", "[tokenizer]") {
  // Backtracking patterns such as deepseek's \s+$ would be quadratic here without care.
  const char* tails[] = {"x", "9", "\xE4\xB8\xAD", "!", "\xC2\xA0" "a", "\n", ""};
  for (const char* pre : {"deepseek-llm", "deepseek-coder", "deepseek-v3", "falcon", "llama3", "qwen2", "default", "smollm",
                          "poro-chat", "gpt-2", "tekken", "gpt-4o", "chameleon"})
    for (char c : {' ', 'a', '9', '\n', '!'})
      for (const char* tail : tails) {
        INFO(pre << " run of " << int(c) << " then [" << tail << "]");
        std::string s(1 << 16, c);  // quadratic behaviour would take minutes at this size
        s += tail;
        size_t total = 0;
        for (const auto& w : bpe_pretokenize(pre, s)) total += w.size();
        CHECK(total >= s.size());  // every byte lands in some word (byte-encoded: 1-2 bytes each)
      }
}

TEST_CASE("a 1 MB run of one character tokenizes in linear time", "[tokenizer][shared]") {
  for (const char* name : {"llama-spm", "gpt-2", "bert-bge", "falcon", "deepseek-llm"}) {
    Tokenizer t = shared_tokenizer(name);
    for (char c : {'a', ' ', '9'}) {
      INFO(name << " run of '" << c << "'");
      const std::string run(1 << 20, c);
      std::vector<int32_t> ids = t.encode(run, false);
      CHECK(ids.empty() == (c == ' ' && t.vocab().kind == TokenizerKind::WordPiece));  // BERT drops whitespace
      if (c != ' ' || t.vocab().kind != TokenizerKind::WordPiece) CHECK(t.decode(ids).size() >= run.size() - 1);
    }
  }
}

TEST_CASE("special tokens: BOS/EOS, CLS/SEP, parsed control tokens", "[tokenizer][shared]") {
  Tokenizer spm = shared_tokenizer("llama-spm");
  CHECK(spm.encode("Hello", true).front() == 1);
  CHECK(spm.encode("Hello", false).front() != 1);
  CHECK(spm.encode("<s>Hello</s>", false, true) == std::vector<int32_t>{1, 15043, 2});
  Tokenizer bert = shared_tokenizer("bert-bge");
  std::vector<int32_t> ids = bert.encode("Hello world", true);
  CHECK(ids == std::vector<int32_t>{101, 7592, 2088, 102});
  Tokenizer gpt2 = shared_tokenizer("gpt-2");
  CHECK(gpt2.encode("Hello", true) == gpt2.encode("Hello", false));  // byte-level BPE adds no BOS
  CHECK(gpt2.encode("<|endoftext|>", false, true) == std::vector<int32_t>{50256});
}

TEST_CASE("decode inverts encode", "[tokenizer][shared]") {
  const std::vector<std::string> texts = {"Hello world", " leading space", "tabs\tand\nnewlines\n\n", "🦙 llama.cpp: 3.14 × 2",
                                          "Führer нещо на Бълг 你好", "  two spaces", "   "};
  for (const char* name : {"llama-spm", "gpt-2", "phi-3"}) {
    Tokenizer t = shared_tokenizer(name);
    for (const auto& s : texts) {
      INFO(name << ": [" << s << "]");
      CHECK(t.decode(t.encode(s, false)) == s);
    }
  }
}

TEST_CASE("unicode tables: categories, lowercase, decomposition", "[unicode]") {
  namespace u = unicode;
  CHECK(u::is_letter('a'));
  CHECK(u::is_letter(0x4E2D));  // 中
  CHECK(u::is_number('7'));
  CHECK(u::is_number(0x0663));  // Arabic-Indic three
  CHECK(u::is_whitespace(0x3000));
  CHECK(!u::is_whitespace(0x200B));  // zero width space is not White_Space
  CHECK((u::flags(0x0301) & u::kAccentMark));
  CHECK((u::flags('!') & u::kPunctuation));
  CHECK((u::flags('$') & u::kSymbol));
  CHECK(u::to_lower('A') == 'a');
  CHECK(u::to_lower(0x0416) == 0x0436);  // Ж -> ж
  CHECK(u::nfd_first(0x00E9) == 'e');
  CHECK(u::nfd_first(0xAC00) == 0x1100);  // 가 -> ᄀ
  size_t n;
  CHECK(u::decode_utf8("\xF0\x9F\xA6\x99", 0, &n) == 0x1F999);
  CHECK(n == 4);
  CHECK(u::decode_utf8("\xED\xA0\x80", 0, &n) == u::kReplacement);  // surrogate
  CHECK(n == 1);
  CHECK(u::decode_utf8("\xE2\x82", 0, &n) == u::kReplacement);  // truncated
}

TEST_CASE("pre-tokenizer patterns split as their regular expressions define", "[tokenizer]") {
  // Words come back byte-encoded (GPT-2's mapping): a space shows as \u0120 (Ä ).
  auto words = [](const char* pre, const char* text) { return bpe_pretokenize(pre, text); };
  const std::string sp = "\xC4\xA0";
  // llama3: contractions are case-insensitive, numbers go in threes (no space joins them),
  // a non-letter leads a word.
  CHECK(words("llama3", "I'M 12345 (hi)") == std::vector<std::string>{"I", "'M", sp, "123", "45", sp + "(", "hi", ")"});
  // qwen2: single digits.
  CHECK(words("qwen2", "x 123") == std::vector<std::string>{"x", sp, "1", "2", "3"});
  // smollm: digits split first, then the gpt-2 pattern.
  CHECK(words("smollm", "ab 12c") == std::vector<std::string>{"ab", sp, "1", "2", "c"});
  // falcon: punctuation runs, then gpt-2, then three-digit groups cut out of what is left.
  CHECK(words("falcon", "a,,b 1234") == std::vector<std::string>{"a", ",,", "b", sp, "123", "4"});
  // tekken: an upper-case run then lower-case letters stay together; CamelCase splits.
  CHECK(words("tekken", "HelloWorld") == std::vector<std::string>{"Hello", "World"});
  // deepseek-llm: newlines alone, letters with one leading space, trailing spaces at the end.
  CHECK(words("deepseek-llm", "ab\ncd  ") == std::vector<std::string>{"ab", "\xC4\x8A", "cd", sp + sp});
}
