// Encoding and decoding. The merge loops follow llama.cpp's (same queue order, same tie
// breaks), since one different token changes every result after it.
#include <algorithm>
#include <queue>
#include <unordered_map>

#include "bpe_bytes.h"
#include "llmkit/error.h"
#include "llmkit/tokenizer.h"
#include "llmkit/unicode.h"

namespace llmkit {
namespace {

namespace u = unicode;

struct Symbol {
  int prev, next;
  size_t start, n;  // byte range in the text being merged
};

// Splits text into UTF-8 characters (lead byte decides the length, as llama.cpp does).
std::vector<Symbol> char_symbols(std::string_view text) {
  std::vector<Symbol> syms;
  for (size_t off = 0; off < text.size();) {
    const size_t len = std::min(text.size() - off, u::utf8_len(static_cast<unsigned char>(text[off])));
    const int idx = static_cast<int>(syms.size());
    syms.push_back({idx - 1, off + len == text.size() ? -1 : idx + 1, off, len});
    off += len;
  }
  return syms;
}

// Natural text repeats its words: remember each word's tokens for the rest of the call.
class WordCache {
 public:
  const std::vector<int32_t>* find(std::string_view w) const {
    auto it = map_.find(w);
    return it == map_.end() ? nullptr : &it->second;
  }
  void put(std::string_view w, std::vector<int32_t> ids) {
    if (map_.size() >= 200000) map_.clear();  // bounded memory on adversarial input
    map_.emplace(std::string(w), std::move(ids));
  }

 private:
  std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> map_;
};

// Joins symbol `left` with the symbol after it (which becomes empty) in the linked list.
void merge_with_next(std::vector<Symbol>& syms, int left) {
  Symbol& l = syms[static_cast<size_t>(left)];
  Symbol& r = syms[static_cast<size_t>(l.next)];
  l.n += r.n;
  r.n = 0;
  l.next = r.next;
  if (r.next >= 0) syms[static_cast<size_t>(r.next)].prev = left;
}

// ---- SentencePiece: merge the adjacent pair whose union is the highest-scoring token.
void encode_spm_piece(const Vocab& v, std::string_view text, std::vector<int32_t>& out) {
  struct Bigram {
    int left, right;
    float score;
    size_t size;
  };
  auto worse = [](const Bigram& a, const Bigram& b) { return a.score < b.score || (a.score == b.score && a.left > b.left); };
  std::vector<Symbol> syms = char_symbols(text);
  std::priority_queue<Bigram, std::vector<Bigram>, decltype(worse)> queue(worse);
  auto try_pair = [&](int l, int r) {
    if (l < 0 || r < 0) return;
    const std::string_view t = text.substr(syms[l].start, syms[l].n + syms[r].n);
    const int32_t id = v.find(t);
    if (id < 0) return;
    queue.push({l, r, v.scores[static_cast<size_t>(id)], t.size()});
  };
  for (size_t i = 1; i < syms.size(); ++i) try_pair(static_cast<int>(i) - 1, static_cast<int>(i));
  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Symbol& l = syms[static_cast<size_t>(b.left)];
    Symbol& r = syms[static_cast<size_t>(b.right)];
    if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;  // stale: one side merged since
    merge_with_next(syms, b.left);
    try_pair(l.prev, b.left);
    try_pair(b.left, l.next);
  }
  for (int i = syms.empty() ? -1 : 0; i != -1; i = syms[static_cast<size_t>(i)].next) {
    const Symbol& s = syms[static_cast<size_t>(i)];
    const std::string_view t = text.substr(s.start, s.n);
    const int32_t id = v.find(t);
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    // Characters the vocabulary lacks fall back to their bytes.
    for (unsigned char byte : t) {
      int32_t id = v.byte_token[byte];
      if (id < 0) id = v.find(std::string_view(reinterpret_cast<const char*>(&byte), 1));  // a plain one-byte token
      out.push_back(id >= 0 ? id : v.unk);
    }
  }
}

// ---- Byte-level BPE: within each pre-tokenized word, merge the pair with the lowest rank.
void encode_spm(const Vocab& v, std::string_view text, std::vector<int32_t>& out) {
  if (!v.spm_words_independent || text.size() < 64) {
    encode_spm_piece(v, text, out);
    return;
  }
  // Cut before every ▁ that follows another character; no token spans such a cut.
  WordCache cache;
  std::vector<int32_t> ids;
  const std::string_view sp = "\xE2\x96\x81";
  size_t start = 0;
  auto flush = [&](size_t end) {
    if (end == start) return;
    const std::string_view w = text.substr(start, end - start);
    if (const auto* hit = cache.find(w)) {
      out.insert(out.end(), hit->begin(), hit->end());
    } else {
      ids.clear();
      encode_spm_piece(v, w, ids);
      out.insert(out.end(), ids.begin(), ids.end());
      cache.put(w, ids);
    }
    start = end;
  };
  for (size_t at = text.find(sp, 1); at != std::string_view::npos; at = text.find(sp, at + 3))
    if (text.compare(at - 3, 3, sp) != 0) flush(at);
  flush(text.size());
}

void encode_bpe_word(const Vocab& v, const std::string& word, std::vector<int32_t>& out);

void encode_bpe(const Vocab& v, std::string_view text, std::vector<int32_t>& out) {
  WordCache cache;
  std::vector<int32_t> ids;
  for (const std::string& word : bpe_pretokenize(v.pre, text)) {
    if (const auto* hit = cache.find(word)) {
      out.insert(out.end(), hit->begin(), hit->end());
      continue;
    }
    ids.clear();
    encode_bpe_word(v, word, ids);
    out.insert(out.end(), ids.begin(), ids.end());
    cache.put(word, ids);
  }
}

void encode_bpe_word(const Vocab& v, const std::string& word, std::vector<int32_t>& out) {
  // Merges are looked up by the token ids of the two symbols; a symbol whose text is not a
  // token (id -1) can take part in no merge, exactly as with text lookups.
  struct Bigram {
    int left, right;
    int32_t rank, left_id, right_id, result;
  };
  auto worse = [](const Bigram& a, const Bigram& b) { return a.rank > b.rank || (a.rank == b.rank && a.left > b.left); };
  if (v.ignore_merges)
    if (int32_t whole = v.find(word); whole >= 0) {
      out.push_back(whole);
      return;
    }
  std::vector<Symbol> syms = char_symbols(word);
  std::vector<int32_t> id(syms.size());
  for (size_t i = 0; i < syms.size(); ++i) id[i] = v.find(std::string_view(word).substr(syms[i].start, syms[i].n));
  std::priority_queue<Bigram, std::vector<Bigram>, decltype(worse)> queue(worse);
  auto try_pair = [&](int l, int r) {
    if (l < 0 || r < 0 || id[static_cast<size_t>(l)] < 0 || id[static_cast<size_t>(r)] < 0) return;
    const uint64_t key = (uint64_t(uint32_t(id[static_cast<size_t>(l)])) << 32) | uint32_t(id[static_cast<size_t>(r)]);
    auto it = v.merges.find(key);
    if (it == v.merges.end()) return;
    queue.push({l, r, it->second.rank, id[static_cast<size_t>(l)], id[static_cast<size_t>(r)], it->second.result});
  };
  for (size_t i = 1; i < syms.size(); ++i) try_pair(static_cast<int>(i) - 1, static_cast<int>(i));
  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Symbol& l = syms[static_cast<size_t>(b.left)];
    Symbol& r = syms[static_cast<size_t>(b.right)];
    // Stale when either side has merged since (its id changed) or they are no longer adjacent.
    if (l.n == 0 || r.n == 0 || l.next != b.right || id[static_cast<size_t>(b.left)] != b.left_id ||
        id[static_cast<size_t>(b.right)] != b.right_id)
      continue;
    merge_with_next(syms, b.left);
    id[static_cast<size_t>(b.left)] = b.result;
    try_pair(l.prev, b.left);
    try_pair(b.left, l.next);
  }
  for (size_t i = 0; i < syms.size(); ++i) {
    const Symbol& s = syms[i];
    if (s.n == 0) continue;
    if (id[i] >= 0) {
      out.push_back(id[i]);
      continue;
    }
    for (char c : std::string_view(word).substr(s.start, s.n))
      if (int32_t bt = v.find(std::string_view(&c, 1)); bt >= 0) out.push_back(bt);
  }
}

// ---- WordPiece: BERT normalisation, then greedy longest-match from the start of each word.
bool is_cjk(uint32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

std::vector<std::string> wordpiece_words(std::string_view text) {
  std::vector<std::string> words(1);
  for (uint32_t c : u::to_codepoints(text)) {
    c = u::nfd_first(c);
    const uint16_t f = u::flags(c);
    if (f & u::kWhitespace) {
      if (!words.back().empty()) words.emplace_back();
      continue;
    }
    if (f & (u::kAccentMark | u::kControl)) continue;
    const uint32_t low = u::to_lower(c);
    if ((f & u::kPunctuation) || (c < 0x7F && (f & u::kSymbol)) || is_cjk(c)) {
      if (!words.back().empty()) words.emplace_back();
      u::append_utf8(words.back(), low);
      words.emplace_back();
      continue;
    }
    u::append_utf8(words.back(), low);
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

void encode_wpm(const Vocab& v, std::string_view text, std::vector<int32_t>& out) {
  for (const std::string& w : wordpiece_words(text)) {
    // Word-initial pieces carry the ▁ prefix in llama.cpp's converted vocabularies.
    const std::string word = "\xE2\x96\x81" + w;
    const size_t n = word.size();
    const size_t before = out.size();
    bool ok = true;
    for (size_t i = 0; i < n;) {
      bool match = false;
      for (size_t j = std::min(n, i + v.max_token_bytes + 1); j > i; --j) {
        const int32_t id = v.find(std::string_view(word).substr(i, j - i));
        if (id >= 0) {
          out.push_back(id);
          i = j;
          match = true;
          break;
        }
      }
      if (!match) {
        ok = false;
        break;
      }
    }
    if (!ok) {
      out.resize(before);
      out.push_back(v.unk);
    }
  }
}

}  // namespace

struct Tokenizer::Impl {};

Tokenizer::Tokenizer(Vocab v) : vocab_(std::move(v)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;

void Tokenizer::encode_text(std::string_view text, bool first, std::vector<int32_t>& out) const {
  switch (vocab_.kind) {
    case TokenizerKind::SentencePiece: {
      // A space before the text (after a special token or at the start), then every space as ▁.
      std::string s;
      s.reserve(text.size() + 8);
      if (vocab_.add_space_prefix && first) s += "\xE2\x96\x81";
      for (char c : text) {
        if (c == ' ') s += "\xE2\x96\x81";
        else s += c;
      }
      encode_spm(vocab_, s, out);
      break;
    }
    case TokenizerKind::BytePairs: encode_bpe(vocab_, text, out); break;
    case TokenizerKind::WordPiece: encode_wpm(vocab_, text, out); break;
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  // Cut the text around special tokens (user-defined ones always; control ones when asked).
  struct Fragment {
    std::string_view text;
    int32_t token;  // -1: raw text
  };
  std::vector<Fragment> frags;
  if (!text.empty()) frags.push_back({text, -1});
  auto is_space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  for (int32_t id : vocab_.special_tokens) {
    const TokenType type = vocab_.types[static_cast<size_t>(id)];
    if (!parse_special && type != TokenType::UserDefined) continue;
    const std::string& st = vocab_.tokens[static_cast<size_t>(id)];
    if (st.empty()) continue;
    const auto strip = vocab_.strip.find(id);
    const uint8_t how = strip == vocab_.strip.end() ? 0 : strip->second;
    std::vector<Fragment> next;
    for (const Fragment& fr : frags) {
      if (fr.token >= 0) {
        next.push_back(fr);
        continue;
      }
      size_t from = 0;
      for (size_t at; (at = fr.text.find(st, from)) != std::string_view::npos;) {
        size_t end = at;
        if (how & Vocab::kStripLeft)
          while (end > from && is_space(fr.text[end - 1])) --end;
        if (end > from) next.push_back({fr.text.substr(from, end - from), -1});
        next.push_back({{}, id});
        from = at + st.size();
        if (how & Vocab::kStripRight)
          while (from < fr.text.size() && is_space(fr.text[from])) ++from;
      }
      if (from < fr.text.size()) next.push_back({fr.text.substr(from), -1});
    }
    frags.swap(next);
  }

  std::vector<int32_t> out;
  const bool wpm = vocab_.kind == TokenizerKind::WordPiece;
  if (add_special && (wpm ? vocab_.cls >= 0 : vocab_.add_bos && vocab_.bos >= 0)) out.push_back(wpm ? vocab_.cls : vocab_.bos);
  bool prev_special = true;
  for (const Fragment& fr : frags) {
    if (fr.token >= 0) {
      out.push_back(fr.token);
      prev_special = true;
    } else {
      encode_text(fr.text, prev_special, out);
      prev_special = false;
    }
  }
  if (add_special && (wpm ? vocab_.sep >= 0 : vocab_.add_eos && vocab_.eos >= 0)) out.push_back(wpm ? vocab_.sep : vocab_.eos);
  return out;
}

std::string Tokenizer::piece(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= vocab_.size()) throw Error("bad_token", "token id " + std::to_string(id) + " is out of range");
  const std::string& t = vocab_.tokens[static_cast<size_t>(id)];
  const TokenType type = vocab_.types[static_cast<size_t>(id)];
  if (type == TokenType::Control) return "";
  if (type == TokenType::UserDefined) return t;
  switch (vocab_.kind) {
    case TokenizerKind::SentencePiece: {
      if (type == TokenType::Byte) return std::string(1, static_cast<char>(std::stoi(t.substr(3, 2), nullptr, 16)));
      if (type == TokenType::Unknown) return "\xE2\x96\x85";
      std::string s;
      for (size_t i = 0; i < t.size(); ++i) {
        if (t.compare(i, 3, "\xE2\x96\x81") == 0) {
          s += ' ';
          i += 2;
        } else {
          s += t[i];
        }
      }
      return s;
    }
    case TokenizerKind::BytePairs: {
      // Invert GPT-2's byte -> codepoint mapping.
      std::string s;
      for (uint32_t c : u::to_codepoints(t)) {
        const int b = bpe_bytes::to_byte(c);
        if (b >= 0) s += static_cast<char>(b);
        else u::append_utf8(s, c);
      }
      return s;
    }
    case TokenizerKind::WordPiece:
      if (t.compare(0, 3, "\xE2\x96\x81") == 0) return " " + t.substr(3);
      return t;
  }
  return t;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string s;
  for (int32_t id : ids) {
    if (skip_special && id >= 0 && static_cast<size_t>(id) < vocab_.size() &&
        vocab_.types[static_cast<size_t>(id)] == TokenType::Control)
      continue;
    s += piece(id);
  }
  // The space the encoder put before the text is not part of it.
  if ((vocab_.kind == TokenizerKind::WordPiece || (vocab_.kind == TokenizerKind::SentencePiece && vocab_.add_space_prefix)) &&
      !s.empty() && s[0] == ' ')
    s.erase(0, 1);
  return s;
}

}  // namespace llmkit
