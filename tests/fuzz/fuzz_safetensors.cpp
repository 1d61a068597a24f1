// libFuzzer: any bytes as a .safetensors file (its JSON header, dtypes, shapes, offsets).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "llmkit/error.h"
#include "llmkit/safetensors.h"

namespace {
class Borrowed final : public llmkit::ByteSource {
 public:
  Borrowed(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  std::span<const uint8_t> bytes() const override { return {p_, n_}; }

 private:
  const uint8_t* p_;
  size_t n_;
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    llmkit::SafetensorsFile f = llmkit::SafetensorsFile::parse(std::make_shared<Borrowed>(data, size), "fuzz.safetensors");
    (void)f;
  } catch (const llmkit::Error&) {
  }
  return 0;
}
