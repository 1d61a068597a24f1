#include "support/hf_export.h"

#include "support/fixture.h"

#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>

#include "llmkit/gguf.h"
#include "llmkit/json_writer.h"
#include "llmkit/tokenizer.h"

namespace fixture {
namespace fs = std::filesystem;
using llmkit::GgufFile;
using llmkit::JsonWriter;

namespace {

void write_text(const fs::path& p, const std::string& s) {
  std::ofstream o(p, std::ios::binary);
  o << s;
}

// Hugging Face's name for a GGUF tensor (the layouts' documentation, written out independently
// of the converter's table).
std::string hf_name(const std::string& arch, const std::string& n) {
  int layer = -1;
  char rest[128] = {};
  const bool in_layer = std::sscanf(n.c_str(), "blk.%d.%127s", &layer, rest) == 2;
  const std::string r = rest, L = std::to_string(layer);
  if (arch == "bert") {
    static const std::map<std::string, std::string> top = {
        {"token_embd.weight", "embeddings.word_embeddings.weight"},
        {"position_embd.weight", "embeddings.position_embeddings.weight"},
        {"token_types.weight", "embeddings.token_type_embeddings.weight"},
        {"token_embd_norm.weight", "embeddings.LayerNorm.weight"},
        {"token_embd_norm.bias", "embeddings.LayerNorm.bias"}};
    static const std::map<std::string, std::string> blk = {
        {"attn_q", "attention.self.query"},          {"attn_k", "attention.self.key"},
        {"attn_v", "attention.self.value"},          {"attn_output", "attention.output.dense"},
        {"attn_output_norm", "attention.output.LayerNorm"}, {"ffn_up", "intermediate.dense"},
        {"ffn_down", "output.dense"},                {"layer_output_norm", "output.LayerNorm"}};
    if (!in_layer) return top.at(n);
    const auto dot = r.rfind('.');
    return "encoder.layer." + L + "." + blk.at(r.substr(0, dot)) + r.substr(dot);
  }
  static const std::map<std::string, std::string> top = {{"token_embd.weight", "model.embed_tokens.weight"},
                                                         {"output_norm.weight", "model.norm.weight"},
                                                         {"output.weight", "lm_head.weight"}};
  static const std::map<std::string, std::string> blk = {
      {"attn_norm", "input_layernorm"}, {"attn_q", "self_attn.q_proj"},   {"attn_k", "self_attn.k_proj"},
      {"attn_v", "self_attn.v_proj"},   {"attn_output", "self_attn.o_proj"}, {"ffn_norm", "post_attention_layernorm"},
      {"ffn_gate", "mlp.gate_proj"},    {"ffn_up", "mlp.up_proj"},         {"ffn_down", "mlp.down_proj"},
      {"attn_q_norm", "self_attn.q_norm"}, {"attn_k_norm", "self_attn.k_norm"}, {"attn_qkv", "self_attn.qkv_proj"}};
  // Gemma: a norm before and after each block; Phi-3: gate and up in one matrix.
  static const std::map<std::string, std::string> gemma = {{"post_attention_norm", "post_attention_layernorm"},
                                                           {"ffn_norm", "pre_feedforward_layernorm"},
                                                           {"post_ffw_norm", "post_feedforward_layernorm"}};
  if (!in_layer) return top.at(n);
  const auto dot = r.rfind('.');
  const std::string base = r.substr(0, dot);
  std::string hf;
  if ((arch == "gemma2" || arch == "gemma3") && gemma.count(base)) hf = gemma.at(base);
  else if (arch == "phi3" && base == "ffn_up") hf = "mlp.gate_up_proj";
  else hf = blk.at(base);
  return "model.layers." + L + "." + hf + r.substr(dot);
}

// Hugging Face's Q/K row order from llama.cpp's: HF row h*d + j*d/2 + i holds GGUF row h*d + 2i + j.
std::vector<uint8_t> unpermute(std::span<const uint8_t> data, int64_t rows, int heads) {
  const size_t row_bytes = data.size() / static_cast<size_t>(rows);
  const int64_t d = rows / heads, half = d / 2;
  std::vector<uint8_t> out(data.size());
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j)
        std::memcpy(out.data() + static_cast<size_t>(h * d + j * half + i) * row_bytes,
                    data.data() + static_cast<size_t>(h * d + 2 * i + j) * row_bytes, row_bytes);
  return out;
}

void put_varint(std::string& s, uint64_t v) {
  while (v >= 0x80) {
    s += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  s += static_cast<char>(v);
}

// A SentencePiece ModelProto holding only its pieces (piece, score, type).
std::string sentencepiece_model(const llmkit::Vocab& v) {
  std::string out;
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    std::string piece;
    put_varint(piece, (1 << 3) | 2);
    put_varint(piece, v.tokens[i].size());
    piece += v.tokens[i];
    piece += static_cast<char>((2 << 3) | 5);
    char f[4];
    std::memcpy(f, &v.scores[i], 4);
    piece.append(f, 4);
    put_varint(piece, (3 << 3) | 0);
    put_varint(piece, static_cast<uint64_t>(v.types[i]));
    put_varint(out, (1 << 3) | 2);
    put_varint(out, piece.size());
    out += piece;
  }
  return out;
}

}  // namespace

std::vector<uint8_t> safetensors_bytes(const std::vector<SafetensorsEntry>& tensors) {
  JsonWriter h;
  h.begin_object().key("__metadata__").begin_object().field("format", "pt").end_object();
  uint64_t off = 0;
  for (const auto& t : tensors) {
    h.key(t.name).begin_object().field("dtype", t.dtype).key("shape").begin_array();
    for (int64_t d : t.shape) h.value(d);
    h.end_array().key("data_offsets").begin_array().value(off).value(off + t.data.size()).end_array().end_object();
    off += t.data.size();
  }
  std::string header = h.end_object().take();
  while (header.size() % 8) header += ' ';
  std::vector<uint8_t> out(8);
  uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  out.insert(out.end(), header.begin(), header.end());
  for (const auto& t : tensors) out.insert(out.end(), t.data.begin(), t.data.end());
  return out;
}

void export_hf_folder(const fs::path& gguf, const fs::path& dir, int shards) {
  const GgufFile f = GgufFile::open(gguf.string());
  const std::string arch = f.get<std::string>("general.architecture");
  auto hp = [&](const char* k) { return *f.get_int(arch + "." + k); };
  fs::create_directories(dir);
  const llmkit::Vocab v = llmkit::load_vocab(f);

  // config.json
  JsonWriter c;
  c.begin_object().key("architectures").begin_array();
  static const std::map<std::string, std::string> classes = {
      {"llama", "LlamaForCausalLM"}, {"qwen2", "Qwen2ForCausalLM"},   {"qwen3", "Qwen3ForCausalLM"},
      {"gemma2", "Gemma2ForCausalLM"}, {"gemma3", "Gemma3ForCausalLM"}, {"phi3", "Phi3ForCausalLM"},
      {"bert", "BertModel"}};
  c.value(classes.at(arch)).end_array();
  c.field("model_type", arch);
  c.field("hidden_size", hp("embedding_length")).field("num_hidden_layers", hp("block_count"));
  c.field("intermediate_size", hp("feed_forward_length")).field("num_attention_heads", hp("attention.head_count"));
  c.field("max_position_embeddings", hp("context_length")).field("vocab_size", uint64_t(v.size()));
  if (arch == "bert") {
    c.field("layer_norm_eps", f.get<float>("bert.attention.layer_norm_epsilon")).field("hidden_act", "gelu");
    c.field("type_vocab_size", *f.get_int("tokenizer.ggml.token_type_count"));
  } else {
    c.field("num_key_value_heads", f.get_int(arch + ".attention.head_count_kv").value_or(hp("attention.head_count")));
    const bool gemma = arch == "gemma2" || arch == "gemma3";
    c.field("rms_norm_eps", f.get<float>(arch + ".attention.layer_norm_rms_epsilon"));
    c.field(gemma ? "hidden_activation" : "hidden_act", gemma ? "gelu_pytorch_tanh" : "silu");
    c.field("rope_theta", f.get_opt<float>(arch + ".rope.freq_base").value_or(10000.f));
    if (auto kl = f.get_int(arch + ".attention.key_length")) c.field("head_dim", *kl);
    if (auto w = f.get_int(arch + ".attention.sliding_window")) c.field("sliding_window", *w);
    for (const char* k : {"attn_logit_softcapping", "final_logit_softcapping"})
      if (auto v = f.get_opt<float>(arch + "." + k)) c.field(k, *v);
    // A Llama 3.1 file carries its rope factors; its config names the rule they come from.
    if (f.find_tensor("rope_freqs.weight"))
      c.key("rope_scaling").begin_object().field("rope_type", "llama3").field("factor", 8.0).field("low_freq_factor", 1.0)
          .field("high_freq_factor", 4.0).field("original_max_position_embeddings", 8192).end_object();
    c.field("tie_word_embeddings", f.find_tensor("output.weight") == nullptr);
    if (v.bos >= 0) c.field("bos_token_id", v.bos);
    if (v.eos >= 0) c.field("eos_token_id", v.eos);
  }
  write_text(dir / "config.json", c.end_object().take());

  // Weights
  std::vector<SafetensorsEntry> entries;
  for (const auto& t : f.tensors()) {
    if (t.name == "rope_freqs.weight") continue;  // computed from config.json's rope_scaling
    SafetensorsEntry e;
    e.name = hf_name(arch, t.name);
    e.dtype = llmkit::ggml_type_name(t.type);
    for (int d = static_cast<int>(t.n_dims) - 1; d >= 0; --d) e.shape.push_back(t.ne[static_cast<size_t>(d)]);
    auto data = f.tensor_data(t);
    const bool q = t.name.find(".attn_q.") != std::string::npos, k = t.name.find(".attn_k.") != std::string::npos;
    if (arch == "llama" && (q || k)) {
      const int64_t heads = q ? hp("attention.head_count") : f.get_int("llama.attention.head_count_kv").value_or(hp("attention.head_count"));
      e.data = unpermute(data, e.shape[0], static_cast<int>(heads));
    } else if ((arch == "gemma2" || arch == "gemma3") && t.n_dims == 1 && t.name.find("norm") != std::string::npos) {
      // Gemma's checkpoints hold w where its norm multiplies by 1 + w (GGUF files hold 1 + w)
      std::vector<float> w(t.n_elements);
      std::memcpy(w.data(), data.data(), data.size());
      for (float& x : w) x -= 1.0f;
      e.data.resize(data.size());
      std::memcpy(e.data.data(), w.data(), data.size());
    } else {
      e.data.assign(data.begin(), data.end());
    }
    entries.push_back(std::move(e));
  }
  if (shards <= 1) {
    write_file(dir / "model.safetensors", safetensors_bytes(entries));
  } else {
    JsonWriter idx;
    idx.begin_object().key("weight_map").begin_object();
    const size_t per = (entries.size() + static_cast<size_t>(shards) - 1) / static_cast<size_t>(shards);
    for (int s = 0; s < shards; ++s) {
      char name[64];
      std::snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", s + 1, shards);
      std::vector<SafetensorsEntry> part;
      for (size_t i = static_cast<size_t>(s) * per; i < std::min(entries.size(), static_cast<size_t>(s + 1) * per); ++i) {
        part.push_back(entries[i]);
        idx.field(entries[i].name, name);
      }
      write_file(dir / name, safetensors_bytes(part));
    }
    write_text(dir / "model.safetensors.index.json", idx.end_object().end_object().take());
  }

  // Tokenizer
  JsonWriter tc;
  tc.begin_object();
  auto tok_field = [&](const char* key, int32_t id) {
    if (id >= 0) tc.field(key, v.tokens[static_cast<size_t>(id)]);
  };
  if (v.kind == llmkit::TokenizerKind::SentencePiece) {
    write_text(dir / "tokenizer.model", sentencepiece_model(v));
    tok_field("bos_token", v.bos);
    tok_field("eos_token", v.eos);
    tok_field("unk_token", v.unk);
    if (auto b = f.get_opt<bool>("tokenizer.ggml.add_bos_token")) tc.field("add_bos_token", *b);
    if (auto b = f.get_opt<bool>("tokenizer.ggml.add_eos_token")) tc.field("add_eos_token", *b);
  } else {
    const bool wpm = v.kind == llmkit::TokenizerKind::WordPiece;
    JsonWriter tj;
    tj.begin_object().field("version", "1.0").key("added_tokens").begin_array();
    for (size_t i = 0; i < v.size(); ++i)
      if (v.types[i] == llmkit::TokenType::Control || v.types[i] == llmkit::TokenType::UserDefined)
        tj.begin_object()
            .field("id", uint64_t(i))
            .field("content", v.tokens[i])
            .field("special", v.types[i] == llmkit::TokenType::Control)
            .end_object();
    tj.end_array();
    if (wpm) {
      tj.key("pre_tokenizer").begin_object().field("type", "BertPreTokenizer").end_object();
      tj.key("post_processor").begin_object().field("type", "TemplateProcessing").key("single").begin_array();
      tj.begin_object().key("SpecialToken").begin_object().field("id", v.tokens[static_cast<size_t>(v.cls)]).field("type_id", 0).end_object().end_object();
      tj.begin_object().key("Sequence").begin_object().field("id", "A").field("type_id", 0).end_object().end_object();
      tj.begin_object().key("SpecialToken").begin_object().field("id", v.tokens[static_cast<size_t>(v.sep)]).field("type_id", 0).end_object().end_object();
      tj.end_array().end_object();
      tj.key("model").begin_object().field("type", "WordPiece").field("unk_token", "[UNK]");
      tj.field("continuing_subword_prefix", "##").key("vocab").begin_object();
      for (size_t i = 0; i < v.size(); ++i) {
        const std::string& t = v.tokens[i];
        std::string hf;
        if (t.size() >= 2 && t.front() == '[' && t.back() == ']') hf = t;
        else if (t.compare(0, 3, "\xE2\x96\x81") == 0) hf = t.substr(3);
        else hf = "##" + t;
        tj.field(hf, uint64_t(i));
      }
      tj.end_object().end_object();
      tok_field("unk_token", v.unk);
      tok_field("sep_token", v.sep);
      tok_field("pad_token", v.pad);
      tok_field("cls_token", v.cls);
      tok_field("mask_token", v.mask);
    } else {
      tj.key("pre_tokenizer").begin_object().field("type", "ByteLevel").field("add_prefix_space", false);
      tj.field("use_regex", true).end_object();
      tj.key("post_processor").begin_object().field("type", "ByteLevel").end_object();
      tj.key("model").begin_object().field("type", "BPE").key("vocab").begin_object();
      for (size_t i = 0; i < v.size(); ++i) tj.field(v.tokens[i], uint64_t(i));
      tj.end_object().key("merges").begin_array();
      for (const auto& m : f.get_array("tokenizer.ggml.merges").strings) tj.value(m);
      tj.end_array().end_object();
      tok_field("bos_token", v.bos);
      tok_field("eos_token", v.eos);
    }
    write_text(dir / "tokenizer.json", tj.end_object().take());
  }
  if (auto t = f.get_opt<std::string>("tokenizer.chat_template")) tc.field("chat_template", *t);
  write_text(dir / "tokenizer_config.json", tc.end_object().take());

  if (auto pooling = f.get_int(arch + ".pooling_type"); pooling && arch == "bert") {
    write_text(dir / "modules.json",
               R"([{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},)"
               R"({"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"}])");
    fs::create_directories(dir / "1_Pooling");
    JsonWriter p;
    p.begin_object().field("pooling_mode_cls_token", *pooling == 2).field("pooling_mode_mean_tokens", *pooling == 1);
    p.field("pooling_mode_lasttoken", *pooling == 3);
    write_text(dir / "1_Pooling" / "config.json", p.end_object().take());
  }
}

}  // namespace fixture
