// llmkit-make-fixture OUT.gguf: the tiny random-weight model of tests/support/fixture.cpp.
#include <cstdio>
#include <exception>

#include "support/fixture.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: llmkit-make-fixture OUT.gguf\n");
    return 2;
  }
  try {
    fixture::write_tiny_model(argv[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "llmkit-make-fixture: %s\n", e.what());
    return 2;
  }
  return 0;
}
