// The IQ formats against llama.cpp's own ggml on fixed inputs (tests/data/iq_blocks.json, from
// tests/reference/iq_blocks.c): its bytes decode to its floats bit for bit, the dot products
// (reference and fast) give its values, and where llmkit writes a format, its bytes are ggml's.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <xxhash.h>

#include "cpu/quants.h"
#include "llmkit/ggml_type.h"
#include "llmkit/jsonl.h"
#include "llmkit/quant.h"
#include "quant/kernel_ops.h"
#include "support/fixture.h"

using namespace llmkit;

namespace {

std::vector<uint8_t> unhex(const std::string& s) {
  std::vector<uint8_t> out(s.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(std::stoul(s.substr(2 * i, 2), nullptr, 16));
  return out;
}
std::vector<float> floats(const std::string& s) {
  std::vector<float> out(s.size() / 8);
  for (size_t i = 0; i < out.size(); ++i) {
    const uint32_t bits = static_cast<uint32_t>(std::stoul(s.substr(8 * i, 8), nullptr, 16));
    std::memcpy(&out[i], &bits, 4);
  }
  return out;
}
std::vector<double> numbers(const std::string& raw) {  // a JSON array of numbers
  std::vector<double> out;
  size_t i = raw.find('[') + 1;
  while (i < raw.size() && raw[i] != ']') {
    size_t used = 0;
    out.push_back(std::stod(raw.substr(i), &used));
    i += used;
    while (i < raw.size() && (raw[i] == ',' || raw[i] == ' ')) ++i;
  }
  return out;
}
std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

TEST_CASE("IQ formats: llama.cpp's blocks decode to its floats, its dot products, and llmkit writes its bytes", "[quant][iq]") {
  JsonObject ref = fixture::read_json_file(std::string(LLMKIT_TEST_DATA) + "/iq_blocks.json");
  const int rows = static_cast<int>(*ref.get_int("rows")), n = static_cast<int>(*ref.get_int("n"));
  const std::vector<float> x = floats(*ref.get_string("x")), qw = floats(*ref.get_string("imatrix")),
                           act = floats(*ref.get_string("act"));
  REQUIRE(x.size() == static_cast<size_t>(rows * n));
  JsonObject types = parse_json_object(*ref.raw("types"));
  int checked = 0, written = 0;
  for (const auto& [name, raw] : types.fields()) {
    const GgmlType type = *ggml_type_from_name(upper(name));
    INFO(name);
    JsonObject t = parse_json_object(raw);
    const std::vector<uint8_t> bytes = unhex(*t.get_string("bytes_imatrix"));
    const uint64_t row_bytes = ggml_bytes(type, static_cast<uint64_t>(n));
    REQUIRE(bytes.size() == row_bytes * rows);
    std::vector<float> back(x.size());
    for (int r = 0; r < rows; ++r) dequantize_row(type, bytes.data() + r * row_bytes, back.data() + r * n, n);
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH64(back.data(), back.size() * 4, 0)));
    CHECK(std::string(hex) == *t.get_string("dequant_xxh64"));
    // Dot products against the activation row quantized as ggml does.
    const QuantOps* ops = quant_ops(type);
    REQUIRE(ops->vec_dot);
    std::vector<uint8_t> a8(ggml_bytes(ops->vec_dot_type, static_cast<uint64_t>(n)));
    quantize_act_row(ops->vec_dot_type, act.data(), a8.data(), n);
    const std::vector<double> dots = numbers(*t.raw("dot"));
    REQUIRE(dots.size() == static_cast<size_t>(rows));
    for (int r = 0; r < rows; ++r) {
      const double got = ops->vec_dot(n, bytes.data() + r * row_bytes, a8.data());
      CHECK(std::fabs(got - dots[static_cast<size_t>(r)]) <= 1e-5 * (1 + std::fabs(dots[static_cast<size_t>(r)])));
    }
    // Several tokens at once (where the path has a kernel for it): each token's result bit for
    // bit its own dot product, whatever shares its call.
    if (ops->gemm || ops->gemm_rows) {
      // More than 8 where the kernel takes more; past a 64-token chunk for the several-row kernel.
      const int ntok = ops->gemm_rows ? 70 : std::min(12, ops->gemm_tokens);
      std::vector<uint8_t> acts(a8.size() * static_cast<size_t>(ntok));
      std::vector<float> scaled(act.size());
      for (int t = 0; t < ntok; ++t) {
        for (size_t i = 0; i < act.size(); ++i) scaled[i] = act[i] * static_cast<float>(t + 1) - 0.1f * static_cast<float>(t);
        quantize_act_row(ops->vec_dot_type, scaled.data(), acts.data() + t * a8.size(), n);
      }
      for (int r = 0; r < rows && ops->gemm; ++r) {
        std::vector<float> y(static_cast<size_t>(ntok));
        ops->gemm(n, bytes.data() + r * row_bytes, acts.data(), a8.size(), ntok, y.data(), 1);
        for (int t = 0; t < ntok; ++t) CHECK(y[t] == ops->vec_dot(n, bytes.data() + r * row_bytes, acts.data() + t * a8.size()));
      }
      // Several rows at once: every count of rows and tokens, each result its own dot product.
      for (int nr = 1; nr <= rows && ops->gemm_rows; ++nr)
        for (int nt : {1, 2, 3, 4, 5, 9, 63, 64, 65, 70}) {
          std::vector<float> y(static_cast<size_t>(nt * rows), -1.f);
          ops->gemm_rows(n, bytes.data(), row_bytes, nr, acts.data(), a8.size(), nt, y.data(), static_cast<size_t>(rows));
          for (int t = 0; t < nt; ++t)
            for (int r = 0; r < rows; ++r)
              CHECK(y[static_cast<size_t>(t * rows + r)] ==
                    (r < nr ? ops->vec_dot(n, bytes.data() + r * row_bytes, acts.data() + t * a8.size()) : -1.f));
        }
    }
    ++checked;
    // Where llmkit writes the format: ggml's bytes, with the importance vector and without it.
    if (!can_quantize(type)) continue;
    std::vector<uint8_t> ours(bytes.size());
    for (int r = 0; r < rows; ++r) ops->from_float_weighted(x.data() + r * n, ours.data() + r * row_bytes, n, qw.data());
    CHECK(ours == bytes);
    if (auto plain = t.get_string("bytes")) {
      for (int r = 0; r < rows; ++r) quantize_row(type, x.data() + r * n, ours.data() + r * row_bytes, n);
      CHECK(ours == unhex(*plain));
    }
    ++written;
  }
  CHECK(checked == 9);
  CHECK(written >= 2);
}
