// The catalogs llm-memcalc plans for without a file: models (hyperparameters from their
// config.json files) and GPUs (memory as sold, bandwidth from the vendors' specifications).
#include <algorithm>
#include <cctype>

#include "llmkit/memplan.h"

namespace llmkit {
namespace {

// name, arch, layers, embd, heads, kv_heads, head_dim, ff, vocab, context, tied, experts, used, swa window, swa period
const CatalogModel kModels[] = {
    {"llama3.1-8b", "llama", 32, 4096, 32, 8, 128, 14336, 128256, 131072, false},
    {"llama3.1-70b", "llama", 80, 8192, 64, 8, 128, 28672, 128256, 131072, false},
    {"llama3.1-405b", "llama", 126, 16384, 128, 8, 128, 53248, 128256, 131072, false},
    {"llama3.2-1b", "llama", 16, 2048, 32, 8, 64, 8192, 128256, 131072, true},
    {"llama3.2-3b", "llama", 28, 3072, 24, 8, 128, 8192, 128256, 131072, true},
    {"llama2-7b", "llama", 32, 4096, 32, 32, 128, 11008, 32000, 4096, false},
    {"tinyllama-1.1b", "llama", 22, 2048, 32, 4, 64, 5632, 32000, 2048, false},
    {"qwen2.5-0.5b", "qwen2", 24, 896, 14, 2, 64, 4864, 151936, 32768, true},
    {"qwen2.5-1.5b", "qwen2", 28, 1536, 12, 2, 128, 8960, 151936, 32768, true},
    {"qwen2.5-3b", "qwen2", 36, 2048, 16, 2, 128, 11008, 151936, 32768, true},
    {"qwen2.5-7b", "qwen2", 28, 3584, 28, 4, 128, 18944, 152064, 32768, false},
    {"qwen2.5-14b", "qwen2", 48, 5120, 40, 8, 128, 13824, 152064, 32768, false},
    {"qwen2.5-32b", "qwen2", 64, 5120, 40, 8, 128, 27648, 152064, 32768, false},
    {"qwen2.5-72b", "qwen2", 80, 8192, 64, 8, 128, 29568, 152064, 32768, false},
    {"deepseek-r1-distill-qwen-7b", "qwen2", 28, 3584, 28, 4, 128, 18944, 152064, 131072, false},
    {"deepseek-r1-distill-qwen-32b", "qwen2", 64, 5120, 40, 8, 128, 27648, 152064, 131072, false},
    {"mistral-7b", "llama", 32, 4096, 32, 8, 128, 14336, 32768, 32768, false},
    {"mixtral-8x7b", "llama", 32, 4096, 32, 8, 128, 14336, 32000, 32768, false, 8, 2},
    {"phi3-mini", "phi3", 32, 3072, 32, 32, 96, 8192, 32064, 4096, false},
    {"phi3-medium", "phi3", 40, 5120, 40, 10, 128, 17920, 32064, 4096, false},
    {"gemma2-2b", "gemma2", 26, 2304, 8, 4, 256, 9216, 256000, 8192, true, 0, 0, 4096, 2},
    {"gemma2-9b", "gemma2", 42, 3584, 16, 8, 256, 14336, 256000, 8192, true, 0, 0, 4096, 2},
    {"gemma2-27b", "gemma2", 46, 4608, 32, 16, 128, 36864, 256000, 8192, true, 0, 0, 4096, 2},
    {"gemma3-270m", "gemma3", 18, 640, 4, 1, 256, 2048, 262144, 32768, true, 0, 0, 512, 6},
    {"gemma3-1b", "gemma3", 26, 1152, 4, 1, 256, 6912, 262144, 32768, true, 0, 0, 512, 6},
    {"gemma3-4b", "gemma3", 34, 2560, 8, 4, 256, 10240, 262208, 131072, true, 0, 0, 1024, 6},
    {"gemma3-12b", "gemma3", 48, 3840, 16, 8, 256, 15360, 262208, 131072, true, 0, 0, 1024, 6},
    {"gemma3-27b", "gemma3", 62, 5376, 32, 16, 128, 21504, 262208, 131072, true, 0, 0, 1024, 6},
    {"smollm2-135m", "llama", 30, 576, 9, 3, 64, 1536, 49152, 8192, true},
    {"smollm2-360m", "llama", 32, 960, 15, 5, 64, 2560, 49152, 8192, true},
    {"smollm2-1.7b", "llama", 24, 2048, 32, 32, 64, 8192, 49152, 8192, true},
};

const GpuSpec kGpus[] = {
    {"rtx3060", 12, 360, false},     {"rtx3090", 24, 936, false},       {"rtx4060ti-16gb", 16, 288, false},
    {"rtx4090", 24, 1008, false},    {"rtx5090", 32, 1792, false},      {"a10", 24, 600, false},
    {"l4", 24, 300, false},          {"l40s", 48, 864, false},          {"a100-40gb", 40, 1555, false},
    {"a100-80gb", 80, 2039, false},  {"h100-pcie", 80, 2000, false},    {"h100-sxm", 80, 3350, false},
    {"h200", 141, 4800, false},      {"mi300x", 192, 5300, false},      {"m3-max-128gb", 128, 400, true},
    {"m4-max-128gb", 128, 546, true}, {"m2-ultra-192gb", 192, 800, true}, {"m3-ultra-512gb", 512, 819, true},
};

std::string squash(const std::string& s) {
  std::string o;
  for (char c : s)
    if (c != '-' && c != '_' && c != ' ') o += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

}  // namespace

std::span<const CatalogModel> model_catalog() { return kModels; }
std::span<const GpuSpec> gpu_catalog() { return kGpus; }

const CatalogModel* find_catalog_model(const std::string& name) {
  for (const CatalogModel& m : kModels)
    if (squash(m.name) == squash(name)) return &m;
  return nullptr;
}

const GpuSpec* find_gpu(const std::string& name) {
  for (const GpuSpec& g : kGpus)
    if (squash(g.name) == squash(name)) return &g;
  return nullptr;
}

}  // namespace llmkit
