// Random-weight models of named shapes: test hardware, memory and tooling without downloads.
// Weights are heavy-tailed with per-row scales (like real checkpoints, unlike plain Gaussians),
// deterministic for a seed whatever the thread count.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "llmkit/ggml_type.h"
#include "llmkit/shapes.h"

namespace llmkit {

class GgufFile;

struct SynthOptions {
  ModelShape shape{};  // a catalog shape (shapes.h) or explicit dimensions
  GgmlType type = GgmlType::F16;      // F32, F16 or BF16 for the matrices; norms stay F32
  uint64_t seed = 42;
  const GgufFile* vocab = nullptr;    // tokenizer.* keys copied from here (vocab size follows it)
  std::string name;                   // general.name; default "synthetic <shape>"
};

// Writes the model (temporary file + rename). Throws Error on bad options.
void write_synth_model(const SynthOptions& opt, const std::string& path);

// The same model built in memory, no file; with a preset, quantized as gguf-quantize would
// quantize the written file (the same tensors, types and bytes), without the F16 model ever
// being held whole. For benchmarks of shapes nobody has downloaded.
struct QuantPreset;
std::shared_ptr<const GgufFile> synth_model_in_memory(const SynthOptions& opt, const QuantPreset* preset);

}  // namespace llmkit
