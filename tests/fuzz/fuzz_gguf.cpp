// libFuzzer: any bytes as a GGUF file, then what a tool does next with a header that parsed:
// its tensor table, its vocabulary, a tokenizer over it encoding and decoding text, and the
// model loader's checks (header only: no tensor data is computed with).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "llmkit/error.h"
#include "llmkit/gguf.h"
#include "llmkit/model.h"
#include "llmkit/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace llmkit;
  try {
    auto f = std::make_shared<GgufFile>(GgufFile::parse(std::span<const uint8_t>(data, size),
                                                        {.allow_truncated_data = true}));
    try {
      Model::load(f, {.header_only = true});
    } catch (const Error&) {
    }
    Tokenizer tok(load_vocab(*f));
    // Text from the input's own tail: the tokenizer meets bytes the fuzzer controls.
    const std::string text(reinterpret_cast<const char*>(data) + size - std::min<size_t>(size, 64), std::min<size_t>(size, 64));
    for (bool special : {false, true}) {
      const auto ids = tok.encode(text, true, special);
      (void)tok.decode(ids);
    }
  } catch (const Error&) {
  }
  return 0;
}
