// Pre-tokenizers of byte-level BPE vocabularies: the regular expressions llama.cpp applies
// before merging, written as direct scanners over codepoints (linear time, no regex engine).
#include <optional>
#include <string>
#include <vector>

#include "bpe_bytes.h"
#include "regex_lite.h"

#include "llmkit/error.h"
#include "llmkit/tokenizer.h"
#include "llmkit/unicode.h"

namespace llmkit {
namespace {

namespace u = unicode;

// GPT-2's pattern: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// Appends the end offsets (in codepoints) of each word of cp[begin, n).
void split_gpt2(const std::vector<uint32_t>& cp, size_t begin, size_t n, std::vector<size_t>& ends) {
  auto fl = [&](size_t i) -> uint16_t { return i < n ? u::flags(cp[i]) : 0; };
  auto other = [](uint16_t f) { return f && !(f & (u::kWhitespace | u::kLetter | u::kNumber)); };
  size_t pos = begin;
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
}

constexpr const char* kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
constexpr const char* kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kCjk = "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+";
constexpr const char* kPoro = R"( ?[^(\s|.,!?…。，、।۔،)]+)";

// The pattern lists llama.cpp applies for each tokenizer.ggml.pre name (llama-vocab.cpp), in
// order: each pattern cuts the pieces the previous ones left.
struct PreSpec {
  std::vector<const char*> names;
  std::vector<const char*> patterns;
  bool ignore_merges = false;  // a word that is a token is taken whole (llama3)
  bool add_bos = false;        // BOS by default (when the file does not say)
};

const std::vector<PreSpec>& specs() {
  static const std::vector<PreSpec> s = {
      {{"default"}, {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", R"([0-9][0-9][0-9])"}},
      {{"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v1-en", "jina-v2-es", "jina-v2-de", "jina-v2-code",
        "roberta-bpe", "a.x-4.0", "mellum", "mpt", "olmo", "jais", "trillion", "granite-docling"},
       {kGpt2}},
      {{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"}, {kLlama3}, true, true},
      {{"tekken"},
       {R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
       true, true},
      {{"gpt-4o", "llama4"},
       {R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}},
      {{"chameleon"},
       {"<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\t\n]|    |  )", R"(\p{N})",
        R"([\p{P}!-/:-@\[-`{-~])", kGpt2},
       false, true},
      {{"dbrx", "smaug-bpe", "chatglm-bpe"}, {kLlama3}},
      {{"qwen2", "deepseek-r1-qwen", "stablelm2", "hunyuan", "grok-2"}, {kQwen2}},
      {{"falcon"}, {R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2, R"([0-9][0-9][0-9])"}},
      {{"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"}, {R"(\p{N})", kGpt2}},
      {{"deepseek-llm"},
       {"[\r\n]",
        "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373"
        "\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F"
        "\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77"
        "\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D"
        "\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4"
        "\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139"
        "\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D"
        "\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A"
        "\uFF41-\uFF5A\U00010400-\U0001044F\U000104B0-\U000104D3\U000104D8-\U000104FB\U00010C80-\U00010CB2"
        "\U00010CC0-\U00010CF2\U000118A0-\U000118DF\U0001E900-\U0001E943]+",
        "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+", R"(\s+$)", kCjk, R"(\p{N}+)"}},
      {{"deepseek-coder"}, {"[\r\n]", R"(\s?\p{L}+)", R"(\s?\p{P}+)", kCjk, R"(\p{N})"}},
      {{"deepseek-v3", "hunyuan-dense"},
       {R"(\p{N}{1,3})", "[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+",
        R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}},
      {{"poro-chat", "bloom", "gpt3-finnish"}, {kPoro}},
      {{"viking"}, {kPoro, R"(\p{N})"}},
      {{"seed-coder"},
       {R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)"}},
      {{"bailingmoe"},
       {R"('(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)"}},
  };
  return s;
}

// A spec with its patterns compiled once (the gpt-2 pattern keeps its direct scanner).
struct Compiled {
  const PreSpec* spec;
  std::vector<std::optional<regex_lite::Regex>> regexes;
};

const Compiled* compiled(std::string_view pre) {
  static const std::vector<Compiled> all = [] {
    std::vector<Compiled> v;
    for (const auto& s : specs()) {
      Compiled c{&s, {}};
      for (const char* p : s.patterns) {
        if (std::string_view(p) == kGpt2) c.regexes.emplace_back(std::nullopt);
        else c.regexes.emplace_back(regex_lite::Regex(p));
      }
      v.push_back(std::move(c));
    }
    return v;
  }();
  for (const auto& c : all)
    for (const char* name : c.spec->names)
      if (pre == name) return &c;
  return nullptr;
}

}  // namespace

bool bpe_pretokenizer_known(std::string_view pre) { return compiled(pre) != nullptr; }
bool bpe_ignore_merges(std::string_view pre) {
  const Compiled* c = compiled(pre);
  return c && c->spec->ignore_merges;
}

bool bpe_adds_bos(std::string_view pre) {
  const Compiled* c = compiled(pre);
  return c && c->spec->add_bos;
}

std::vector<std::string> bpe_pretokenize(std::string_view pre, std::string_view text) {
  const Compiled* c = compiled(pre);
  if (!c) throw Error("unsupported_tokenizer", "pre-tokenizer '" + std::string(pre) + "' is not supported");
  const std::vector<uint32_t> cp = u::to_codepoints(text);
  std::vector<size_t> segments = {cp.size()};
  std::vector<size_t> ends;
  for (size_t r = 0; r < c->regexes.size(); ++r) {
    if (c->regexes[r]) {
      segments = regex_lite::split(*c->regexes[r], cp, segments);
      continue;
    }
    std::vector<size_t> next;
    size_t start = 0;
    for (size_t len : segments) {
      ends.clear();
      split_gpt2(cp, start, start + len, ends);
      size_t prev = start;
      for (size_t e : ends) {
        next.push_back(e - prev);
        prev = e;
      }
      start += len;
    }
    segments.swap(next);
  }
  const auto& enc = bpe_bytes::tables().encode;
  std::vector<std::string> words;
  words.reserve(segments.size());
  size_t start = 0;
  std::string utf8;
  for (size_t len : segments) {
    std::string w;
    for (size_t i = start; i < start + len; ++i) {
      utf8.clear();
      u::append_utf8(utf8, cp[i]);
      for (unsigned char b : utf8) w += enc[b];
    }
    words.push_back(std::move(w));
    start += len;
  }
  return words;
}

}  // namespace llmkit
