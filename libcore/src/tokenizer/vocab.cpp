#include <cctype>
#include <string_view>
#include <unordered_set>
#include <algorithm>
#include <cstdio>

#include "llmkit/error.h"
#include "llmkit/gguf.h"
#include "llmkit/tokenizer.h"

namespace llmkit {
namespace {

int32_t id_or(const GgufFile& f, const char* key, int32_t fallback, size_t n) {
  auto v = f.get_int(key);
  if (!v) return fallback;
  // -1 (and the u32 0xFFFFFFFF some converters write) means "none".
  if (*v == -1 || *v == 0xFFFFFFFF) return -1;
  if (*v < 0) throw Error("bad_vocab", std::string(key) + " = " + std::to_string(*v) + " is not a token id (-1 means none)");
  if (static_cast<uint64_t>(*v) >= n)
    throw Error("bad_vocab", std::string(key) + " = " + std::to_string(*v) + " is not a token id (vocabulary of " +
                                 std::to_string(n) + ")");
  return static_cast<int32_t>(*v);
}

// "<0x4F>" -> 0x4F; anything else that claims to be a byte token is an error.
int parse_byte_token(const std::string& t, int32_t id) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' && hex(t[3]) >= 0 && hex(t[4]) >= 0)
    return hex(t[3]) * 16 + hex(t[4]);
  throw Error("bad_vocab", "token " + std::to_string(id) + " '" + t + "' is marked as a byte token but is not <0xNN>");
}

}  // namespace

int32_t Vocab::find(std::string_view text) const {
  auto it = token_to_id.find(text);
  return it == token_to_id.end() ? -1 : it->second;
}

Vocab load_vocab(const GgufFile& f) {
  Vocab v;
  v.model = f.get_opt<std::string>("tokenizer.ggml.model").value_or("");
  v.pre = f.get_opt<std::string>("tokenizer.ggml.pre").value_or("default");
  if (v.model == "llama") v.kind = TokenizerKind::SentencePiece;
  else if (v.model == "gpt2") v.kind = TokenizerKind::BytePairs;
  else if (v.model == "bert") v.kind = TokenizerKind::WordPiece;
  else
    throw Error("unsupported_tokenizer", v.model.empty() ? "the file has no tokenizer (tokenizer.ggml.model)"
                                                         : "tokenizer model '" + v.model + "' is not supported");
  if (v.kind == TokenizerKind::BytePairs && !bpe_pretokenizer_known(v.pre))
    throw Error("unsupported_tokenizer", "pre-tokenizer '" + v.pre + "' (tokenizer.ggml.pre) is not supported yet");

  v.tokens = f.get_array("tokenizer.ggml.tokens").strings;
  if (f.get_array("tokenizer.ggml.tokens").elem_type != GgufType::STRING || v.tokens.empty())
    throw Error("bad_vocab", "tokenizer.ggml.tokens must be a non-empty array of strings");
  const size_t n = v.tokens.size();
  if (n > (size_t(1) << 31)) throw Error("bad_vocab", "vocabulary larger than 2^31 tokens");
  if (const GgufArray* s = f.get_array_opt("tokenizer.ggml.scores")) {
    v.scores = s->as<float>("tokenizer.ggml.scores");
    if (v.scores.size() != n) throw Error("bad_vocab", "tokenizer.ggml.scores has " + std::to_string(v.scores.size()) + " entries for " + std::to_string(n) + " tokens");
  } else {
    v.scores.assign(n, 0.f);
  }
  v.types.assign(n, TokenType::Normal);
  if (const GgufArray* t = f.get_array_opt("tokenizer.ggml.token_type")) {
    std::vector<int32_t> raw = t->as<int32_t>("tokenizer.ggml.token_type");
    if (raw.size() != n) throw Error("bad_vocab", "tokenizer.ggml.token_type has " + std::to_string(raw.size()) + " entries for " + std::to_string(n) + " tokens");
    for (size_t i = 0; i < n; ++i) {
      if (raw[i] < 0 || raw[i] > 6) throw Error("bad_vocab", "token " + std::to_string(i) + " has unknown type " + std::to_string(raw[i]));
      v.types[i] = static_cast<TokenType>(raw[i]);
    }
  }
  v.token_to_id.reserve(n);
  v.byte_token.fill(-1);
  // Texts llama.cpp takes for end-of-generation markers (chat models end a turn with them even
  // when the file names another EOS) and for fill-in-the-middle markers: such a token is made a
  // control token whatever its type in the file, so it is not matched in text unless special
  // tokens are parsed.
  static const std::unordered_set<std::string_view> kEndOfGeneration = {
      "</s>", "<EOT>", "<end_of_turn>", "<end_of_utterance>", "<eos>", "<turn|>", "<|calls|>", "<|call|>",
      "<|end_of_text|>", "<|endoftext|>", "<|end|>", "<|eom_id|>", "<|eot_id|>", "<|flush|>", "<|im_end|>",
      "<|return|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[EOS]", "[EOT]", "[e~[", "_<EOT>"};
  static const std::unordered_set<std::string_view> kFillInTheMiddle = {
      "<MID>", "<PAD>", "<PRE>", "<REPO>", "<SUF>", "<fim-middle>", "<fim-pad>", "<fim-prefix>", "<fim-repo>",
      "<fim-suffix>", "<fim_middle>", "<fim_pad>", "<fim_prefix>", "<fim_suffix>", "<reponame>", "<|code_middle|>",
      "<|code_prefix|>", "<|code_suffix|>", "<|file_sep|>", "<|fim_middle|>", "<|fim_pad|>", "<|fim_prefix|>",
      "<|fim_repo|>", "<|fim_suffix|>", "<|middle|>", "<|prefix|>", "<|repo_name|>", "<|suffix|>",
      "<｜fim▁begin｜>", "<｜fim▁end｜>", "<｜fim▁hole｜>", "[PAD]", "▁<MID>", "▁<PRE>", "▁<SUF>"};
  for (size_t i = 0; i < n; ++i) {
    const bool eog = kEndOfGeneration.count(v.tokens[i]) > 0;
    if (eog) v.eog.push_back(static_cast<int32_t>(i));
    if (v.types[i] == TokenType::UserDefined && (eog || kFillInTheMiddle.count(v.tokens[i]))) v.types[i] = TokenType::Control;
  }
  for (size_t i = 0; i < n; ++i) {
    v.token_to_id.emplace(v.tokens[i], static_cast<int32_t>(i));  // first wins on duplicates
    v.max_token_bytes = std::max(v.max_token_bytes, v.tokens[i].size());
    if (v.types[i] == TokenType::Byte && v.kind == TokenizerKind::SentencePiece)
      v.byte_token[static_cast<size_t>(parse_byte_token(v.tokens[i], static_cast<int32_t>(i)))] = static_cast<int32_t>(i);
    if (v.types[i] == TokenType::Control || v.types[i] == TokenType::UserDefined || v.types[i] == TokenType::Unknown)
      v.special_tokens.push_back(static_cast<int32_t>(i));
  }
  if (v.kind == TokenizerKind::SentencePiece) {
    v.spm_words_independent = true;
    const std::string_view sp = "\xE2\x96\x81";
    for (size_t i = 0; i < n && v.spm_words_independent; ++i) {
      const std::string& t = v.tokens[i];
      for (size_t at = t.find(sp, 1); at != std::string::npos; at = t.find(sp, at + 1))
        if (at < 3 || t.compare(at - 3, 3, sp) != 0) {
          v.spm_words_independent = false;
          break;
        }
    }
  }
  std::stable_sort(v.special_tokens.begin(), v.special_tokens.end(),
                   [&](int32_t a, int32_t b) { return v.tokens[a].size() > v.tokens[b].size(); });

  if (v.kind == TokenizerKind::BytePairs) {
    const GgufArray& merges = f.get_array("tokenizer.ggml.merges");
    if (merges.elem_type != GgufType::STRING) throw Error("bad_vocab", "tokenizer.ggml.merges must be strings");
    v.merges.reserve(merges.strings.size());
    for (size_t r = 0; r < merges.strings.size(); ++r) {
      const std::string& m = merges.strings[r];
      size_t sp = m.find(' ', 1);
      if (sp == std::string::npos || sp + 1 >= m.size())
        throw Error("bad_vocab", "merge " + std::to_string(r) + " '" + m + "' is not 'left right'");
      const int32_t a = v.find(std::string_view(m).substr(0, sp)), b = v.find(std::string_view(m).substr(sp + 1));
      if (a < 0 || b < 0)
        throw Error("bad_vocab", "merge " + std::to_string(r) + " '" + m + "' names a token the vocabulary lacks");
      const int32_t result = v.find(m.substr(0, sp) + m.substr(sp + 1));
      // The first listing of a pair is its rank, as in the merges file.
      v.merges.emplace((uint64_t(uint32_t(a)) << 32) | uint32_t(b), Vocab::Merge{static_cast<int32_t>(r), result});
    }
  }

  // Special ids: the file's, else llama.cpp's defaults for the tokenizer kind.
  switch (v.kind) {
    case TokenizerKind::SentencePiece:
      v.bos = id_or(f, "tokenizer.ggml.bos_token_id", n > 1 ? 1 : -1, n);
      v.eos = id_or(f, "tokenizer.ggml.eos_token_id", n > 2 ? 2 : -1, n);
      v.unk = id_or(f, "tokenizer.ggml.unknown_token_id", 0, n);
      v.add_bos = true;
      v.add_space_prefix = true;
      break;
    case TokenizerKind::BytePairs:
      v.bos = id_or(f, "tokenizer.ggml.bos_token_id", -1, n);
      v.eos = id_or(f, "tokenizer.ggml.eos_token_id", -1, n);
      v.unk = id_or(f, "tokenizer.ggml.unknown_token_id", -1, n);
      v.ignore_merges = bpe_ignore_merges(v.pre);
      v.add_bos = bpe_adds_bos(v.pre);  // the llama3 family adds BOS; most BPE vocabularies do not
      break;
    case TokenizerKind::WordPiece:
      v.unk = id_or(f, "tokenizer.ggml.unknown_token_id", 100, n);
      v.cls = id_or(f, "tokenizer.ggml.cls_token_id", 101, n);
      v.sep = id_or(f, "tokenizer.ggml.seperator_token_id", 102, n);
      v.bos = id_or(f, "tokenizer.ggml.bos_token_id", v.cls, n);
      v.eos = id_or(f, "tokenizer.ggml.eos_token_id", v.sep, n);
      v.add_bos = true;
      v.add_eos = true;
      break;
  }
  if (v.kind != TokenizerKind::WordPiece) {
    v.sep = id_or(f, "tokenizer.ggml.seperator_token_id", -1, n);
    v.cls = id_or(f, "tokenizer.ggml.cls_token_id", -1, n);
  }
  v.eot = id_or(f, "tokenizer.ggml.eot_token_id", -1, n);
  v.pad = id_or(f, "tokenizer.ggml.padding_token_id", -1, n);
  v.mask = id_or(f, "tokenizer.ggml.mask_token_id", -1, n);
  if (auto b = f.get_opt<bool>("tokenizer.ggml.add_bos_token")) v.add_bos = *b;
  if (auto e = f.get_opt<bool>("tokenizer.ggml.add_eos_token")) v.add_eos = *e;
  if (auto s = f.get_opt<bool>("tokenizer.ggml.add_space_prefix")) v.add_space_prefix = *s;
  for (int32_t id : {v.eos, v.eot})
    if (id >= 0) v.eog.push_back(id);
  std::sort(v.eog.begin(), v.eog.end());
  v.eog.erase(std::unique(v.eog.begin(), v.eog.end()), v.eog.end());
  // llama.cpp gives Phi-3's special tokens (by the model's name) the whitespace after them, but
  // not <unk>, <s> and <|endoftext|>; "</s>" is named as well, whatever its type.
  std::string name = f.get_opt<std::string>("general.name").value_or("");
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
    for (int32_t id : v.special_tokens) v.strip[id] |= Vocab::kStripRight;
    if (int32_t id = v.find("</s>"); id >= 0) v.strip[id] |= Vocab::kStripRight;
    for (const char* t : {"<unk>", "<s>", "<|endoftext|>"})
      if (int32_t id = v.find(t); id >= 0) v.strip.erase(id);
  }
  return v;
}

}  // namespace llmkit
