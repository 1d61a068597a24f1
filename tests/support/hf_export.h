// Test helper: writes a GGUF model (llama, qwen2 or bert; float tensors) out as a Hugging Face
// folder — config.json, model.safetensors (or shards with an index), tokenizer files — laid out
// as Hugging Face stores such a model (its tensor names, llama's Q/K row order, WordPiece
// "##" pieces), so gguf-convert can be checked by converting it back.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace fixture {

struct SafetensorsEntry {
  std::string name;
  std::string dtype;             // "F32", "F16", "BF16", ...
  std::vector<int64_t> shape;    // row-major, outermost first
  std::vector<uint8_t> data;
};
// A valid safetensors file of these tensors, in order.
std::vector<uint8_t> safetensors_bytes(const std::vector<SafetensorsEntry>& tensors);

// shards > 1: model-0000i-of-0000N.safetensors plus model.safetensors.index.json.
void export_hf_folder(const std::filesystem::path& gguf, const std::filesystem::path& dir, int shards = 1);

}  // namespace fixture
