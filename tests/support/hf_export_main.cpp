// llmkit-gguf-to-hf IN.gguf OUT_DIR [SHARDS]: a GGUF model as a Hugging Face folder (tests and
// examples use it to make checkpoints gguf-convert reads).
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "support/hf_export.h"

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::fprintf(stderr, "usage: llmkit-gguf-to-hf IN.gguf OUT_DIR [SHARDS]\n");
    return 2;
  }
  try {
    fixture::export_hf_folder(argv[1], argv[2], argc == 4 ? std::atoi(argv[3]) : 1);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "llmkit-gguf-to-hf: %s\n", e.what());
    return 2;
  }
  return 0;
}
