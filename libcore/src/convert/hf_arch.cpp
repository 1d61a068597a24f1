// config.json hyperparameters to GGUF keys, and Hugging Face tensor names to llama.cpp's, for
// the architectures of the architecture table (arch.h), whose entries give each tensor's
// Hugging Face name; what is particular to a family (rope scaling, Gemma's norms, soft-capping)
// is here.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "hf_json.h"
#include "llmkit/arch.h"
#include "llmkit/error.h"
#include "llmkit/quant.h"
#include "llmkit/shapes.h"

namespace llmkit::hf {

std::vector<std::string> supported_archs();

namespace {

const ArchSpec* spec_for(const std::string& hf_arch) {
  for (const ArchSpec& a : architectures())
    for (const char* c : a.hf_classes)
      if (hf_arch == c) return &a;
  return nullptr;
}

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

// The table's entry for a checkpoint name, and its layer (-1: model-wide); nullptr: not a weight
// of this architecture. BERT checkpoints may prefix "bert." and call LayerNorm's parameters
// gamma and beta (TensorFlow-era names).
const TensorSpec* spec_of(const ArchSpec& a, std::string n, int n_layer, int& layer) {
  layer = -1;
  if (a.encoder) {
    if (n.compare(0, 5, "bert.") == 0) n = n.substr(5);
    if (n.size() > 6 && n.compare(n.size() - 6, 6, ".gamma") == 0) n = n.substr(0, n.size() - 6) + ".weight";
    if (n.size() > 5 && n.compare(n.size() - 5, 5, ".beta") == 0) n = n.substr(0, n.size() - 5) + ".bias";
  }
  for (const TensorSpec& t : a.tensors) {
    if (!t.hf) continue;
    const std::string hf = t.hf;
    if (!t.layer) {
      if (n == hf) return &t;
      continue;
    }
    const size_t at = hf.find("%d");
    std::string rest;
    if (split_layer(n, hf.substr(0, at), layer, rest) && layer < n_layer && rest == hf.substr(at + 3)) return &t;
  }
  layer = -1;
  return nullptr;
}

// Tensors a checkpoint carries that the GGUF does not need (buffers, training heads).
bool ignored(const ArchSpec& a, const std::string& n) {
  auto ends = [&](const char* s) {
    const size_t k = std::char_traits<char>::length(s);
    return n.size() >= k && n.compare(n.size() - k, k, s) == 0;
  };
  auto starts = [&](const char* s) { return n.rfind(s, 0) == 0; };
  if (ends("rotary_emb.inv_freq")) return true;
  if (a.encoder) {
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

std::vector<float> float_array(const JsonFile& config, simdjson::dom::element e, const char* what) {
  simdjson::dom::array arr;
  if (e.get_array().get(arr)) throw Error("bad_checkpoint", config.path + ": rope_scaling." + what + " is not a list");
  std::vector<float> out;
  for (auto v : arr) {
    double d;
    if (v.get_double().get(d) || !std::isfinite(d) || d <= 0)
      throw Error("bad_checkpoint", config.path + ": rope_scaling." + what + " holds a value that is not a positive number");
    out.push_back(static_cast<float>(d));
  }
  return out;
}

// A computed F32 vector written in place of a checkpoint tensor (rope factors).
HfTensor computed(const std::string& name, std::vector<float> values) {
  HfTensor h;
  h.name = name;
  h.shape = {static_cast<int64_t>(values.size())};
  h.type = GgmlType::F32;
  h.values = std::move(values);
  return h;
}

// rope_scaling: linear (positions divided), llama3 (a rope_freqs tensor of per-dimension
// divisors, computed as Meta's rule gives them), longrope (Phi-3's long and short factors and
// their attention factor). Returns the tensors to add.
std::vector<HfTensor> rope_scaling(const JsonFile& config, const ArchSpec& spec, const std::string& a, float base,
                                   int64_t n_rot, int64_t n_ctx, std::vector<GgufKV>& kv) {
  simdjson::dom::element rs;
  if (config.root["rope_scaling"].get(rs) || rs.is_null()) return {};
  std::string_view type;
  if (rs["rope_type"].get_string().get(type) && rs["type"].get_string().get(type))
    throw Error("bad_checkpoint", config.path + ": rope_scaling has no type");
  auto num = [&](const char* key, double fallback) {
    double v;
    return rs[key].get_double().get(v) ? fallback : v;
  };
  const double factor = num("factor", 1.0);
  if (!std::isfinite(factor) || factor <= 0) throw Error("bad_checkpoint", config.path + ": rope_scaling.factor must be positive");
  if (type == "default") return {};
  if (type == "linear") {
    set_kv(kv, a + "rope.scaling.type", GgufValue("linear"));
    set_kv(kv, a + "rope.scaling.factor", GgufValue(static_cast<float>(factor)));
    return {};
  }
  if (type == "llama3" && std::string(spec.name) == "llama") {
    const int64_t orig = static_cast<int64_t>(num("original_max_position_embeddings", 8192));
    return {computed("rope_freqs.weight", llama3_rope_factors(base, n_rot, static_cast<float>(factor),
                                                              static_cast<float>(num("low_freq_factor", 1.0)),
                                                              static_cast<float>(num("high_freq_factor", 4.0)), orig))};
  }
  if ((type == "longrope" || type == "su") && std::string(spec.name) == "phi3") {
    simdjson::dom::element lf, sf;
    if (rs["long_factor"].get(lf) || rs["short_factor"].get(sf))
      throw Error("bad_checkpoint", config.path + ": rope_scaling longrope lacks long_factor or short_factor");
    std::vector<float> lv = float_array(config, lf, "long_factor"), sv = float_array(config, sf, "short_factor");
    if (static_cast<int64_t>(lv.size()) != n_rot / 2 || static_cast<int64_t>(sv.size()) != n_rot / 2)
      throw Error("bad_checkpoint", config.path + ": rope_scaling factors must hold " + std::to_string(n_rot / 2) + " values");
    const int64_t orig = config.get_int("original_max_position_embeddings").value_or(n_ctx);
    const float attn = longrope_attn_factor(n_ctx, orig);
    set_kv(kv, a + "rope.scaling.type", GgufValue("longrope"));
    set_kv(kv, a + "rope.scaling.original_context_length", GgufValue(static_cast<uint32_t>(orig)));
    set_kv(kv, a + "rope.scaling.attn_factor", GgufValue(attn));
    return {computed("rope_factors_long.weight", std::move(lv)), computed("rope_factors_short.weight", std::move(sv))};
  }
  throw Error("unsupported_model", config.path + ": rope_scaling type '" + std::string(type) + "' is not supported for " +
                                       spec.name + " (linear" + (std::string(spec.name) == "llama" ? ", llama3" : "") +
                                       (std::string(spec.name) == "phi3" ? ", longrope" : "") + ")");
}

}  // namespace

void read_arch(const std::string& dir, const JsonFile& config, const Checkpoint& ck, GgmlType float_type, HfModel& m) {
  simdjson::dom::array archs;
  std::string_view first;
  if (config.root["architectures"].get_array().get(archs) || archs.size() == 0 || archs.at(0).get_string().get(first))
    throw Error("bad_checkpoint", config.path + ": no \"architectures\" list");
  m.hf_arch = std::string(first);
  const ArchSpec* spec = spec_for(m.hf_arch);
  if (!spec) {
    std::string list;
    for (const auto& a : supported_archs()) list += std::string(list.empty() ? "" : ", ") + a;
    throw Error("unsupported_model", "architecture '" + m.hf_arch + "' is not supported (supported: " + list + ")");
  }
  m.arch = spec->name;
  const std::string a = m.arch + ".";
  const bool gemma = m.arch == "gemma2" || m.arch == "gemma3";
  auto& kv = m.metadata;

  const int64_t n_embd = config.need_int("hidden_size");
  const int64_t n_layer = config.need_int("num_hidden_layers");
  const int64_t n_ff = config.need_int("intermediate_size");
  const int64_t n_head = config.need_int("num_attention_heads");
  const int64_t head_dim = config.get_int("head_dim").value_or(n_head > 0 ? n_embd / n_head : 0);
  if (n_embd <= 0 || n_layer <= 0 || n_ff <= 0 || n_head <= 0 || n_layer > 100000 || head_dim <= 0 || head_dim % 2 ||
      (!config.get_int("head_dim") && n_embd % n_head != 0))
    throw Error("bad_checkpoint", config.path + ": hidden_size, num_hidden_layers, intermediate_size, "
                                                "num_attention_heads or head_dim out of range");
  const int64_t n_ctx = config.get_int("max_position_embeddings").value_or(2048);
  auto u32 = [](int64_t v) { return GgufValue(static_cast<uint32_t>(v)); };

  set_kv(kv, a + "context_length", u32(n_ctx));
  set_kv(kv, a + "embedding_length", u32(n_embd));
  set_kv(kv, a + "block_count", u32(n_layer));
  set_kv(kv, a + "feed_forward_length", u32(n_ff));
  set_kv(kv, a + "attention.head_count", u32(n_head));

  int64_t n_head_kv = n_head;
  std::vector<HfTensor> extra;
  if (spec->encoder) {
    set_kv(kv, a + "attention.layer_norm_epsilon",
           GgufValue(static_cast<float>(config.get_double("layer_norm_eps").value_or(1e-12))));
    set_kv(kv, a + "attention.causal", GgufValue(false));
    if (uint32_t pooling = sentence_transformers_pooling(dir)) set_kv(kv, a + "pooling_type", GgufValue(pooling));
    set_kv(kv, "tokenizer.ggml.token_type_count", u32(config.get_int("type_vocab_size").value_or(1)));
    if (auto pe = config.get_string("position_embedding_type"); pe && *pe != "absolute")
      throw Error("unsupported_model", config.path + ": position_embedding_type '" + *pe + "' (only absolute)");
    if (config.get_string("hidden_act").value_or("gelu") != "gelu")
      throw Error("unsupported_model", config.path + ": hidden_act '" + *config.get_string("hidden_act") + "' (gelu only)");
  } else {
    n_head_kv = config.get_int("num_key_value_heads").value_or(n_head);
    if (n_head_kv <= 0 || n_head % n_head_kv != 0)
      throw Error("bad_checkpoint", config.path + ": num_key_value_heads does not divide num_attention_heads");
    set_kv(kv, a + "attention.head_count_kv", u32(n_head_kv));
    const double rotary = config.get_double("partial_rotary_factor").value_or(1.0);
    const int64_t n_rot = static_cast<int64_t>(static_cast<double>(head_dim) * rotary);
    if (n_rot <= 0 || n_rot > head_dim || n_rot % 2)
      throw Error("bad_checkpoint", config.path + ": partial_rotary_factor gives an odd or empty rotation");
    set_kv(kv, a + "rope.dimension_count", u32(n_rot));
    if (head_dim * n_head != n_embd) {
      set_kv(kv, a + "attention.key_length", u32(head_dim));
      set_kv(kv, a + "attention.value_length", u32(head_dim));
    }
    const float base = static_cast<float>(config.get_double("rope_theta").value_or(10000.0));
    set_kv(kv, a + "rope.freq_base", GgufValue(base));
    set_kv(kv, a + "attention.layer_norm_rms_epsilon",
           GgufValue(static_cast<float>(config.get_double("rms_norm_eps").value_or(1e-6))));
    extra = rope_scaling(config, *spec, a, base, n_rot, n_ctx, kv);
    if (spec->swa_period) {
      if (auto w = config.get_int("sliding_window")) set_kv(kv, a + "attention.sliding_window", u32(*w));
      if (auto b = config.get_double("rope_local_base_freq")) set_kv(kv, a + "rope.freq_base_swa", GgufValue(static_cast<float>(*b)));
    }
    if (spec->attn_softcap)
      if (auto c = config.get_double("attn_logit_softcapping")) set_kv(kv, a + "attn_logit_softcapping", GgufValue(static_cast<float>(*c)));
    if (auto c = config.get_double("final_logit_softcapping")) set_kv(kv, a + "final_logit_softcapping", GgufValue(static_cast<float>(*c)));
    // Gemma names its GELU gelu_pytorch_tanh (hidden_activation); the others use SiLU.
    const std::string act = config.get_string("hidden_activation").value_or(config.get_string("hidden_act").value_or(gemma ? "gelu_pytorch_tanh" : "silu"));
    const bool ok = spec->act == Activation::Gelu ? act == "gelu_pytorch_tanh" || act == "gelu_tanh" || act == "gelu" : act == "silu";
    if (!ok) throw Error("unsupported_model", config.path + ": activation '" + act + "' is not " + m.hf_arch + "'s");
  }
  if (auto v = config.get_int("vocab_size"); v && std::string(spec->name) == "llama") set_kv(kv, a + "vocab_size", u32(*v));

  // Tensors, in checkpoint order; llama.cpp's converter keeps 1-D tensors and BERT's token type
  // embedding in F32 and writes the others at the output float type.
  for (const auto& e : ck.tensors()) {
    const StTensor& t = *e.tensor;
    int layer = -1;
    const TensorSpec* ts = spec_of(*spec, t.name, static_cast<int>(n_layer), layer);
    if (!ts) {
      if (ignored(*spec, t.name)) continue;
      throw Error("unsupported_model", e.file->path() + ": tensor '" + t.name + "' has no GGUF name for " + m.hf_arch);
    }
    const std::string name = tensor_name(*ts, layer);
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
    // Gemma's RMS norms multiply by (1 + w); llama.cpp's files hold 1 + w, so the norm is a plain one.
    if (gemma && t.shape.size() == 1 && name.find("norm") != std::string::npos) {
      h.values.resize(static_cast<size_t>(t.n_elements));
      const GgmlType from = t.dtype == StDtype::F32 ? GgmlType::F32 : t.dtype == StDtype::F16 ? GgmlType::F16 : GgmlType::BF16;
      dequantize_row(from, t.data.data(), h.values.data(), static_cast<int64_t>(t.n_elements));
      for (float& v : h.values) v += 1.0f;
    }
    // llama's rope pairs dimensions (2i, 2i+1); Hugging Face's rotate_half pairs (i, i+d/2). The
    // Q and K rows are reordered head by head so the interleaved rope sees the same pairs.
    if (!spec->encoder && !spec->rope_neox && (ts->role == Role::Q || ts->role == Role::K))
      h.permute_heads = static_cast<int>(ts->role == Role::Q ? n_head : n_head_kv);
    if (h.permute_heads > 0 && (t.shape[0] % (2 * h.permute_heads) != 0))
      throw Error("bad_checkpoint", e.file->path() + ": tensor '" + t.name + "' has " + std::to_string(t.shape[0]) +
                                        " rows, not a whole number of heads of even size");
    m.tensors.push_back(std::move(h));
  }
  for (HfTensor& h : extra) m.tensors.push_back(std::move(h));
  bool has_embd = false;
  for (const auto& t : m.tensors) has_embd |= t.name == "token_embd.weight";
  if (!has_embd) throw Error("bad_checkpoint", dir + ": no token embedding tensor in the checkpoint");
  // Hugging Face writes tied weights once; llama.cpp then has no output.weight and uses the
  // embedding for the output too, which our engine does as well.
}

std::vector<std::string> supported_archs() {
  std::vector<std::string> out;
  for (const ArchSpec& a : architectures())
    for (const char* c : a.hf_classes) out.push_back(c);
  return out;
}

}  // namespace llmkit::hf

namespace llmkit {
std::vector<std::string> hf_supported_architectures() { return hf::supported_archs(); }
}  // namespace llmkit
