#include "llmkit/quant_plan.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <utility>

#include "llmkit/error.h"
#include "llmkit/quant.h"

namespace llmkit {
namespace {

// llama_ftype ids (see file_type.cpp) and the base type of each preset.
constexpr QuantPreset kPresets[] = {
    {0, "F32", GgmlType::F32},        {1, "F16", GgmlType::F16},        {32, "BF16", GgmlType::BF16},
    {2, "Q4_0", GgmlType::Q4_0},      {3, "Q4_1", GgmlType::Q4_1},      {8, "Q5_0", GgmlType::Q5_0},
    {9, "Q5_1", GgmlType::Q5_1},      {7, "Q8_0", GgmlType::Q8_0},      {10, "Q2_K", GgmlType::Q2_K},
    {11, "Q3_K_S", GgmlType::Q3_K},   {12, "Q3_K_M", GgmlType::Q3_K},   {13, "Q3_K_L", GgmlType::Q3_K},
    {14, "Q4_K_S", GgmlType::Q4_K},   {15, "Q4_K_M", GgmlType::Q4_K},   {16, "Q5_K_S", GgmlType::Q5_K},
    {17, "Q5_K_M", GgmlType::Q5_K},   {18, "Q6_K", GgmlType::Q6_K},     {25, "IQ4_NL", GgmlType::IQ4_NL},
    {30, "IQ4_XS", GgmlType::IQ4_XS},  {22, "IQ3_XS", GgmlType::IQ3_S},   {26, "IQ3_S", GgmlType::IQ3_S},
    {27, "IQ3_M", GgmlType::IQ3_S},   {23, "IQ3_XXS", GgmlType::IQ3_XXS}, {29, "IQ2_M", GgmlType::IQ2_S},
    {28, "IQ2_S", GgmlType::IQ2_XS},  {20, "IQ2_XS", GgmlType::IQ2_XS},  {19, "IQ2_XXS", GgmlType::IQ2_XXS},
    {31, "IQ1_M", GgmlType::IQ1_M},   {24, "IQ1_S", GgmlType::IQ1_S},
};

enum Ftype : uint32_t {
  kQ4_0 = 2, kQ5_0 = 8, kQ2_K = 10, kQ3_K_S = 11, kQ3_K_M = 12, kQ3_K_L = 13, kQ4_K_S = 14, kQ4_K_M = 15,
  kQ5_K_S = 16, kQ5_K_M = 17, kIQ2_XXS = 19, kIQ2_XS = 20, kIQ3_XS = 22, kIQ3_XXS = 23, kIQ1_S = 24, kIQ4_NL = 25,
  kIQ3_S = 26, kIQ3_M = 27, kIQ2_S = 28, kIQ2_M = 29, kIQ4_XS = 30, kIQ1_M = 31,
};

// The lowest-bit presets, whose rules replace the others' for attn_v, ffn_down and attn_output.
bool lowest_bits(uint32_t f) { return f == kIQ2_XXS || f == kIQ2_XS || f == kIQ2_S || f == kIQ2_M || f == kIQ1_S || f == kIQ1_M; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
         });
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

int layer_of(const std::string& name) {
  int layer = -1;
  if (std::sscanf(name.c_str(), "blk.%d.", &layer) != 1) return -1;
  return layer;
}

// Layers that get more bits in the _M mixtures: the first and last eighth, and every third
// layer in between.
bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// Weights that are small, or that quantization would hurt, keep their type (as llama.cpp).
bool allows_quantization(const TensorInfo& t) {
  const std::string& n = t.name;
  if (n.size() < 6 || n.compare(n.size() - 6, 6, "weight") != 0) return false;
  if (ggml_n_dims(t) < 2) return false;
  for (const char* keep : {"_norm.weight", "ffn_gate_inp.weight", "ssm_conv1d.weight", "time_mix_first.weight",
                           "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
                           "time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight",
                           "attn_rel_b.weight"})
    if (contains(n, keep)) return false;
  return n != "position_embd.weight" && n != "token_types.weight";
}

struct ModelFacts {
  std::string arch;
  int n_layer = 0;
  int n_gqa = 1;
  int n_expert = 0;
  bool is_70b = false;
  bool has_output = false;
  int n_attention_wv = 0;
  bool has_imatrix = false;
};

// Tensors of one kind seen so far, in output order: the layer a rule counts in a dense model.
struct Counters {
  int attention_wv = 0, ffn_down = 0, ffn_gate = 0, ffn_up = 0;
};

// llama.cpp's mixture rules for one tensor (the K-quant and IQ presets; the legacy ones only
// touch the output tensor, and with an importance matrix the first ffn_down layers).
GgmlType mixture_type(const ModelFacts& m, uint32_t ftype, GgmlType type, const TensorInfo& t, Counters& c) {
  int& i_attention_wv = c.attention_wv;
  int& i_ffn_down = c.ffn_down;
  const std::string& name = t.name;
  const bool falcon = m.arch == "falcon";
  if (name == "output.weight" || (!m.has_output && name == "token_embd.weight")) {
    if (falcon || t.ne[0] % 256 != 0) return GgmlType::Q8_0;
    if (lowest_bits(ftype) || ftype == kIQ3_XXS) return GgmlType::Q5_K;
    return type == GgmlType::Q8_0 ? type : GgmlType::Q6_K;
  }
  if (name == "token_embd.weight") {
    if (ftype == kIQ2_XXS || ftype == kIQ2_XS || ftype == kIQ1_S || ftype == kIQ1_M) return GgmlType::Q2_K;
    if (ftype == kIQ2_S || ftype == kIQ2_M || ftype == kIQ3_XXS) return GgmlType::IQ3_S;
    return type;
  }
  if (lowest_bits(ftype)) {
    const bool two_m = ftype == kIQ2_S || ftype == kIQ2_M;
    if (contains(name, "attn_v.weight") || contains(name, "attn_kv_b.weight")) {
      ++i_attention_wv;
      if (m.n_gqa >= 4 || m.n_expert >= 4) return GgmlType::Q4_K;
      return two_m ? GgmlType::IQ3_S : GgmlType::Q2_K;
    }
    if (m.n_expert == 8 && contains(name, "attn_k.weight")) return GgmlType::Q4_K;
    if (contains(name, "ffn_down")) {
      const bool first = i_ffn_down++ < m.n_layer / 8;
      return first ? (two_m ? GgmlType::IQ3_S : GgmlType::Q2_K) : type;
    }
    if (contains(name, "attn_output.weight")) {
      if (m.n_expert == 8) return GgmlType::Q5_K;
      if (ftype == kIQ1_S || ftype == kIQ1_M) return GgmlType::IQ2_XXS;
      if (two_m) return GgmlType::IQ3_S;
    }
    return type;
  }
  if (contains(name, "attn_v.weight") || contains(name, "attn_qkv.weight") || contains(name, "attn_kv_b.weight")) {
    if (contains(name, "attn_v.weight") || contains(name, "attn_kv_b.weight")) {
      if (ftype == kQ2_K) type = m.n_gqa >= 4 ? GgmlType::Q4_K : GgmlType::Q3_K;
      else if (ftype == kQ3_K_M) type = i_attention_wv < 2 ? GgmlType::Q5_K : GgmlType::Q4_K;
      else if (ftype == kQ3_K_L) type = GgmlType::Q5_K;
      else if ((ftype == kQ4_K_M || ftype == kQ5_K_M) && use_more_bits(i_attention_wv, m.n_attention_wv))
        type = GgmlType::Q6_K;
      else if (ftype == kQ4_K_S && i_attention_wv < 4) type = GgmlType::Q5_K;
      else if ((ftype == kIQ4_NL || ftype == kIQ4_XS) && m.n_gqa >= 4) type = GgmlType::Q5_K;
      else if (ftype == kIQ3_XXS) type = m.n_gqa >= 4 ? GgmlType::Q4_K : !m.has_imatrix ? GgmlType::IQ3_S : GgmlType::IQ3_XXS;
      else if ((ftype == kIQ3_XS || ftype == kIQ3_S) && m.n_gqa >= 4) type = GgmlType::Q4_K;
      else if (ftype == kIQ3_M) type = GgmlType::Q4_K;
      if (m.is_70b && (type == GgmlType::Q3_K || type == GgmlType::Q4_K)) type = GgmlType::Q5_K;
      if (m.n_expert == 8) type = GgmlType::Q8_0;
    } else {  // fused attn_qkv
      if (ftype == kQ3_K_M || ftype == kQ3_K_L || ftype == kIQ3_M) type = GgmlType::Q4_K;
      else if (ftype == kQ4_K_M) type = GgmlType::Q5_K;
      else if (ftype == kQ5_K_M) type = GgmlType::Q6_K;
    }
    ++i_attention_wv;
    return type;
  }
  if (contains(name, "attn_k.weight"))
    return m.n_expert == 8 ? GgmlType::Q8_0 : ftype == kIQ3_XS ? GgmlType::IQ3_XXS : ftype == kIQ3_XXS ? GgmlType::IQ2_S : type;
  if (contains(name, "attn_q.weight")) return ftype == kIQ3_XS ? GgmlType::IQ3_XXS : ftype == kIQ3_XXS ? GgmlType::IQ2_S : type;
  if (contains(name, "ffn_down")) {
    // MoE models name the layer; dense ones count ffn_down tensors in output order.
    int i_layer = m.n_expert > 1 && layer_of(name) >= 0 ? layer_of(name) : i_ffn_down;
    const int n_layer = m.n_layer;
    if (ftype == kQ2_K) type = GgmlType::Q3_K;
    else if (ftype == kIQ3_XXS && !m.has_imatrix) type = i_layer < n_layer / 8 ? GgmlType::Q4_K : GgmlType::Q3_K;
    else if (ftype == kQ3_K_M)
      type = i_layer < n_layer / 16 ? GgmlType::Q5_K
             : (!falcon || use_more_bits(i_layer, n_layer)) ? GgmlType::Q4_K
                                                             : GgmlType::Q3_K;
    else if (ftype == kIQ3_M && (i_layer < n_layer / 8 || (m.n_expert == 8 && use_more_bits(i_layer, n_layer))))
      type = GgmlType::Q4_K;
    else if (ftype == kQ3_K_L) type = falcon ? GgmlType::Q4_K : GgmlType::Q5_K;
    else if (ftype == kQ4_K_M) {
      if (falcon)
        type = i_layer < n_layer / 16 ? GgmlType::Q6_K : use_more_bits(i_layer, n_layer) ? GgmlType::Q5_K : GgmlType::Q4_K;
      else if (use_more_bits(i_layer, n_layer))
        type = GgmlType::Q6_K;
    } else if ((ftype == kIQ4_NL || ftype == kIQ4_XS) && i_layer < n_layer / 8 && !m.has_imatrix) {
      type = GgmlType::Q5_K;
    } else if (ftype == kQ5_K_M && use_more_bits(i_layer, n_layer)) type = GgmlType::Q6_K;
    else if (ftype == kQ4_K_S && !falcon && i_layer < n_layer / 8) type = GgmlType::Q5_K;
    // Without a matrix Q4_0 and Q5_0 keep their type, so that files made before matrices stay the
    // same; with one, the first ffn_down layers (where these fits go most wrong) take the minimum.
    else if ((ftype == kQ4_0 || ftype == kQ5_0) && m.has_imatrix && i_layer < n_layer / 8)
      type = ftype == kQ4_0 ? GgmlType::Q4_1 : GgmlType::Q5_1;
    ++i_ffn_down;
    return type;
  }
  for (auto [part, count] : {std::pair{"ffn_gate", &c.ffn_gate}, std::pair{"ffn_up", &c.ffn_up}}) {
    if (!contains(name, part)) continue;
    const int i_layer = m.n_expert > 1 && layer_of(name) >= 0 ? layer_of(name) : *count;
    if (ftype == kIQ3_XS && i_layer >= m.n_layer / 8 && i_layer < 7 * m.n_layer / 8) type = GgmlType::IQ3_XXS;
    ++*count;
    return type;
  }
  if (contains(name, "attn_output.weight")) {
    if (!falcon) {
      if (m.n_expert == 8) {
        if (ftype == kQ2_K || ftype == kQ3_K_S || ftype == kQ3_K_M || ftype == kQ4_K_S || ftype == kQ4_K_M ||
            ftype == kIQ4_NL || ftype == kIQ4_XS || ftype == kIQ3_XS || ftype == kIQ3_XXS || ftype == kIQ3_S ||
            ftype == kIQ3_M)
          type = GgmlType::Q5_K;
      } else if (ftype == kQ2_K) type = GgmlType::Q3_K;
      else if (ftype == kIQ3_XXS) type = GgmlType::IQ3_S;
      else if (ftype == kQ3_K_M || ftype == kIQ3_M) type = GgmlType::Q4_K;
      else if (ftype == kQ3_K_L) type = GgmlType::Q5_K;
    } else if (ftype == kQ3_K_L) {
      type = GgmlType::Q4_K;
    }
  }
  return type;
}

// A row that does not fill whole super-blocks cannot take a K-quant: llama.cpp's substitutes.
// Where llama.cpp has none (a legacy type on a row that is not a multiple of 32, where it
// refuses the model) llmkit keeps the tensor in F16 rather than failing.
GgmlType fallback_type(GgmlType type, int64_t ne0, std::string& note) {
  const uint32_t block = ggml_type_info(type).block_size;
  if (ne0 % block == 0) return type;
  GgmlType fb;
  switch (type) {
    case GgmlType::IQ4_XS:
    case GgmlType::IQ3_S:
    case GgmlType::IQ3_XXS:
    case GgmlType::IQ2_XXS:
    case GgmlType::IQ2_XS:
    case GgmlType::IQ2_S:
    case GgmlType::IQ1_S:
    case GgmlType::IQ1_M: fb = GgmlType::IQ4_NL; break;
    case GgmlType::Q2_K:
    case GgmlType::Q3_K: fb = GgmlType::Q4_0; break;
    case GgmlType::Q4_K: fb = GgmlType::Q5_0; break;
    case GgmlType::Q5_K: fb = GgmlType::Q5_1; break;
    case GgmlType::Q6_K: fb = GgmlType::Q8_0; break;
    default: fb = GgmlType::F16;
  }
  if (ne0 % ggml_type_info(fb).block_size != 0) fb = GgmlType::F16;
  note = "fallback: row of " + std::to_string(ne0) + " is not a multiple of " + std::to_string(block) + " (" +
         ggml_type_name(type) + " -> " + ggml_type_name(fb) + ")";
  return fb;
}

}  // namespace

std::span<const QuantPreset> quant_presets() { return kPresets; }

const QuantPreset* find_preset(std::string_view name) {
  for (const auto& p : kPresets)
    if (iequals(name, p.name)) return &p;
  return nullptr;
}

int ggml_n_dims(const TensorInfo& t) {
  for (int i = kGgufMaxDims - 1; i >= 1; --i)
    if (t.ne[static_cast<size_t>(i)] > 1) return i + 1;
  return 1;
}

TypeOverride parse_type_override(const std::string& spec) {
  auto eq = spec.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
    throw Error("usage", "--tensor-type wants REGEX=TYPE, got '" + spec + "'");
  TypeOverride o;
  o.pattern = spec.substr(0, eq);
  auto type = ggml_type_from_name(spec.substr(eq + 1));
  if (!type || !can_quantize(*type))
    throw Error("usage", "--tensor-type " + spec + ": '" + spec.substr(eq + 1) + "' is not a type llmkit can write");
  o.type = *type;
  try {
    o.re = std::regex(o.pattern);
  } catch (const std::regex_error& e) {
    throw Error("usage", "--tensor-type " + spec + ": bad regular expression (" + e.what() + ")");
  }
  return o;
}

QuantPlan plan_quantization(const GgufFile& src, const QuantPreset& preset, const QuantPlanOptions& opt) {
  QuantPlan plan;
  plan.preset = &preset;
  ModelFacts m;
  if (const GgufValue* a = src.find("general.architecture"))
    if (auto s = std::get_if<std::string>(&a->v)) m.arch = *s;
  auto hp = [&](const char* key) { return src.get_int(m.arch + "." + key); };
  m.n_layer = static_cast<int>(hp("block_count").value_or(0));
  const int64_t n_head = hp("attention.head_count").value_or(0);
  const int64_t n_head_kv = hp("attention.head_count_kv").value_or(n_head);
  m.n_gqa = n_head_kv > 0 ? static_cast<int>(n_head / n_head_kv) : 1;
  m.n_expert = static_cast<int>(hp("expert_count").value_or(0));
  m.is_70b = m.arch == "llama" && m.n_layer == 80 && n_head != n_head_kv;
  m.has_imatrix = opt.has_imatrix;

  // Output order as llama.cpp writes it: tensors outside blocks first, then block by block,
  // by name within each group.
  std::vector<const TensorInfo*> order;
  for (const auto& t : src.tensors()) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
    int la = layer_of(a->name), lb = layer_of(b->name);
    return la != lb ? la < lb : a->name < b->name;
  });
  for (const TensorInfo* t : order) {
    if (contains(t->name, "attn_v.weight") || contains(t->name, "attn_qkv.weight") || contains(t->name, "attn_kv_b.weight"))
      ++m.n_attention_wv;
    if (t->name == "output.weight") m.has_output = true;
  }

  const bool base_quantized = ggml_type_info(preset.base).quantized;
  Counters counters;
  for (const TensorInfo* t : order) {
    TensorPlan tp;
    tp.src = t;
    tp.to = t->type;
    if (allows_quantization(*t)) {
      GgmlType type = preset.base;
      if (!opt.pure && base_quantized) {
        bool manual = false;
        for (const auto& o : opt.overrides)
          if (std::regex_search(t->name, o.re)) {
            type = o.type;
            manual = true;
            break;
          }
        if (!manual) type = mixture_type(m, preset.ftype, type, *t, counters);
        type = fallback_type(type, t->ne[0], tp.note);
      } else if (t->ne[0] % ggml_type_info(type).block_size != 0) {
        type = fallback_type(type, t->ne[0], tp.note);
      }
      tp.to = type;
    }
    tp.convert = tp.to != t->type;
    if (tp.convert) {
      if (!can_dequantize(t->type))
        throw Error("unsupported_type", "tensor '" + t->name + "' is " + ggml_type_name(t->type) +
                                            ", which llmkit cannot convert from");
      if (ggml_type_info(t->type).quantized && !opt.allow_requantize)
        throw Error("requantize", "tensor '" + t->name + "' is already quantized (" + ggml_type_name(t->type) +
                                      "); quantizing it again loses accuracy: pass --allow-requantize to do it anyway");
      if (!can_quantize(tp.to))
        throw Error("unsupported_type", "tensor '" + t->name + "' would need " + ggml_type_name(tp.to) +
                                            ", which llmkit cannot write yet");
    }
    tp.out_bytes = ggml_bytes(tp.to, t->n_elements);
    plan.in_bytes += t->n_bytes;
    plan.out_bytes += tp.out_bytes;
    plan.parameters += t->n_elements;
    plan.tensors.push_back(std::move(tp));
  }
  return plan;
}

}  // namespace llmkit
