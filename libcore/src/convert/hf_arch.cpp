// config.json hyperparameters to GGUF keys, and Hugging Face tensor names to llama.cpp's, for
// the architectures llmkit runs: llama (Llama, Mistral), qwen2 and bert.
#include <cstdio>
#include <filesystem>
#include <string>

#include "hf_json.h"
#include "llmkit/error.h"

namespace llmkit::hf {
namespace {

enum class Family { Llama, Qwen2, Bert };

struct ArchSpec {
  const char* hf;
  const char* gguf;
  Family family;
};
constexpr ArchSpec kArchs[] = {
    {"LlamaForCausalLM", "llama", Family::Llama},
    {"MistralForCausalLM", "llama", Family::Llama},
    {"Qwen2ForCausalLM", "qwen2", Family::Qwen2},
    {"BertModel", "bert", Family::Bert},
    {"BertForMaskedLM", "bert", Family::Bert},
};

std::string layer_name(int layer, const char* what) { return "blk." + std::to_string(layer) + "." + what; }

// "model.layers.12.self_attn.q_proj.weight" -> layer 12, rest "self_attn.q_proj.weight".
bool split_layer(const std::string& name, const std::string& prefix, int& layer, std::string& rest) {
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  size_t i = prefix.size(), j = i;
  while (j < name.size() && name[j] >= '0' && name[j] <= '9') ++j;
  if (j == i || j >= name.size() || name[j] != '.' || j - i > 6) return false;
  layer = std::stoi(name.substr(i, j - i));
  rest = name.substr(j + 1);
  return true;
}

// llama.cpp's names for a decoder (llama and qwen2 share them). Empty: not a model weight.
std::string decoder_name(const std::string& n, int n_layer, int& layer) {
  layer = -1;
  if (n == "model.embed_tokens.weight") return "token_embd.weight";
  if (n == "model.norm.weight") return "output_norm.weight";
  if (n == "lm_head.weight") return "output.weight";
  std::string rest;
  if (!split_layer(n, "model.layers.", layer, rest) || layer >= n_layer) return {};
  static const std::pair<const char*, const char*> kMap[] = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.q_proj.bias", "attn_q.bias"},
      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.k_proj.bias", "attn_k.bias"},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.v_proj.bias", "attn_v.bias"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"},
  };
  for (const auto& [hf, gg] : kMap)
    if (rest == hf) return layer_name(layer, gg);
  return {};
}

std::string bert_name(std::string n, int n_layer, int& layer) {
  layer = -1;
  if (n.compare(0, 5, "bert.") == 0) n = n.substr(5);
  // Old TensorFlow-era checkpoints call LayerNorm's parameters gamma and beta.
  if (n.size() > 6 && n.compare(n.size() - 6, 6, ".gamma") == 0) n = n.substr(0, n.size() - 6) + ".weight";
  if (n.size() > 5 && n.compare(n.size() - 5, 5, ".beta") == 0) n = n.substr(0, n.size() - 5) + ".bias";
  static const std::pair<const char*, const char*> kTop[] = {
      {"embeddings.word_embeddings.weight", "token_embd.weight"},
      {"embeddings.position_embeddings.weight", "position_embd.weight"},
      {"embeddings.token_type_embeddings.weight", "token_types.weight"},
      {"embeddings.LayerNorm.weight", "token_embd_norm.weight"},
      {"embeddings.LayerNorm.bias", "token_embd_norm.bias"},
  };
  for (const auto& [hf, gg] : kTop)
    if (n == hf) return gg;
  std::string rest;
  if (!split_layer(n, "encoder.layer.", layer, rest) || layer >= n_layer) return {};
  static const std::pair<const char*, const char*> kMap[] = {
      {"attention.self.query.weight", "attn_q.weight"},
      {"attention.self.query.bias", "attn_q.bias"},
      {"attention.self.key.weight", "attn_k.weight"},
      {"attention.self.key.bias", "attn_k.bias"},
      {"attention.self.value.weight", "attn_v.weight"},
      {"attention.self.value.bias", "attn_v.bias"},
      {"attention.output.dense.weight", "attn_output.weight"},
      {"attention.output.dense.bias", "attn_output.bias"},
      {"attention.output.LayerNorm.weight", "attn_output_norm.weight"},
      {"attention.output.LayerNorm.bias", "attn_output_norm.bias"},
      {"intermediate.dense.weight", "ffn_up.weight"},
      {"intermediate.dense.bias", "ffn_up.bias"},
      {"output.dense.weight", "ffn_down.weight"},
      {"output.dense.bias", "ffn_down.bias"},
      {"output.LayerNorm.weight", "layer_output_norm.weight"},
      {"output.LayerNorm.bias", "layer_output_norm.bias"},
  };
  for (const auto& [hf, gg] : kMap)
    if (rest == hf) return layer_name(layer, gg);
  return {};
}

// Tensors a checkpoint carries that the GGUF does not need (buffers, training heads).
bool ignored(Family f, const std::string& n) {
  auto ends = [&](const char* s) {
    const size_t k = std::char_traits<char>::length(s);
    return n.size() >= k && n.compare(n.size() - k, k, s) == 0;
  };
  auto starts = [&](const char* s) { return n.rfind(s, 0) == 0; };
  if (ends("rotary_emb.inv_freq")) return true;
  if (f == Family::Bert) {
    std::string m = starts("bert.") ? n.substr(5) : n;
    return m == "embeddings.position_ids" || m.rfind("pooler.", 0) == 0 || starts("cls.predictions") ||
           starts("cls.seq_relationship");
  }
  return false;
}

// The pooling a sentence-transformers folder declares (modules.json -> its Pooling module's
// config.json), as llama.cpp's pooling type ids: 1 mean, 2 cls, 3 last. 0 when none is declared.
uint32_t sentence_transformers_pooling(const std::string& dir) {
  namespace fs = std::filesystem;
  auto modules = load_json((fs::path(dir) / "modules.json").string(), false);
  if (!modules) return 0;
  simdjson::dom::array arr;
  if (modules->root.get_array().get(arr)) return 0;
  for (auto m : arr) {
    std::string_view type, path;
    if (m["type"].get_string().get(type) || m["path"].get_string().get(path)) continue;
    if (type.size() < 7 || type.substr(type.size() - 7) != "Pooling") continue;
    auto cfg = load_json((fs::path(dir) / std::string(path) / "config.json").string(), false);
    if (!cfg) return 0;
    if (cfg->get_bool("pooling_mode_mean_tokens").value_or(false)) return 1;
    if (cfg->get_bool("pooling_mode_cls_token").value_or(false)) return 2;
    if (cfg->get_bool("pooling_mode_lasttoken").value_or(false)) return 3;
    throw Error("unsupported_model", (fs::path(dir) / std::string(path) / "config.json").string() +
                                         ": a pooling mode other than mean, cls or last token");
  }
  return 0;
}

}  // namespace

void read_arch(const std::string& dir, const JsonFile& config, const Checkpoint& ck, GgmlType float_type, HfModel& m) {
  simdjson::dom::array archs;
  std::string_view first;
  if (config.root["architectures"].get_array().get(archs) || archs.size() == 0 || archs.at(0).get_string().get(first))
    throw Error("bad_checkpoint", config.path + ": no \"architectures\" list");
  m.hf_arch = std::string(first);
  const ArchSpec* spec = nullptr;
  for (const auto& a : kArchs)
    if (m.hf_arch == a.hf) spec = &a;
  if (!spec) {
    std::string list;
    for (const auto& a : kArchs) list += std::string(list.empty() ? "" : ", ") + a.hf;
    throw Error("unsupported_model", "architecture '" + m.hf_arch + "' is not supported (supported: " + list + ")");
  }
  m.arch = spec->gguf;
  const std::string a = m.arch + ".";
  auto& kv = m.metadata;

  const int64_t n_embd = config.need_int("hidden_size");
  const int64_t n_layer = config.need_int("num_hidden_layers");
  const int64_t n_ff = config.need_int("intermediate_size");
  const int64_t n_head = config.need_int("num_attention_heads");
  if (n_embd <= 0 || n_layer <= 0 || n_ff <= 0 || n_head <= 0 || n_embd % n_head != 0 || n_layer > 100000)
    throw Error("bad_checkpoint", config.path + ": hidden_size, num_hidden_layers, intermediate_size or "
                                                "num_attention_heads out of range");
  const int64_t n_ctx = config.get_int("max_position_embeddings").value_or(2048);
  auto u32 = [](int64_t v) { return GgufValue(static_cast<uint32_t>(v)); };

  set_kv(kv, a + "context_length", u32(n_ctx));
  set_kv(kv, a + "embedding_length", u32(n_embd));
  set_kv(kv, a + "block_count", u32(n_layer));
  set_kv(kv, a + "feed_forward_length", u32(n_ff));
  set_kv(kv, a + "attention.head_count", u32(n_head));

  int64_t n_head_kv = n_head;
  if (spec->family == Family::Bert) {
    set_kv(kv, a + "attention.layer_norm_epsilon",
           GgufValue(static_cast<float>(config.get_double("layer_norm_eps").value_or(1e-12))));
    set_kv(kv, a + "attention.causal", GgufValue(false));
    if (uint32_t pooling = sentence_transformers_pooling(dir)) set_kv(kv, a + "pooling_type", GgufValue(pooling));
    set_kv(kv, "tokenizer.ggml.token_type_count", u32(config.get_int("type_vocab_size").value_or(1)));
    if (auto pe = config.get_string("position_embedding_type"); pe && *pe != "absolute")
      throw Error("unsupported_model", config.path + ": position_embedding_type '" + *pe + "' (only absolute)");
  } else {
    n_head_kv = config.get_int("num_key_value_heads").value_or(n_head);
    if (n_head_kv <= 0 || n_head % n_head_kv != 0)
      throw Error("bad_checkpoint", config.path + ": num_key_value_heads does not divide num_attention_heads");
    set_kv(kv, a + "attention.head_count_kv", u32(n_head_kv));
    const int64_t head_dim = config.get_int("head_dim").value_or(n_embd / n_head);
    set_kv(kv, a + "rope.dimension_count", u32(head_dim));
    set_kv(kv, a + "rope.freq_base", GgufValue(static_cast<float>(config.get_double("rope_theta").value_or(10000.0))));
    set_kv(kv, a + "attention.layer_norm_rms_epsilon",
           GgufValue(static_cast<float>(config.get_double("rms_norm_eps").value_or(1e-6))));
    simdjson::dom::element rs;
    if (!config.root["rope_scaling"].get(rs) && !rs.is_null()) {
      std::string_view type;
      if (rs["rope_type"].get_string().get(type) && rs["type"].get_string().get(type))
        throw Error("bad_checkpoint", config.path + ": rope_scaling has no type");
      double factor = 1.0;
      if (rs["factor"].get_double().get(factor)) factor = 1.0;
      if (type == "linear") {
        set_kv(kv, a + "rope.scaling.type", GgufValue("linear"));
        set_kv(kv, a + "rope.scaling.factor", GgufValue(static_cast<float>(factor)));
      } else if (type != "default") {
        throw Error("unsupported_model", config.path + ": rope_scaling type '" + std::string(type) +
                                             "' is not supported by llmkit's engine (linear only)");
      }
    }
    if (config.get_string("hidden_act").value_or("silu") != "silu")
      throw Error("unsupported_model", config.path + ": hidden_act '" + *config.get_string("hidden_act") + "' (silu only)");
  }
  if (spec->family == Family::Bert && config.get_string("hidden_act").value_or("gelu") != "gelu")
    throw Error("unsupported_model", config.path + ": hidden_act '" + *config.get_string("hidden_act") + "' (gelu only)");
  if (auto v = config.get_int("vocab_size"); v && spec->family == Family::Llama) set_kv(kv, a + "vocab_size", u32(*v));

  // Tensors, in checkpoint order; llama.cpp's converter keeps 1-D tensors and BERT's token type
  // embedding in F32 and writes the others at the output float type.
  for (const auto& e : ck.tensors()) {
    const StTensor& t = *e.tensor;
    int layer = -1;
    std::string name = spec->family == Family::Bert ? bert_name(t.name, static_cast<int>(n_layer), layer)
                                                     : decoder_name(t.name, static_cast<int>(n_layer), layer);
    if (name.empty()) {
      if (ignored(spec->family, t.name)) continue;
      throw Error("unsupported_model", e.file->path() + ": tensor '" + t.name + "' has no GGUF name for " + m.hf_arch);
    }
    if (t.dtype != StDtype::F32 && t.dtype != StDtype::F16 && t.dtype != StDtype::BF16)
      throw Error("unsupported_model", e.file->path() + ": tensor '" + t.name + "' is " + st_dtype_name(t.dtype) +
                                           " (F32, F16 and BF16 weights are converted)");
    if (t.shape.empty() || t.shape.size() > 2)
      throw Error("unsupported_model", e.file->path() + ": tensor '" + t.name + "' has " + std::to_string(t.shape.size()) +
                                           " dimensions (1 or 2 expected)");
    HfTensor h;
    h.name = name;
    h.src = &t;
    h.file = e.file;
    h.shape.assign(t.shape.rbegin(), t.shape.rend());
    const bool keep_f32 = t.shape.size() == 1 || name == "token_types.weight";
    h.type = keep_f32 ? GgmlType::F32 : float_type;
    // llama's rope pairs dimensions (2i, 2i+1); Hugging Face's rotate_half pairs (i, i+d/2). The
    // Q and K rows are reordered head by head so the interleaved rope sees the same pairs.
    if (spec->family == Family::Llama) {
      const bool q = name.find(".attn_q.") != std::string::npos, k = name.find(".attn_k.") != std::string::npos;
      if (q || k) h.permute_heads = static_cast<int>(q ? n_head : n_head_kv);
    }
    if (h.permute_heads > 0 && (t.shape[0] % (2 * h.permute_heads) != 0))
      throw Error("bad_checkpoint", e.file->path() + ": tensor '" + t.name + "' has " + std::to_string(t.shape[0]) +
                                        " rows, not a whole number of heads of even size");
    m.tensors.push_back(std::move(h));
  }
  bool has_embd = false;
  for (const auto& t : m.tensors) has_embd |= t.name == "token_embd.weight";
  if (!has_embd) throw Error("bad_checkpoint", dir + ": no token embedding tensor in the checkpoint");
  // Hugging Face writes tied weights once; llama.cpp then has no output.weight and uses the
  // embedding for the output too, which our engine does as well.
}

std::vector<std::string> supported_archs() {
  std::vector<std::string> out;
  for (const auto& a : kArchs) out.push_back(a.hf);
  return out;
}

}  // namespace llmkit::hf

namespace llmkit {
std::vector<std::string> hf_supported_architectures() { return hf::supported_archs(); }
}  // namespace llmkit
