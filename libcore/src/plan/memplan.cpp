#include "llmkit/memplan.h"

#include "llmkit/file_type.h"

#include <algorithm>
#include <cstdlib>

#include "llmkit/arch.h"
#include "llmkit/error.h"
#include "llmkit/gguf.h"
#include "llmkit/gguf_writer.h"
#include "llmkit/quant.h"
#include "quant/kernel_ops.h"
#include "llmkit/quant_plan.h"

namespace llmkit {
namespace {

int64_t layer_of(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  return std::strtoll(name.c_str() + 4, nullptr, 10);
}

WeightInfo weight_info(const TensorInfo& t) {
  WeightInfo w;
  w.name = t.name;
  w.type = t.type;
  w.ne0 = t.ne[0];
  w.rows = t.ne[0] > 0 ? static_cast<int64_t>(t.n_elements / static_cast<uint64_t>(t.ne[0])) : 0;
  w.bytes = t.n_bytes;
  w.layer = layer_of(t.name);
  w.expert = t.name.find("_exps.") != std::string::npos;
  return w;
}


// Resident bytes of a weight the CPU computes with: the interleaved copy where this CPU has a
// kernel for the type (the file's pages are given back), else the file's bytes as read.
uint64_t cpu_weight_bytes(const WeightInfo& w, bool repack) {
  const PackedOps* ops = repack && !w.expert ? packed_ops(w.type) : nullptr;
  if (!ops || w.rows < ops->rows) return w.bytes;
  const int64_t groups = w.rows / ops->rows;
  const uint64_t packed = (ops->group_bytes(w.ne0) * static_cast<uint64_t>(groups) + 63) / 64 * 64;
  return packed + static_cast<uint64_t>(w.rows - groups * ops->rows) * ggml_bytes(w.type, static_cast<uint64_t>(w.ne0));
}

}  // namespace

ModelMemory model_memory(const GgufFile& f) {
  ModelMemory m;
  m.arch = f.get_opt<std::string>("general.architecture").value_or("");
  if (m.arch.empty()) throw Error("bad_model", "general.architecture is missing");
  m.name = f.get_opt<std::string>("general.name").value_or("");
  auto hp = [&](const char* key, int64_t fallback) { return f.get_int(m.arch + "." + key).value_or(fallback); };
  m.layers = hp("block_count", 0);
  m.embd = hp("embedding_length", 0);
  m.heads = hp("attention.head_count", 0);
  m.kv_heads = hp("attention.head_count_kv", m.heads);
  m.ff = hp("feed_forward_length", 0);
  m.context = hp("context_length", 0);
  m.experts = hp("expert_count", 0);
  m.experts_used = hp("expert_used_count", 0);
  if (m.layers <= 0 || m.embd <= 0 || m.heads <= 0 || m.kv_heads <= 0)
    throw Error("bad_model", "the header lacks the hyperparameters memory planning needs (" + m.arch + ".block_count, ...)");
  m.head_dim = hp("attention.key_length", m.embd / m.heads);
  if (const ArchSpec* a = find_arch(m.arch); a && a->swa_period) {
    m.swa_period = hp("attention.sliding_window_pattern", a->swa_period);
    m.swa_window = hp("attention.sliding_window", a->swa_default_window);
  }
  if (const GgufArray* a = f.get_array_opt("tokenizer.ggml.tokens")) m.vocab_tokens = static_cast<int64_t>(a->size());
  if (const GgufArray* a = f.get_array_opt("tokenizer.ggml.merges")) m.vocab_merges = static_cast<int64_t>(a->size());
  m.tied = true;
  for (const TensorInfo& t : f.tensors()) {
    m.tensors.push_back(weight_info(t));
    m.weight_bytes += t.n_bytes;
    m.params += t.n_elements;
    if (t.name == "output.weight") m.tied = false;
    if (t.name == "token_embd.weight") m.vocab = t.ne[1];
  }
  if (!m.vocab) m.vocab = m.vocab_tokens;
  // The preset's name (Q4_K_M), as gguf-info says it; inferred from the tensors when unrecorded.
  if (const FileTypeGuess ft = file_type_of(f); ft.name != "unknown") m.type = ft.name;
  return m;
}

ModelMemory model_memory(const ModelShape& c, const QuantPreset* preset) {
  // The F16 model's header, as a converter would write it; the preset's plan gives every tensor
  // its type, by llama.cpp's rules (which read the tensor names, shapes and layer counts).
  GgufWriter w;
  const std::string arch = c.arch;
  w.set("general.architecture", GgufValue(arch));
  w.set(arch + ".block_count", GgufValue(uint32_t(c.layers)));
  w.set(arch + ".embedding_length", GgufValue(uint32_t(c.embd)));
  w.set(arch + ".attention.head_count", GgufValue(uint32_t(c.heads)));
  w.set(arch + ".attention.head_count_kv", GgufValue(uint32_t(c.kv_heads)));
  w.set(arch + ".attention.key_length", GgufValue(uint32_t(c.head_dim)));
  if (c.experts) w.set(arch + ".expert_count", GgufValue(uint32_t(c.experts)));
  if (c.swa_window) w.set(arch + ".attention.sliding_window", GgufValue(uint32_t(c.swa_window)));
  for (const ShapeTensor& t : shape_tensors(c))
    w.add_tensor(t.name, t.ne.size() == 1 ? GgmlType::F32 : GgmlType::F16, t.ne, [](TensorSink&) {});
  const std::vector<uint8_t> head = w.header();
  GgufOpenOptions oo;
  oo.allow_truncated_data = true;
  const GgufFile f = GgufFile::parse(std::span<const uint8_t>(head), oo);
  ModelMemory m = model_memory(f);
  m.name = c.name;
  m.context = c.context;
  m.head_dim = c.head_dim;
  m.experts_used = c.experts_used;
  m.vocab = m.vocab_tokens = c.vocab;
  // Byte-level BPE vocabularies carry about as many merges as tokens; SentencePiece ones none.
  const bool bpe = arch == "qwen2" || (arch == "llama" && (c.vocab == 128256 || c.vocab == 49152));
  m.vocab_merges = bpe ? c.vocab : 0;
  m.type = "F16";
  if (preset) {
    const QuantPlan plan = plan_quantization(f, *preset, {});
    // m.tensors follows f.tensors(), so a plan entry's source tensor gives its index.
    m.weight_bytes = 0;
    for (const TensorPlan& tp : plan.tensors) {
      WeightInfo& wi = m.tensors[static_cast<size_t>(tp.src - f.tensors().data())];
      wi.type = tp.to;
      wi.bytes = tp.out_bytes;
      m.weight_bytes += tp.out_bytes;
    }
    m.type = preset->name;
  }
  return m;
}

MemPlan plan_memory(const ModelMemory& m, const MemOptions& o) {
  if (o.n_ctx <= 0 || o.n_parallel <= 0 || o.n_batch <= 0) throw Error("usage", "context, parallel and batch must be positive");
  MemPlan p;
  const bool gpu = o.n_gpus > 0 && o.n_gpu_layers > 0;
  p.layers_gpu = gpu ? std::min(o.n_gpu_layers, m.layers) : 0;
  p.output_gpu = gpu && o.n_gpu_layers > m.layers;
  const int64_t first_gpu_layer = m.layers - p.layers_gpu;
  const double expert_share = m.experts > 0 && m.experts_used > 0 ? double(m.experts_used) / double(m.experts) : 1.0;
  for (const WeightInfo& w : m.tensors) {
    const bool is_embd = w.name == "token_embd.weight", is_out = w.name == "output.weight" || (m.tied && is_embd);
    const bool on_gpu = w.layer >= 0 ? w.layer >= first_gpu_layer && p.layers_gpu > 0 : is_out && p.output_gpu;
    const uint64_t read = static_cast<uint64_t>(double(w.bytes) * (w.expert ? expert_share : 1.0));
    if (on_gpu) {
      p.weights_gpu += w.bytes;
      p.read_per_token_gpu += read;
      if (is_embd) p.mapped_only += w.bytes;  // the host still maps it for the lookups
      continue;
    }
    // Only the rows of the tokens seen are read from the token embedding, but the kernel maps the
    // pages around each fault too (64 KiB): a batch of distinct tokens makes about that much
    // resident each.
    const uint64_t touched = std::min<uint64_t>(w.bytes, static_cast<uint64_t>(std::min(o.n_batch, o.n_ctx * o.n_parallel)) << 16);
    if (is_embd && !is_out) {
      p.weights_host += touched;
      p.mapped_only += w.bytes - touched;
      continue;
    }
    if (w.rows <= 1) {  // norms and biases: read once and kept as F32
      p.weights_host += w.bytes + static_cast<uint64_t>(w.ne0) * 4;
      continue;
    }
    uint64_t resident = cpu_weight_bytes(w, o.repack);
    if (is_embd && resident != w.bytes) {  // tied: packed for the output, the file's rows for lookups
      resident += touched;
      p.mapped_only += w.bytes - touched;
    }
    p.weights_host += resident;
    p.read_per_token_host += read;
  }

  // KV cache: every sequence holds its context in every layer, a windowed layer at most its
  // window plus a batch.
  const uint64_t kv_dim = static_cast<uint64_t>(m.kv_heads * m.head_dim);
  const uint64_t per_pos = ggml_bytes(o.type_k, kv_dim) + ggml_bytes(o.type_v, kv_dim);
  // Ring and context sizes in whole blocks of 16 keys, as the cache allocates them.
  auto blocks = [](int64_t n) { return (n + 15) / 16 * 16; };
  bool any_swa = false;
  for (int64_t l = 0; l < m.layers; ++l) {
    any_swa |= m.layer_is_swa(l);
    const int64_t pos = blocks(m.layer_is_swa(l) ? std::min(o.n_ctx, m.swa_window + o.n_batch) : o.n_ctx);
    const uint64_t bytes = static_cast<uint64_t>(o.n_parallel * pos) * per_pos;
    (l >= first_gpu_layer && p.layers_gpu > 0 ? p.kv_gpu : p.kv_host) += bytes;
  }
  p.read_per_token_host += p.kv_host / static_cast<uint64_t>(o.n_parallel);
  p.read_per_token_gpu += p.kv_gpu / static_cast<uint64_t>(o.n_parallel);

  // llmkit's CPU engine: activations of one batch, those activations quantized for the integer
  // kernels, the F32 copies of the keys and values attention reads, logits and sampler state.
  const uint64_t nb = static_cast<uint64_t>(std::min(o.n_batch, o.n_ctx * o.n_parallel));
  const uint64_t E = static_cast<uint64_t>(std::max(m.embd, m.heads * m.head_dim)), F = static_cast<uint64_t>(m.ff);
  const uint64_t acts = nb * (5 * E + 2 * kv_dim + 2 * F) * 4;
  const uint64_t quantized = nb * (ggml_bytes(GgmlType::Q8_K, 2 * E) + ggml_bytes(GgmlType::Q8_K, F)) * 2;
  // Attention reads a global layer's F16/F32 keys and values in place; a windowed layer's ring
  // is copied out as F32 (keys and values), and a Q8_0 value cache on every layer.
  const uint64_t full_rows = static_cast<uint64_t>(o.n_parallel * o.n_ctx);
  const uint64_t ring_rows = any_swa ? static_cast<uint64_t>(o.n_parallel * std::min(o.n_ctx, m.swa_window + o.n_batch)) : 0;
  const uint64_t kt_rows = o.type_k == GgmlType::Q8_0 ? 0 : ring_rows;
  const uint64_t vf_rows = o.type_v == GgmlType::Q8_0 ? full_rows : ring_rows;
  const uint64_t kv_f32 = (first_gpu_layer > 0 ? 1 : 0) * (kt_rows + vf_rows) * kv_dim * 4;
  const uint64_t logits = static_cast<uint64_t>(o.n_parallel) * static_cast<uint64_t>(m.vocab) * 12;
  const uint64_t scratch = static_cast<uint64_t>(std::max(1, o.threads)) * static_cast<uint64_t>(o.n_ctx) * 4;
  // Past 2,048 keys attention keeps each part's partial results until they merge: at most 16 MiB
  // of them at a time, plus their sums.
  const uint64_t parts = o.n_ctx > 2048 ? (uint64_t(16) << 20) + (uint64_t(16) << 20) / (static_cast<uint64_t>(m.head_dim) + 1) * 2 : 0;
  p.compute_host = acts + quantized + kv_f32 + logits + scratch + parts;
  if (gpu) p.compute_gpu = nb * (4 * E + 2 * F) * 4 + (p.output_gpu ? nb * static_cast<uint64_t>(m.vocab) * 4 : 0);

  // The parsed tokenizer: strings, lookup tables and merge ranks (measured per entry).
  p.overhead_host = kHostBaselineBytes + static_cast<uint64_t>(m.vocab_tokens) * 120 + static_cast<uint64_t>(m.vocab_merges) * 150;
  if (gpu) p.overhead_gpu = kCudaContextBytes;
  p.host_total = p.weights_host + p.kv_host + p.compute_host + p.overhead_host;
  if (gpu) {
    const uint64_t n = static_cast<uint64_t>(o.n_gpus);
    p.gpu_total = (p.weights_gpu + p.kv_gpu + n - 1) / n + p.compute_gpu + p.overhead_gpu;
  }
  return p;
}

}  // namespace llmkit
