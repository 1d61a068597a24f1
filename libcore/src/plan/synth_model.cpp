#include "llmkit/synth_model.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <vector>

#include "cpu/fp16.h"
#include "llmkit/arch.h"
#include "llmkit/error.h"
#include "llmkit/gguf.h"
#include "llmkit/gguf_writer.h"
#include "llmkit/quant.h"
#include "llmkit/quant_plan.h"
#include "llmkit/quantize.h"

namespace llmkit {
namespace {

// splitmix64: a small, fast, well-mixed generator; one stream per (tensor, row).
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float uniform() { return (static_cast<float>(next() >> 40) + 0.5f) * (1.0f / 16777216.0f); }  // (0,1)
};

uint64_t hash_name(const std::string& s, uint64_t seed) {
  uint64_t h = seed ^ 0xCBF29CE484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001B3ull;
  return h;
}

// One row: Laplace-distributed values (exponential tails) times a log-normal row scale, with
// rare outliers 8x larger, as trained weights have.
void fill_row(float* y, int64_t n, uint64_t seed, float base_scale) {
  Rng rng{seed};
  const float u = rng.uniform(), v = rng.uniform();
  const float gauss = std::sqrt(-2.f * std::log(u)) * std::cos(6.2831853f * v);
  const float row_scale = base_scale * std::exp(0.3f * gauss);
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t r = rng.next();
    const float mag = -std::log((static_cast<float>(r >> 40) + 0.5f) * (1.0f / 16777216.0f));
    const float sign = (r & 1) ? 1.f : -1.f;
    const float outlier = ((r >> 1) & 1023) == 0 ? 8.f : 1.f;
    y[i] = sign * mag * outlier * row_scale * 0.70710678f;  // Laplace(b) has sd b*sqrt(2)
  }
}

std::vector<std::string> placeholder_vocab(int64_t n) {
  // A loadable SentencePiece-style vocabulary: control tokens, the 256 byte tokens, filler.
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  for (int i = 0; i < 256 && static_cast<int64_t>(tokens.size()) < n; ++i) {
    char b[8];
    std::snprintf(b, sizeof b, "<0x%02X>", i);
    tokens.emplace_back(b);
  }
  while (static_cast<int64_t>(tokens.size()) < n) tokens.push_back("\xE2\x96\x81t" + std::to_string(tokens.size()));
  return tokens;
}

}  // namespace

namespace {

// What the model holds, in gguf-synth's order: matrices [ne0, ne1] of random rows, F32 vectors
// around `center` (norms around 1, biases around 0), or fixed values (rope frequency factors).
struct SynthTensor {
  std::string name;
  int64_t ne0, ne1;  // ne1 == 0: a vector
  float center, spread;
  std::vector<float> values;
};

std::vector<SynthTensor> synth_tensors(const ModelShape& s) {
  std::vector<SynthTensor> out;
  for (ShapeTensor& t : shape_tensors(s)) {
    if (t.ne.size() > 2) throw Error("usage", "gguf-synth does not make mixture-of-experts models ('" + std::string(s.name) + "')");
    SynthTensor st{t.name, t.ne[0], t.ne.size() == 2 ? t.ne[1] : 0, t.norm ? 1.0f : 0.f, t.norm ? 0.05f : 0.1f, {}};
    if (t.name == "rope_freqs.weight") st.values = llama3_rope_factors(s.rope_base, s.head_dim, s.rope_llama3);
    // LongRoPE factors: the long ones rising to the context's extension over the dimensions, as the
    // published ones do, the short ones near 1.
    const bool long_f = t.name == "rope_factors_long.weight", short_f = t.name == "rope_factors_short.weight";
    if (long_f || short_f) {
      const int64_t n = s.head_dim / 2;
      const double top = long_f ? double(s.context) / double(s.longrope_ctx) : 1.1;
      for (int64_t i = 0; i < n; ++i) st.values.push_back(static_cast<float>(1 + (top - 1) * double(i) / double(std::max<int64_t>(1, n - 1))));
    }
    out.push_back(std::move(st));
  }
  return out;
}

// Writes tensor `t` as `type`. Matrices are generated in F32, stored as `source` (F32, F16 or
// BF16, as gguf-synth writes them) and, when `type` differs, quantized from those stored values
// as gguf-quantize would.
TensorProducer synth_producer(const SynthTensor& t, uint64_t seed, GgmlType source, GgmlType type) {
  if (!t.values.empty()) return [v = t.values](TensorSink& sink) { sink.write(v.data(), v.size() * 4); };
  if (t.ne1 == 0)
    return [t, seed = hash_name(t.name, seed)](TensorSink& sink) {
      std::vector<float> v(static_cast<size_t>(t.ne0));
      fill_row(v.data(), t.ne0, seed, t.spread);
      for (auto& x : v) x += t.center;
      sink.write(v.data(), v.size() * 4);
    };
  return [t, seed = hash_name(t.name, seed), source, type](TensorSink& sink) {
    const int64_t ne0 = t.ne0, ne1 = t.ne1;
    const float base = 1.0f / std::sqrt(static_cast<float>(ne0));
    // Rows in chunks, generated in parallel, each row from its own stream.
    const int64_t chunk = std::max<int64_t>(1, (int64_t(4) << 20) / ne0);
    const uint64_t src_row = ggml_bytes(source, static_cast<uint64_t>(ne0)), out_row = ggml_bytes(type, static_cast<uint64_t>(ne0));
    std::vector<uint8_t> out(static_cast<size_t>(static_cast<uint64_t>(chunk) * out_row));
    for (int64_t r0 = 0; r0 < ne1; r0 += chunk) {
      const int64_t n = std::min(chunk, ne1 - r0);
#pragma omp parallel
      {
        std::vector<float> row(static_cast<size_t>(ne0));
        std::vector<uint8_t> stored(static_cast<size_t>(src_row));
#pragma omp for schedule(static)
        for (int64_t r = 0; r < n; ++r) {
          fill_row(row.data(), ne0, seed + static_cast<uint64_t>(r0 + r) * 0x9E3779B97F4A7C15ull, base);
          uint8_t* o = out.data() + static_cast<uint64_t>(r) * out_row;
          if (type == source) {
            quantize_row(source, row.data(), o, ne0);
          } else {
            quantize_row(source, row.data(), stored.data(), ne0);
            dequantize_row(source, stored.data(), row.data(), ne0);
            quantize_row(type, row.data(), o, ne0);
          }
        }
      }
      sink.write(out.data(), static_cast<size_t>(static_cast<uint64_t>(n) * out_row));
    }
  };
}

GgufWriter synth_writer(const SynthOptions& opt) {
  ModelShape s = opt.shape;
  if (opt.type != GgmlType::F32 && opt.type != GgmlType::F16 && opt.type != GgmlType::BF16)
    throw Error("usage", "--type must be F32, F16 or BF16 (quantize afterwards with gguf-quantize)");
  const ArchSpec* spec = find_arch(s.arch ? s.arch : "");
  if (!spec || spec->encoder)
    throw Error("usage", "gguf-synth makes decoders: --arch must be one of " + arch_names() + ", not bert");
  const std::string arch = s.arch;
  if (opt.vocab) s.vocab = static_cast<int64_t>(opt.vocab->get_array("tokenizer.ggml.tokens").size());
  const std::vector<SynthTensor> tensors = synth_tensors(s);  // checks the shape

  GgufWriter w;
  w.set("general.architecture", GgufValue(arch));
  w.set("general.name", GgufValue(opt.name.empty() ? "synthetic " + std::string(s.name ? s.name : "custom") : opt.name));
  if (opt.vocab) {
    for (const auto& kv_ : opt.vocab->metadata())
      if (kv_.key.rfind("tokenizer.", 0) == 0) w.set(kv_.key, kv_.value);
  } else {
    std::vector<std::string> tokens = placeholder_vocab(s.vocab);
    std::vector<float> scores(tokens.size());
    std::vector<int32_t> types(tokens.size(), 1);
    for (size_t i = 0; i < tokens.size(); ++i) scores[i] = -static_cast<float>(i);
    types[0] = 2;
    if (types.size() > 2) types[1] = types[2] = 3;
    for (size_t i = 3; i < tokens.size() && i < 259; ++i) types[i] = 6;
    w.set("tokenizer.ggml.model", GgufValue("llama"));
    w.set("tokenizer.ggml.pre", GgufValue("default"));
    w.set("tokenizer.ggml.tokens", GgufValue(GgufArray::of(tokens)));
    w.set("tokenizer.ggml.scores", GgufValue(GgufArray::of(scores)));
    w.set("tokenizer.ggml.token_type", GgufValue(GgufArray::of(types)));
    w.set("tokenizer.ggml.bos_token_id", GgufValue(uint32_t(1)));
    w.set("tokenizer.ggml.eos_token_id", GgufValue(uint32_t(2)));
    w.set("tokenizer.ggml.unknown_token_id", GgufValue(uint32_t(0)));
  }
  auto key = [&](const char* k) { return arch + "." + k; };
  w.set(key("context_length"), GgufValue(uint32_t(s.context)));
  w.set(key("embedding_length"), GgufValue(uint32_t(s.embd)));
  w.set(key("block_count"), GgufValue(uint32_t(s.layers)));
  w.set(key("feed_forward_length"), GgufValue(uint32_t(s.ff)));
  w.set(key("attention.head_count"), GgufValue(uint32_t(s.heads)));
  w.set(key("attention.head_count_kv"), GgufValue(uint32_t(s.kv_heads)));
  w.set(key("rope.dimension_count"), GgufValue(uint32_t(s.head_dim)));
  if (s.head_dim * s.heads != s.embd) {
    w.set(key("attention.key_length"), GgufValue(uint32_t(s.head_dim)));
    w.set(key("attention.value_length"), GgufValue(uint32_t(s.head_dim)));
  }
  w.set(key("attention.layer_norm_rms_epsilon"), GgufValue(spec->norm_eps));
  w.set(key("rope.freq_base"), GgufValue(s.rope_base));
  if (spec->swa_period && s.swa_window > 0) w.set(key("attention.sliding_window"), GgufValue(uint32_t(s.swa_window)));
  if (s.longrope_ctx > 0) {
    if (std::string(s.arch) != "phi3") throw Error("usage", "LongRoPE factors are Phi-3's (--arch phi3)");
    w.set(key("rope.scaling.type"), GgufValue("longrope"));
    w.set(key("rope.scaling.original_context_length"), GgufValue(uint32_t(s.longrope_ctx)));
    w.set(key("rope.scaling.attn_factor"), GgufValue(longrope_attn_factor(s.context, s.longrope_ctx)));
  }
  if (spec->attn_softcap) {
    w.set(key("attn_logit_softcapping"), GgufValue(50.f));
    w.set(key("final_logit_softcapping"), GgufValue(30.f));
  }
  w.set("general.file_type", GgufValue(uint32_t(opt.type == GgmlType::F32 ? 0 : opt.type == GgmlType::F16 ? 1 : 32)));

  for (const SynthTensor& t : tensors) {
    if (t.ne1 == 0) w.add_tensor(t.name, GgmlType::F32, {t.ne0}, synth_producer(t, opt.seed, GgmlType::F32, GgmlType::F32));
    else w.add_tensor(t.name, opt.type, {t.ne0, t.ne1}, synth_producer(t, opt.seed, opt.type, opt.type));
  }
  return w;
}

}  // namespace

void write_synth_model(const SynthOptions& opt, const std::string& path) { synth_writer(opt).write(path); }

std::shared_ptr<const GgufFile> synth_model_in_memory(const SynthOptions& opt, const QuantPreset* preset) {
  GgufWriter w = synth_writer(opt);
  if (!preset) return std::make_shared<GgufFile>(GgufFile::parse(w.write_to_memory()));
  // The preset's plan, made from the F16 model's header alone.
  const std::vector<uint8_t> head = w.header();
  GgufOpenOptions o;
  o.allow_truncated_data = true;
  const GgufFile src = GgufFile::parse(std::span<const uint8_t>(head), o);
  const QuantPlan plan = plan_quantization(src, *preset, {});
  ModelShape s = opt.shape;
  if (opt.vocab) s.vocab = static_cast<int64_t>(opt.vocab->get_array("tokenizer.ggml.tokens").size());
  std::map<std::string, SynthTensor> by_name;
  for (SynthTensor& t : synth_tensors(s)) by_name.emplace(t.name, std::move(t));
  GgufWriter q;
  set_quantized_metadata(q, src, *preset);
  for (const TensorPlan& tp : plan.tensors) {
    const SynthTensor& t = by_name.at(tp.src->name);
    if (t.ne1 == 0) q.add_tensor(t.name, tp.to, {t.ne0}, synth_producer(t, opt.seed, GgmlType::F32, tp.to));
    else q.add_tensor(t.name, tp.to, {t.ne0, t.ne1}, synth_producer(t, opt.seed, opt.type, tp.to));
  }
  return std::make_shared<GgufFile>(GgufFile::parse(q.write_to_memory()));
}

}  // namespace llmkit
