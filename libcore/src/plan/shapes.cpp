// Hyperparameters as the models' published configs give them.
#include "llmkit/shapes.h"

#include <cctype>
#include <cmath>

#include "llmkit/arch.h"
#include "llmkit/error.h"

namespace llmkit {
namespace {

// name, arch, layers, embd, heads, kv heads, head dim, ff, vocab, context, tied, rope base, window, llama3 factor, experts, used
const ModelShape kShapes[] = {
    {"synth-llama-256", "llama", 4, 256, 4, 2, 64, 768, 32000, 4096, false},
    {"tinyllama-1.1b", "llama", 22, 2048, 32, 4, 64, 5632, 32000, 2048, false},
    {"llama2-7b", "llama", 32, 4096, 32, 32, 128, 11008, 32000, 4096, false},
    {"llama3-8b", "llama", 32, 4096, 32, 8, 128, 14336, 128256, 8192, false, 500000.f},
    {"llama3.1-8b", "llama", 32, 4096, 32, 8, 128, 14336, 128256, 131072, false, 500000.f, 0, 8.f},
    {"llama3.1-70b", "llama", 80, 8192, 64, 8, 128, 28672, 128256, 131072, false, 500000.f, 0, 8.f},
    {"llama3.1-405b", "llama", 126, 16384, 128, 8, 128, 53248, 128256, 131072, false, 500000.f, 0, 8.f},
    {"llama3.2-1b", "llama", 16, 2048, 32, 8, 64, 8192, 128256, 131072, true, 500000.f, 0, 32.f},
    {"llama3.2-3b", "llama", 28, 3072, 24, 8, 128, 8192, 128256, 131072, true, 500000.f, 0, 32.f},
    {"mistral-7b", "llama", 32, 4096, 32, 8, 128, 14336, 32768, 32768, false, 1000000.f},
    {"mixtral-8x7b", "llama", 32, 4096, 32, 8, 128, 14336, 32000, 32768, false, 1000000.f, 0, 0.f, 8, 2},
    {"smollm2-135m", "llama", 30, 576, 9, 3, 64, 1536, 49152, 8192, true, 100000.f},
    {"smollm2-360m", "llama", 32, 960, 15, 5, 64, 2560, 49152, 8192, true, 100000.f},
    {"smollm2-1.7b", "llama", 24, 2048, 32, 32, 64, 8192, 49152, 8192, true, 130000.f},
    {"qwen2.5-0.5b", "qwen2", 24, 896, 14, 2, 64, 4864, 151936, 32768, true, 1000000.f},
    {"qwen2.5-1.5b", "qwen2", 28, 1536, 12, 2, 128, 8960, 151936, 32768, true, 1000000.f},
    {"qwen2.5-3b", "qwen2", 36, 2048, 16, 2, 128, 11008, 151936, 32768, true, 1000000.f},
    {"qwen2.5-7b", "qwen2", 28, 3584, 28, 4, 128, 18944, 152064, 32768, false, 1000000.f},
    {"qwen2.5-14b", "qwen2", 48, 5120, 40, 8, 128, 13824, 152064, 32768, false, 1000000.f},
    {"qwen2.5-32b", "qwen2", 64, 5120, 40, 8, 128, 27648, 152064, 32768, false, 1000000.f},
    {"qwen2.5-72b", "qwen2", 80, 8192, 64, 8, 128, 29568, 152064, 32768, false, 1000000.f},
    {"deepseek-r1-distill-qwen-7b", "qwen2", 28, 3584, 28, 4, 128, 18944, 152064, 131072, false, 10000.f},
    {"deepseek-r1-distill-qwen-32b", "qwen2", 64, 5120, 40, 8, 128, 27648, 152064, 131072, false, 1000000.f},
    {"qwen3-0.6b", "qwen3", 28, 1024, 16, 8, 128, 3072, 151936, 40960, true, 1000000.f},
    {"qwen3-1.7b", "qwen3", 28, 2048, 16, 8, 128, 6144, 151936, 40960, true, 1000000.f},
    {"qwen3-4b", "qwen3", 36, 2560, 32, 8, 128, 9728, 151936, 40960, true, 1000000.f},
    {"qwen3-8b", "qwen3", 36, 4096, 32, 8, 128, 12288, 151936, 40960, false, 1000000.f},
    {"qwen3-14b", "qwen3", 40, 5120, 40, 8, 128, 17408, 151936, 40960, false, 1000000.f},
    {"phi3-mini", "phi3", 32, 3072, 32, 32, 96, 8192, 32064, 4096, false},
    {"phi3-medium", "phi3", 40, 5120, 40, 10, 128, 17920, 32064, 4096, false},
    {"gemma2-2b", "gemma2", 26, 2304, 8, 4, 256, 9216, 256000, 8192, true, 10000.f, 4096},
    {"gemma2-9b", "gemma2", 42, 3584, 16, 8, 256, 14336, 256000, 8192, true, 10000.f, 4096},
    {"gemma2-27b", "gemma2", 46, 4608, 32, 16, 128, 36864, 256000, 8192, true, 10000.f, 4096},
    {"gemma3-270m", "gemma3", 18, 640, 4, 1, 256, 2048, 262144, 32768, true, 1000000.f, 512},
    {"gemma3-1b", "gemma3", 26, 1152, 4, 1, 256, 6912, 262144, 32768, true, 1000000.f, 512},
    {"gemma3-4b", "gemma3", 34, 2560, 8, 4, 256, 10240, 262208, 131072, true, 1000000.f, 1024},
    {"gemma3-12b", "gemma3", 48, 3840, 16, 8, 256, 15360, 262208, 131072, true, 1000000.f, 1024},
    {"gemma3-27b", "gemma3", 62, 5376, 32, 16, 128, 21504, 262208, 131072, true, 1000000.f, 1024},
};

}  // namespace

std::span<const ModelShape> model_shapes() { return kShapes; }

bool names_match(const std::string& a, const std::string& b) {
  auto squash = [](const std::string& s) {
    std::string o;
    for (char c : s)
      if (c != '-' && c != '_' && c != ' ') o += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return o;
  };
  return squash(a) == squash(b);
}

const ModelShape* find_shape(const std::string& name) {
  for (const ModelShape& s : kShapes)
    if (names_match(s.name, name)) return &s;
  return nullptr;
}

std::string shape_names() {
  std::string names;
  for (const ModelShape& s : kShapes) names += std::string(names.empty() ? "" : ", ") + s.name;
  return names;
}

std::vector<ShapeTensor> shape_tensors(const ModelShape& s) {
  const ArchSpec* a = find_arch(s.arch ? s.arch : "");
  if (!a) throw Error("usage", "unknown architecture '" + std::string(s.arch ? s.arch : "") + "' (" + arch_names() + ")");
  if (s.embd <= 0 || s.layers <= 0 || s.heads <= 0 || s.kv_heads <= 0 || s.head_dim <= 0 || s.ff <= 0 || s.vocab <= 0)
    throw Error("usage", "every dimension of the shape must be positive");
  if (s.heads % s.kv_heads != 0) throw Error("usage", "the KV heads must divide the heads");
  if (s.head_dim % 2) throw Error("usage", "the head size must be even (rope rotates pairs)");
  const Hyper h{s.embd, s.heads, s.kv_heads, s.head_dim, s.ff, s.vocab, s.context, s.head_dim};
  std::vector<ShapeTensor> out;
  auto norm_role = [](Role r) {
    switch (r) {
      case Role::OutputNorm: case Role::AttnNorm: case Role::FfnNorm: case Role::QNorm: case Role::KNorm:
      case Role::PostAttnNorm: case Role::PostFfnNorm: case Role::EmbdNorm: return true;
      default: return false;
    }
  };
  for (const bool per_layer : {false, true})
    for (int64_t l = 0; l < (per_layer ? s.layers : 1); ++l)
      for (const TensorSpec& t : a->tensors) {
        if (t.layer != per_layer) continue;
        const bool wanted = t.required || (t.role == Role::Output && !s.tied) || (t.role == Role::RopeFreqs && s.rope_llama3 > 0) ||
                            ((t.role == Role::RopeLong || t.role == Role::RopeShort) && s.longrope_ctx > 0);
        if (!wanted) continue;
        if (s.experts > 0 && (t.role == Role::Gate || t.role == Role::Up || t.role == Role::Down)) {
          const char* n = t.role == Role::Gate ? "ffn_gate_exps.weight" : t.role == Role::Up ? "ffn_up_exps.weight" : "ffn_down_exps.weight";
          if (t.role == Role::Gate) out.push_back({"blk." + std::to_string(l) + ".ffn_gate_inp.weight", {s.embd, s.experts}});
          out.push_back({"blk." + std::to_string(l) + "." + n, {dim_value(t.ne0, h), dim_value(t.ne1, h), s.experts}});
          continue;
        }
        ShapeTensor st{tensor_name(t, l), {dim_value(t.ne0, h)}, norm_role(t.role)};
        if (t.ne1 != Dim::One) st.ne.push_back(t.ne1 == Dim::Ctx ? s.context : dim_value(t.ne1, h));
        out.push_back(std::move(st));
      }
  return out;
}

uint64_t shape_parameters(const ModelShape& s) {
  uint64_t n = 0;
  for (const ShapeTensor& t : shape_tensors(s)) {
    uint64_t e = 1;
    for (int64_t d : t.ne) e *= static_cast<uint64_t>(d);
    n += e;
  }
  return n;
}

float longrope_attn_factor(int64_t context, int64_t original_context) {
  const double scale = double(context) / double(original_context);
  return scale <= 1.0 ? 1.f : static_cast<float>(std::sqrt(1 + std::log(scale) / std::log(double(original_context))));
}

// Meta's published rule: wavelengths shorter than original_context / high_freq_factor keep their
// frequency, those longer than original_context / low_freq_factor are divided by the factor, and
// those between are blended smoothly.
std::vector<float> llama3_rope_factors(float base, int64_t n_rot, float factor, float low_freq_factor,
                                       float high_freq_factor, int64_t original_context) {
  const double low_wavelen = double(original_context) / low_freq_factor;
  const double high_wavelen = double(original_context) / high_freq_factor;
  std::vector<float> out;
  for (int64_t i = 0; i < n_rot; i += 2) {
    const double freq = 1.0 / std::pow(double(base), double(i) / double(n_rot));
    const double wavelen = 2 * M_PI / freq;
    if (wavelen < high_wavelen) out.push_back(1.f);
    else if (wavelen > low_wavelen) out.push_back(factor);
    else {
      const double smooth = (double(original_context) / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
      out.push_back(static_cast<float>(1.0 / ((1 - smooth) / factor + smooth)));
    }
  }
  return out;
}

}  // namespace llmkit
