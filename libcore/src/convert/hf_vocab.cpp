// Tokenizer files to GGUF tokenizer keys, as llama.cpp's converter writes them:
//   tokenizer.model (SentencePiece protobuf)   -> "llama": pieces, scores, types
//   tokenizer.json, model BPE (byte-level)     -> "gpt2": tokens, types, merges
//   tokenizer.json, model WordPiece            -> "bert": tokens in "phantom space" form, types
// plus special token ids, add_bos/add_eos, the chat template, and tokenizer.ggml.pre, which
// llama.cpp identifies by hashing the token ids of a fixed text (its check text) and looking the
// hash up in a table. We tokenize the same text with our own tokenizer under each pre-tokenizer
// we implement and look for the hash the reference tokenizer gives for that name.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "hf_json.h"
#include "llmkit/atomic_file.h"
#include "llmkit/error.h"
#include "llmkit/gguf_writer.h"
#include "llmkit/tokenizer.h"

namespace llmkit::hf {
namespace {

namespace fs = std::filesystem;

// Far above any real vocabulary (262,144 for Gemma 3), far below what would exhaust memory.
constexpr int64_t kMaxVocab = int64_t(1) << 24;

// llama.cpp's check text (convert_hf_to_gguf.py, get_vocab_base_pre).
const char* const kCheckText =
    "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n\xF0\x9F\x9A\x80 (normal) \xF0\x9F\x98\xB6\xE2\x80\x8D\xF0\x9F\x8C"
    "\xAB\xEF\xB8\x8F (multiple emojis concatenated) \xE2\x9C\x85 \xF0\x9F\xA6\x99\xF0\x9F\xA6\x99 3 33 333 3333 33333 "
    "333333 3333333 33333333 3.3 3..3 3...3 \xE1\x9E\x80\xE1\x9E\xB6\xE1\x9E\x93\xE1\x9F\x8B\xE1\x9E\x8F\xE1\x9F\x82"
    "\xE1\x9E\x96\xE1\x9E\xB7\xE1\x9E\x9F\xE1\x9F\x81\xE1\x9E\x9F\xE1\x9E\xA2\xE1\x9E\xB6\xE1\x9E\x85\xF0\x9F\x98\x81 "
    "?\xE6\x88\x91\xE6\x83\xB3\xE5\x9C\xA8" "apple\xE5\xB7\xA5\xE4\xBD\x9C" "1314151\xE5\xA4\xA9\xEF\xBD\x9E ------======= "
    "\xD0\xBD\xD0\xB5\xD1\x89\xD0\xBE \xD0\xBD\xD0\xB0 \xD0\x91\xD1\x8A\xD0\xBB\xD0\xB3\xD0\xB0\xD1\x80\xD1\x81\xD0\xBA"
    "\xD0\xB8 ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you sure? 'M not sure I'll make "
    "it, 'D you like some tea? We'Ve a'lL";

// Hashes of the reference tokenizers' ids for the check text (llama.cpp's table), for the
// pre-tokenizer names llmkit implements.
struct KnownHash {
  const char* hash;
  const char* name;
};
constexpr KnownHash kKnownHashes[] = {
    {"0ef9807a4087ebef797fc749390439009c3b9eda9ad1a097abbe738f486c01e5", "llama-bpe"},
    {"049ecf7629871e3041641907f3de7c733e4dbfdc736f57d882ba0b0845599754", "deepseek-llm"},
    {"347715f544604f9118bb75ed199f68779f423cabb20db6de6f31b908d04d7821", "deepseek-coder"},
    {"8aeee3860c56296a157a1fe2fad249ec40aa59b1bb5709f4ade11c4e6fe652ed", "falcon"},
    {"0876d13b50744004aa9aeae05e7b0647eac9d801b5ba4668afc01e709c15e19f", "bert-bge"},
    {"b6dc8df998e1cfbdc4eac8243701a65afe638679230920b50d6f17d81c098166", "mpt"},
    {"35d91631860c815f952d711435f48d356ebac988362536bed955d43bfa436e34", "starcoder"},
    {"3ce83efda5659b07b1ad37ca97ca5797ea4285d9b9ab0dc679e4a720c9da7454", "gpt-2"},
    {"32d85c31273f8019248f2559fed492d929ea28b17e51d81d3bb36fff23ca72b3", "stablelm2"},
    {"6221ad2852e85ce96f791f476e0b390cf9b474c9e3d1362f53a24a06dc8220ff", "refact"},
    {"9c2227e4dd922002fb81bde4fc02b0483ca4f12911410dee2255e4987644e3f8", "command-r"},
    {"e636dc30a262dcc0d8c323492e32ae2b70728f4df7dfe9737d9f920a282b8aea", "qwen2"},
    {"a8594e3edff7c29c003940395316294b2c623e09894deebbc65f33f1515df79e", "dbrx"},
    {"c7699093ba4255a91e702aa38a596aa81669f3525dae06c2953267dde580f448", "jina-v1-en"},
    {"171aeeedd6fb548d418a7461d053f11b6f1f1fc9b387bd66640d28a4b9f5c643", "jina-v2-es"},
    {"27949a2493fc4a9f53f5b9b029c82689cfbe5d3a1929bb25e043089e28466de6", "jina-v2-de"},
    {"c136ed14d01c2745d4f60a9596ae66800e2b61fa45643e72436041855ad4089d", "smaug-bpe"},
    {"c7ea5862a53e4272c035c8238367063e2b270d51faa48c0f09e9d5b54746c360", "poro-chat"},
    {"7967bfa498ade6b757b064f31e964dddbb80f8f9a4d68d4ba7998fcf281c531a", "jina-v2-code"},
    {"b6e8e1518dc4305be2fe39c313ed643381c4da5db34a98f6a04c093f8afbe99b", "chatglm-bpe"},
    {"7fc505bd3104ca1083b150b17d088b59534ede9bde81f0dd2090967d7fe52cee", "viking"},
    {"b53802fb28e26d645c3a310b34bfe07da813026ec7c7716883404d5e0f8b1901", "jais"},
    {"7b3e7548e4308f52a76e8229e4e6cc831195d0d1df43aed21ac6c93da05fec5f", "codeshell"},
    {"63b97e4253352e6f357cc59ea5b583e3a680eaeaf2632188c2b952de2588485e", "tekken"},
    {"855059429035d75a914d1eda9f10a876752e281a054a7a3d421ef0533e5b6249", "smollm"},
    {"3c30d3ad1d6b64202cd222813e7736c2db6e1bd6d67197090fc1211fbc612ae7", "bloom"},
    {"bc01ce58980e1db43859146dc51b1758b3b88729b217a74792e9f8d43e479d21", "gpt3-finnish"},
    {"4e2b24cc4770243d65a2c9ec19770a72f08cffc161adbb73fcbb6b7dd45a0aae", "exaone"},
    {"fcace8b9cac38ce847670c970cd5892031a753a1ef381abd1d9af00f713da085", "phi-2"},
    {"60824e3c0d9401f89943cbb2fff727f0e2d4c545ba4df2d6e4f09a6db0f5b450", "chameleon"},
};

// When the hash is not in the table (a fine-tune that extended the vocabulary, say), the
// pre-tokenizer's own definition in tokenizer.json still tells the common families apart.
struct KnownPattern {
  const char* regex;  // a Split pre-tokenizer's pattern, as tokenizer.json holds it
  const char* name;
};
constexpr KnownPattern kKnownPatterns[] = {
    {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
     "llama-bpe"},
    {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
     "qwen2"},
    {R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)", "gpt-2"},
};

// How the reference tokenizer wraps a text in special tokens (its post_processor).
struct Wrap {
  std::vector<std::string> before, after;
};

Wrap read_wrap(simdjson::dom::element tj) {
  Wrap w;
  simdjson::dom::element pp;
  if (tj["post_processor"].get(pp) || pp.is_null()) return w;
  std::string_view type;
  if (pp["type"].get_string().get(type)) return w;
  if (type == "TemplateProcessing") {
    simdjson::dom::array single;
    if (pp["single"].get_array().get(single)) return w;
    bool seen_seq = false;
    for (auto item : single) {
      std::string_view id;
      if (!item["SpecialToken"]["id"].get_string().get(id)) {
        (seen_seq ? w.after : w.before).emplace_back(id);
      } else {
        seen_seq = true;
      }
    }
  } else if (type == "BertProcessing" || type == "RobertaProcessing") {
    simdjson::dom::array cls, sep;
    std::string_view c, s;
    if (!pp["cls"].get_array().get(cls) && cls.size() == 2 && !cls.at(0).get_string().get(c)) w.before.emplace_back(c);
    if (!pp["sep"].get_array().get(sep) && sep.size() == 2 && !sep.at(0).get_string().get(s)) w.after.emplace_back(s);
  }
  return w;
}

// llama.cpp also treats these added tokens as control tokens when the file does not mark them.
bool looks_special(const std::string& t) {
  auto wrapped = [&](const char* open, const char* close) {
    const size_t a = std::strlen(open), b = std::strlen(close);
    return t.size() >= a + b && t.compare(0, a, open) == 0 && t.compare(t.size() - b, b, close) == 0;
  };
  return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" || wrapped("<|", "|>") ||
         wrapped("<\xEF\xBD\x9C", "\xEF\xBD\x9C>") || wrapped("<unused", ">");
}

struct VocabBuild {
  std::string model;  // tokenizer.ggml.model
  std::vector<std::string> tokens;
  std::vector<float> scores;  // SentencePiece only
  std::vector<int32_t> types;
  std::vector<std::string> merges;
  std::map<std::string, int32_t> added;  // tokenizer.json added_tokens: content -> id
};

// ---- SentencePiece model (protobuf) ----

struct Proto {
  const uint8_t* p;
  const uint8_t* end;
  const std::string& file;
  [[noreturn]] void fail() const { throw Error("bad_vocab", file + ": not a valid SentencePiece model (corrupt protobuf)"); }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p >= end) fail();
      const uint8_t b = *p++;
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail();
  }
  std::span<const uint8_t> bytes() {
    const uint64_t n = varint();
    if (n > static_cast<uint64_t>(end - p)) fail();
    std::span<const uint8_t> s(p, static_cast<size_t>(n));
    p += n;
    return s;
  }
  void skip(uint32_t wire) {
    switch (wire) {
      case 0: varint(); break;
      case 1: if (end - p < 8) fail(); p += 8; break;
      case 2: bytes(); break;
      case 5: if (end - p < 4) fail(); p += 4; break;
      default: fail();
    }
  }
};

void read_sentencepiece(const std::string& path, VocabBuild& vb) {
  if (!fs::is_regular_file(path)) throw Error("bad_checkpoint", path + ": not a regular file");
  note_input_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("io", path + ": cannot read");
  std::vector<uint8_t> buf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Proto top{buf.data(), buf.data() + buf.size(), path};
  while (top.p < top.end) {
    const uint64_t key = top.varint();
    const uint32_t field = static_cast<uint32_t>(key >> 3), wire = static_cast<uint32_t>(key & 7);
    if (field == 1 && wire == 2) {  // ModelProto.pieces
      auto msg = top.bytes();
      Proto pc{msg.data(), msg.data() + msg.size(), path};
      std::string piece;
      float score = 0;
      int32_t type = 1;  // NORMAL
      while (pc.p < pc.end) {
        const uint64_t k = pc.varint();
        const uint32_t f = static_cast<uint32_t>(k >> 3), w = static_cast<uint32_t>(k & 7);
        if (f == 1 && w == 2) {
          auto s = pc.bytes();
          piece.assign(reinterpret_cast<const char*>(s.data()), s.size());
        } else if (f == 2 && w == 5) {
          if (pc.end - pc.p < 4) pc.fail();
          std::memcpy(&score, pc.p, 4);
          pc.p += 4;
        } else if (f == 3 && w == 0) {
          type = static_cast<int32_t>(pc.varint());
          if (type < 1 || type > 6) throw Error("bad_vocab", path + ": piece '" + piece + "' has unknown type");
        } else {
          pc.skip(w);
        }
      }
      vb.tokens.push_back(std::move(piece));
      vb.scores.push_back(score);
      vb.types.push_back(type);
    } else {
      top.skip(wire);
    }
  }
  if (vb.tokens.empty()) throw Error("bad_vocab", path + ": no pieces (not a SentencePiece model?)");
}

// ---- tokenizer.json ----

void read_added(simdjson::dom::element tj, VocabBuild& vb, std::map<int32_t, bool>& special_of) {
  simdjson::dom::array added;
  if (tj["added_tokens"].get_array().get(added)) return;
  for (auto a : added) {
    int64_t id;
    std::string_view content;
    bool special = false;
    if (a["id"].get_int64().get(id) || a["content"].get_string().get(content) || id < 0 || id > INT32_MAX)
      throw Error("bad_vocab", "tokenizer.json: an added token without id and content");
    if (a["special"].get_bool().get(special)) special = false;
    vb.added[std::string(content)] = static_cast<int32_t>(id);
    special_of[static_cast<int32_t>(id)] = special;
  }
}

// Placeholder tokens fill the ids no token has (up to config.json's vocab_size, which models pad
// to a round number). A vocabulary that would be mostly placeholders is a broken file, and a
// costly one: every tokenizer built from it to identify the pre-tokenizer copies them all.
void check_placeholders(int64_t n, int64_t real, const std::string& what) {
  if (n - real > real + 65536)
    throw Error("bad_vocab", what + ": " + std::to_string(real) + " tokens, but ids or vocab_size reach " + std::to_string(n - 1) +
                                 ": the vocabulary would be mostly placeholder tokens");
}

void read_json_vocab(simdjson::dom::element model, int64_t vocab_size, VocabBuild& vb,
                     const std::map<int32_t, bool>& special_of, bool wordpiece) {
  simdjson::dom::object vocab;
  if (model["vocab"].get_object().get(vocab)) throw Error("bad_vocab", "tokenizer.json: model.vocab is not an object");
  std::map<int64_t, std::string> by_id;
  int64_t max_id = -1;
  for (auto [tok, idv] : vocab) {
    int64_t id;
    if (idv.get_int64().get(id) || id < 0 || id >= (int64_t(1) << 31))
      throw Error("bad_vocab", "tokenizer.json: token '" + std::string(tok) + "' has no valid id");
    by_id.emplace(id, std::string(tok));
    max_id = std::max(max_id, id);
  }
  for (const auto& [t, id] : vb.added)
    if (!by_id.count(id)) by_id.emplace(id, t), max_id = std::max<int64_t>(max_id, id);
  if (by_id.empty()) throw Error("bad_vocab", "tokenizer.json: model.vocab is empty");
  // Ids are checked against the size limit before the holes between them are filled: an id of
  // 1e9 would otherwise mean a billion placeholder tokens.
  const int64_t n = std::max(vocab_size, max_id + 1);
  if (n > kMaxVocab)  // vocab_size was bounded when config.json was read: the id is too large
    throw Error("bad_vocab", "tokenizer.json: a token id of " + std::to_string(max_id) +
                                 " is more than a vocabulary can hold (" + std::to_string(kMaxVocab) + " tokens)");
  check_placeholders(n, static_cast<int64_t>(by_id.size()), "tokenizer.json");
  for (int64_t i = 0; i < n; ++i) {
    auto it = by_id.find(i);
    if (it == by_id.end()) {
      vb.tokens.push_back("[PAD" + std::to_string(i) + "]");
      vb.types.push_back(static_cast<int32_t>(TokenType::Unused));
      continue;
    }
    std::string t = it->second;
    int32_t type = static_cast<int32_t>(TokenType::Normal);
    auto ai = vb.added.find(t);
    if (ai != vb.added.end() && ai->second == i) {
      auto sp = special_of.find(static_cast<int32_t>(i));
      type = static_cast<int32_t>((sp != special_of.end() && sp->second) || looks_special(t) ? TokenType::Control
                                                                                               : TokenType::UserDefined);
    }
    if (wordpiece) {
      // "Phantom space" form: a word-initial piece carries the ▁ that SentencePiece would give
      // it, a continuation (##) does not, bracketed names ([CLS], [unused0]) stay as they are.
      if (t.size() >= 2 && t.front() == '[' && t.back() == ']') {
      } else if (t.compare(0, 2, "##") == 0) {
        t = t.substr(2);
      } else {
        t = "\xE2\x96\x81" + t;
      }
    }
    vb.tokens.push_back(std::move(t));
    vb.types.push_back(type);
  }
  if (!wordpiece) {
    simdjson::dom::array merges;
    if (model["merges"].get_array().get(merges)) throw Error("bad_vocab", "tokenizer.json: BPE model without merges");
    vb.merges.reserve(merges.size());
    for (auto mg : merges) {
      std::string_view s;
      simdjson::dom::array pair;
      if (!mg.get_string().get(s)) {
        vb.merges.emplace_back(s);
      } else if (!mg.get_array().get(pair) && pair.size() == 2) {  // newer files: ["a", "b"]
        std::string_view l, r;
        if (pair.at(0).get_string().get(l) || pair.at(1).get_string().get(r))
          throw Error("bad_vocab", "tokenizer.json: a merge that is not two strings");
        vb.merges.push_back(std::string(l) + " " + std::string(r));
      } else {
        throw Error("bad_vocab", "tokenizer.json: a merge that is neither \"a b\" nor [\"a\", \"b\"]");
      }
    }
  }
}

// tokenizer.ggml.* keys of the vocabulary alone (what load_vocab reads), for a name.
void vocab_keys(std::vector<GgufKV>& kv, const VocabBuild& vb, const std::string& pre) {
  set_kv(kv, "tokenizer.ggml.model", GgufValue(vb.model));
  set_kv(kv, "tokenizer.ggml.pre", GgufValue(pre));
  set_kv(kv, "tokenizer.ggml.tokens", GgufValue(GgufArray::of(vb.tokens)));
  if (!vb.scores.empty()) set_kv(kv, "tokenizer.ggml.scores", GgufValue(GgufArray::of(vb.scores)));
  set_kv(kv, "tokenizer.ggml.token_type", GgufValue(GgufArray::of(vb.types)));
  if (!vb.merges.empty()) set_kv(kv, "tokenizer.ggml.merges", GgufValue(GgufArray::of(vb.merges)));
}

Vocab vocab_from_keys(const std::vector<GgufKV>& kv) {
  GgufWriter w;
  for (const auto& e : kv) w.set(e.key, e.value);
  auto bytes = w.write_to_memory();
  return load_vocab(GgufFile::parse(bytes));
}

std::string ids_text(const std::vector<int32_t>& ids) {  // Python's str(list)
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? ", " : "") + std::to_string(ids[i]);
  return s + "]";
}

// The pre-tokenizer name: the hash of our tokens for the check text under each name we
// implement, looked up in llama.cpp's table; else the tokenizer.json pattern; else an error.
void identify_pre(const VocabBuild& vb, simdjson::dom::element tj, const std::vector<GgufKV>& special_kv,
                  const ConvertOptions& opt, HfModel& m, std::string& pre) {
  if (!opt.pre.empty()) {
    if (vb.model == "gpt2" && !bpe_pretokenizer_known(opt.pre))
      throw Error("usage", "--pre " + opt.pre + ": not a pre-tokenizer llmkit implements");
    pre = opt.pre;
    m.pre_source = "option";
    return;
  }
  const Wrap wrap = read_wrap(tj);
  std::vector<GgufKV> kv = special_kv;
  vocab_keys(kv, vb, vb.model == "gpt2" ? "gpt-2" : "default");
  Vocab base = vocab_from_keys(kv);
  auto wrapped = [&](std::vector<int32_t> ids, const Vocab& v) {
    std::vector<int32_t> out;
    for (const auto& s : wrap.before) out.push_back(v.find(s));
    out.insert(out.end(), ids.begin(), ids.end());
    for (const auto& s : wrap.after) out.push_back(v.find(s));
    return out;
  };
  if (vb.model == "bert") {
    Tokenizer tok(base);
    m.pre_hash = sha256_hex(ids_text(wrapped(tok.encode(kCheckText, false), tok.vocab())));
  } else {
    // Names whose pre-tokenizer splits the check text alike give the same ids: try one of each.
    std::map<std::pair<std::vector<std::string>, bool>, std::string> tried;  // split -> hash
    for (const auto& k : kKnownHashes) {
      if (!bpe_pretokenizer_known(k.name)) continue;
      auto key = std::make_pair(bpe_pretokenize(k.name, kCheckText), bpe_ignore_merges(k.name));
      auto it = tried.find(key);
      if (it == tried.end()) {
        Vocab v = base;
        v.pre = k.name;
        v.ignore_merges = bpe_ignore_merges(k.name);
        Tokenizer tok(std::move(v));
        it = tried.emplace(key, sha256_hex(ids_text(wrapped(tok.encode(kCheckText, false), tok.vocab())))).first;
      }
      if (it->second == k.hash) {
        pre = k.name;
        m.pre_hash = k.hash;
        m.pre_source = "hash";
        return;
      }
    }
    m.pre_hash = tried.empty() ? "" : tried.begin()->second;
  }
  for (const auto& k : kKnownHashes)
    if (m.pre_hash == k.hash) {
      pre = k.name;
      m.pre_source = "hash";
      return;
    }
  // Not a vocabulary the table knows: the pre-tokenizer's definition decides.
  simdjson::dom::element pt;
  std::string_view type;
  if (!tj["pre_tokenizer"].get(pt) && !pt.is_null() && !pt["type"].get_string().get(type)) {
    std::vector<simdjson::dom::element> parts;
    simdjson::dom::array seq;
    if (type == "Sequence" && !pt["pretokenizers"].get_array().get(seq))
      for (auto p : seq) parts.push_back(p);
    else
      parts.push_back(pt);
    std::string found;
    for (auto p : parts) {
      std::string_view t, regex;
      bool use_regex = false;
      if (p["type"].get_string().get(t)) continue;
      if (t == "BertPreTokenizer" && vb.model == "bert") found = "bert-bge";
      if (t == "ByteLevel" && !p["use_regex"].get_bool().get(use_regex) && use_regex && parts.size() == 1) found = "gpt-2";
      if (t == "Split" && !p["pattern"]["Regex"].get_string().get(regex))
        for (const auto& k : kKnownPatterns)
          if (regex == k.regex) found = k.name;
    }
    if (!found.empty()) {
      pre = found;
      m.pre_source = "pattern";
      return;
    }
  }
  throw Error("unknown_pre_tokenizer",
              "the tokenizer's pre-tokenizer is not one llmkit recognizes (check-text hash " + m.pre_hash +
                  " is not in llama.cpp's table, and tokenizer.json's pre_tokenizer matches no known pattern); if you "
                  "know which it is, name it with --pre");
}

}  // namespace

void read_vocab(const std::string& dir, const JsonFile& config, const ConvertOptions& opt, HfModel& m) {
  const fs::path d(dir);
  auto tcfg = load_json((d / "tokenizer_config.json").string(), false);
  auto tjson = load_json((d / "tokenizer.json").string(), false);
  const bool has_spm = fs::exists(d / "tokenizer.model");
  const int64_t vocab_size = config.get_int("vocab_size").value_or(0);
  if (vocab_size < 0 || vocab_size > kMaxVocab) throw Error("bad_checkpoint", config.path + ": vocab_size out of range");

  VocabBuild vb;
  std::map<int32_t, bool> special_of;
  std::string model_type;
  if (tjson) {
    std::string_view t;
    if (!tjson->root["model"]["type"].get_string().get(t)) model_type = t;
    read_added(tjson->root, vb, special_of);
  }
  // The families whose checkpoints carry a SentencePiece model (Llama 2, Mistral, Gemma, Phi-3);
  // Llama 3 and Qwen have tokenizer.json's byte-level BPE instead.
  const bool spm_family = m.arch == "llama" || m.arch == "gemma2" || m.arch == "gemma3" || m.arch == "phi3";
  if (spm_family && has_spm) {
    vb.model = "llama";
    read_sentencepiece((d / "tokenizer.model").string(), vb);
    // Tokens added on top of the SentencePiece model, as llama.cpp's converter takes them.
    const int64_t n = std::max<int64_t>(vocab_size, static_cast<int64_t>(vb.tokens.size()));
    check_placeholders(n, static_cast<int64_t>(vb.tokens.size()), "tokenizer.model");
    for (int64_t i = static_cast<int64_t>(vb.tokens.size()); i < n; ++i) {
      vb.tokens.push_back("[PAD" + std::to_string(i) + "]");
      vb.scores.push_back(-1000.f);
      vb.types.push_back(static_cast<int32_t>(TokenType::Unused));
    }
    simdjson::dom::object dec;
    if (tcfg && !tcfg->root["added_tokens_decoder"].get_object().get(dec)) {
      for (auto [ids, data] : dec) {
        const int64_t id = std::atoll(std::string(ids).c_str());
        std::string_view content;
        if (id < 0 || id >= n || data["content"].get_string().get(content)) continue;
        bool special = false;
        if (data["special"].get_bool().get(special)) special = false;
        std::string text(content);
        const auto i = static_cast<size_t>(id);
        if (special || looks_special(text)) {
          vb.types[i] = static_cast<int32_t>(TokenType::Control);
        } else {
          // llama.cpp matches user-defined tokens on the text itself: ▁ back to a space.
          for (size_t p; (p = text.find("\xE2\x96\x81")) != std::string::npos;) text.replace(p, 3, " ");
          vb.types[i] = static_cast<int32_t>(TokenType::UserDefined);
        }
        vb.scores[i] = -1000.f;
        vb.tokens[i] = text;
      }
    }
  } else if (model_type == "BPE") {
    bool byte_fallback = false;
    if (tjson->root["model"]["byte_fallback"].get_bool().get(byte_fallback)) byte_fallback = false;
    if (byte_fallback)
      throw Error("unsupported_model", dir + ": a SentencePiece-style BPE vocabulary (byte_fallback) needs its "
                                             "tokenizer.model, which the folder lacks");
    vb.model = "gpt2";
    read_json_vocab(tjson->root["model"], vocab_size, vb, special_of, false);
  } else if (model_type == "WordPiece") {
    vb.model = "bert";
    read_json_vocab(tjson->root["model"], vocab_size, vb, special_of, true);
  } else if (!tjson && !has_spm) {
    throw Error("bad_checkpoint", dir + ": no tokenizer.json or tokenizer.model");
  } else {
    throw Error("unsupported_model", dir + ": tokenizer model '" + (model_type.empty() ? "?" : model_type) +
                                           "' is not supported (SentencePiece, byte-level BPE and WordPiece are)");
  }
  if (vb.tokens.size() > static_cast<size_t>(kMaxVocab)) throw Error("bad_vocab", dir + ": vocabulary too large");

  // Special tokens: tokenizer_config.json names them by text, config.json by id.
  auto id_of = [&](const std::string& text) -> int64_t {
    auto a = vb.added.find(text);
    if (a != vb.added.end()) return a->second;
    for (size_t i = 0; i < vb.tokens.size(); ++i)
      if (vb.tokens[i] == text) return static_cast<int64_t>(i);
    return -1;
  };
  std::vector<GgufKV> special;
  struct Kind {
    const char* hf;
    const char* key;
  };
  static const Kind kKinds[] = {{"bos", "bos_token_id"},       {"eos", "eos_token_id"},       {"unk", "unknown_token_id"},
                                {"sep", "seperator_token_id"}, {"pad", "padding_token_id"},   {"cls", "cls_token_id"},
                                {"mask", "mask_token_id"}};
  for (const auto& k : kKinds) {
    int64_t id = -1;
    simdjson::dom::element e;
    if (tcfg && !tcfg->root[std::string(k.hf) + "_token"].get(e) && !e.is_null())
      if (auto text = token_text(e)) id = id_of(*text);
    if (id < 0)
      if (auto v = config.get_int((std::string(k.hf) + "_token_id").c_str())) id = *v;
    if (id >= 0 && static_cast<size_t>(id) < vb.tokens.size())
      set_kv(special, std::string("tokenizer.ggml.") + k.key, GgufValue(static_cast<uint32_t>(id)));
  }
  if (tcfg) {
    for (const char* flag : {"add_bos_token", "add_eos_token"})
      if (auto b = tcfg->get_bool(flag)) set_kv(special, std::string("tokenizer.ggml.") + flag, GgufValue(*b));
  }
  if (tjson && vb.model == "gpt2" && !(tcfg && tcfg->get_bool("add_bos_token"))) {
    // Without a flag, the post-processor says whether BOS (and EOS) wrap every text.
    const Wrap w = read_wrap(tjson->root);
    if (!w.before.empty()) {
      set_kv(special, "tokenizer.ggml.add_bos_token", GgufValue(true));
      bool has_bos = false;
      for (const auto& e : special) has_bos |= e.key == "tokenizer.ggml.bos_token_id";
      if (!has_bos && id_of(w.before[0]) >= 0)
        set_kv(special, "tokenizer.ggml.bos_token_id", GgufValue(static_cast<uint32_t>(id_of(w.before[0]))));
    }
    if (!w.after.empty() && !(tcfg && tcfg->get_bool("add_eos_token")))
      set_kv(special, "tokenizer.ggml.add_eos_token", GgufValue(true));
  }

  std::string pre = "default";
  if (vb.model == "llama") {
    m.pre_source = "n/a";
  } else {
    identify_pre(vb, tjson->root, special, opt, m, pre);
  }
  vocab_keys(m.metadata, vb, pre);
  for (auto& e : special) set_kv(m.metadata, e.key, e.value);

  // Chat template: tokenizer_config.json's (a string, or named templates: the default one), or
  // chat_template.jinja beside it.
  std::string tmpl;
  simdjson::dom::element ct;
  if (tcfg && !tcfg->root["chat_template"].get(ct)) {
    std::string_view s;
    simdjson::dom::array list;
    if (!ct.get_string().get(s)) {
      tmpl = s;
    } else if (!ct.get_array().get(list)) {
      for (auto item : list) {
        std::string_view name, t;
        if (!item["name"].get_string().get(name) && name == "default" && !item["template"].get_string().get(t)) tmpl = t;
      }
    }
  }
  if (tmpl.empty() && fs::is_regular_file(d / "chat_template.jinja")) {
    note_input_file((d / "chat_template.jinja").string());
    std::ifstream in(d / "chat_template.jinja", std::ios::binary);
    tmpl.assign((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  if (!tmpl.empty()) set_kv(m.metadata, "tokenizer.chat_template", GgufValue(tmpl));
}

}  // namespace llmkit::hf
