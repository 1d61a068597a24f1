// Tokenizers built from GGUF metadata, matching llama.cpp token for token: SentencePiece
// (tokenizer.ggml.model "llama"), byte-level BPE ("gpt2") and WordPiece ("bert").
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace llmkit {

class GgufFile;

enum class TokenType : int32_t { Undefined = 0, Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };
enum class TokenizerKind { SentencePiece, BytePairs, WordPiece };

// Lookups by string_view without building a std::string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct Vocab {
  TokenizerKind kind = TokenizerKind::SentencePiece;
  std::string model;  // tokenizer.ggml.model
  std::string pre;    // tokenizer.ggml.pre ("default" when absent)
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<TokenType> types;
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> token_to_id;
  struct Merge {
    int32_t rank, result;  // result: id of the merged text (-1 if the vocabulary lacks it)
  };
  std::unordered_map<uint64_t, Merge> merges;  // (left id << 32 | right id) -> merge (BPE)
  int32_t bos = -1, eos = -1, eot = -1, unk = -1, sep = -1, pad = -1, cls = -1, mask = -1;
  std::vector<int32_t> eog;  // tokens that end generation: EOS, EOT and the markers llama.cpp takes for them (sorted)
  bool add_bos = false, add_eos = false, add_space_prefix = false;
  bool ignore_merges = false;  // BPE: a word that is a token is taken whole (llama3 family)
  std::array<int32_t, 256> byte_token{};  // SentencePiece <0xXX> tokens (-1 when absent)
  std::vector<int32_t> special_tokens;    // control, user-defined and unknown tokens, longest text first
  // Whitespace a special token swallows when matched in text, as llama.cpp sets it by model
  // name (Phi-3's special tokens take the whitespace after them): kStripLeft | kStripRight.
  static constexpr uint8_t kStripLeft = 1, kStripRight = 2;
  std::unordered_map<int32_t, uint8_t> strip;
  size_t max_token_bytes = 0;
  // SentencePiece: no token has a ▁ right after another character, so text can be cut before
  // every such ▁ and the pieces encoded (and cached) independently with the same result.
  bool spm_words_independent = false;

  int32_t find(std::string_view text) const;
  size_t size() const { return tokens.size(); }
};

// Reads and validates the tokenizer.* keys (ids in range, merges of known tokens, well-formed
// byte tokens). Throws Error("bad_vocab" | "unsupported_tokenizer", ...).
Vocab load_vocab(const GgufFile& f);

class Tokenizer {
 public:
  explicit Tokenizer(Vocab v);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  const Vocab& vocab() const { return vocab_; }

  // add_special: BOS/EOS (CLS/SEP for WordPiece) as the vocabulary asks.
  // parse_special: control tokens written in the text ("<s>") become those tokens; user-defined
  // tokens are always matched, as llama.cpp does.
  std::vector<int32_t> encode(std::string_view text, bool add_special = true, bool parse_special = false) const;
  // The bytes a token stands for (byte tokens as their byte, SentencePiece's ▁ as a space).
  std::string piece(int32_t id) const;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const;

 private:
  void encode_text(std::string_view text, bool first, std::vector<int32_t>& out) const;
  Vocab vocab_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Splits text into the words byte-level BPE merges within, for a tokenizer.ggml.pre name.
// Throws Error("unsupported_tokenizer") for names llmkit does not know.
std::vector<std::string> bpe_pretokenize(std::string_view pre, std::string_view text);
bool bpe_pretokenizer_known(std::string_view pre);
// llama3-family vocabularies take a pre-tokenized word whole when it is itself a token.
bool bpe_ignore_merges(std::string_view pre);
// Whether the family adds BOS when the file has no tokenizer.ggml.add_bos_token (llama3, tekken).
bool bpe_adds_bos(std::string_view pre);

}  // namespace llmkit
