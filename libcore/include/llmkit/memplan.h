// Memory planning: how much host RAM and GPU memory a model takes at a context, before anyone
// loads it. Weight bytes come from the tensors themselves (a GGUF header, or a catalog model's
// tensors under a quantization preset's per-tensor type mix), the KV cache from the attention
// shape (grouped KV heads, sliding-window layers), compute buffers from llmkit's own engine.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "llmkit/ggml_type.h"
#include "llmkit/shapes.h"

namespace llmkit {

class GgufFile;
struct QuantPreset;

struct GpuSpec {
  const char* name;      // "rtx4090"
  double mem_gb;         // memory (GB = 1e9 bytes), as sold
  double bandwidth_gbs;  // memory bandwidth, GB/s
  bool unified;          // Apple: memory shared with the CPU
};
std::span<const GpuSpec> gpu_catalog();
const GpuSpec* find_gpu(const std::string& name);  // case-insensitive, '-', '_' and ' ' ignored

// One weight tensor as planning sees it.
struct WeightInfo {
  std::string name;
  GgmlType type;
  int64_t ne0 = 0, rows = 0;  // row length, and rows (all other dimensions)
  uint64_t bytes = 0;
  int64_t layer = -1;  // blk.N.*; -1 for the others
  bool expert = false; // a mixture-of-experts tensor (only experts_used/experts read per token)
};

struct ModelMemory {
  std::string name, arch, type;  // type: the file type or preset ("Q4_K_M")
  int64_t layers = 0, embd = 0, heads = 0, kv_heads = 0, head_dim = 0, ff = 0, vocab = 0, context = 0;
  int64_t experts = 0, experts_used = 0, swa_window = 0, swa_period = 0;
  bool tied = false;
  uint64_t params = 0, weight_bytes = 0;
  int64_t vocab_tokens = 0, vocab_merges = 0;  // the tokenizer, which the host keeps parsed
  std::vector<WeightInfo> tensors;
  // Windowed layers hold at most window + batch positions (llmkit's cache, as llama.cpp's).
  bool layer_is_swa(int64_t l) const { return swa_window > 0 && (swa_period <= 0 || (l + 1) % swa_period != 0); }
};

// From a GGUF header (tensor data not needed: a partly downloaded file works).
ModelMemory model_memory(const GgufFile& f);
// A catalog shape's tensors (shapes.h) with the types a preset gives them (nullptr: F16).
ModelMemory model_memory(const ModelShape& m, const QuantPreset* preset);

struct MemOptions {
  int64_t n_ctx = 4096;  // per sequence
  int64_t n_parallel = 1, n_batch = 512;
  GgmlType type_k = GgmlType::F16, type_v = GgmlType::F16;
  int64_t n_gpu_layers = 0;  // the last N layers (and the output when N > layers) on the GPUs
  int n_gpus = 0;            // how many GPUs share the offloaded layers
  int threads = 1;
  bool repack = true;        // CPU weights copied into interleaved groups (this CPU's kernels)
};

// Bytes everywhere. "host" is the process's resident memory; each GPU gets gpu_* / n_gpus.
struct MemPlan {
  uint64_t weights_host = 0, weights_gpu = 0;
  uint64_t mapped_only = 0;  // the token embedding: mapped, only the rows read become resident
  uint64_t kv_host = 0, kv_gpu = 0;
  uint64_t compute_host = 0, compute_gpu = 0;  // compute_gpu per GPU
  uint64_t overhead_host = 0, overhead_gpu = 0;  // overhead_gpu per GPU (CUDA context)
  uint64_t host_total = 0, gpu_total = 0;        // gpu_total per GPU
  int64_t layers_gpu = 0;
  bool output_gpu = false;
  uint64_t read_per_token_host = 0, read_per_token_gpu = 0;  // weights + KV read per generated token (full context)
};

MemPlan plan_memory(const ModelMemory& m, const MemOptions& o);

// Process baseline (code, libraries, allocator, threads) and a CUDA context, as measured.
constexpr uint64_t kHostBaselineBytes = uint64_t(14) << 20;
constexpr uint64_t kCudaContextBytes = uint64_t(400) << 20;

}  // namespace llmkit
