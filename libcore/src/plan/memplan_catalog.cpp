// The GPUs llm-memcalc plans for (memory as sold, bandwidth from the vendors' specifications);
// the models are the shared catalog of shapes.h.

#include "llmkit/memplan.h"

namespace llmkit {
namespace {

const GpuSpec kGpus[] = {
    {"rtx3060", 12, 360, false},     {"rtx3090", 24, 936, false},       {"rtx4060ti-16gb", 16, 288, false},
    {"rtx4090", 24, 1008, false},    {"rtx5090", 32, 1792, false},      {"a10", 24, 600, false},
    {"l4", 24, 300, false},          {"l40s", 48, 864, false},          {"a100-40gb", 40, 1555, false},
    {"a100-80gb", 80, 2039, false},  {"h100-pcie", 80, 2000, false},    {"h100-sxm", 80, 3350, false},
    {"h200", 141, 4800, false},      {"mi300x", 192, 5300, false},      {"m3-max-128gb", 128, 400, true},
    {"m4-max-128gb", 128, 546, true}, {"m2-ultra-192gb", 192, 800, true}, {"m3-ultra-512gb", 512, 819, true},
};

}  // namespace

std::span<const GpuSpec> gpu_catalog() { return kGpus; }

const GpuSpec* find_gpu(const std::string& name) {
  for (const GpuSpec& g : kGpus)
    if (names_match(g.name, name)) return &g;
  return nullptr;
}

}  // namespace llmkit
