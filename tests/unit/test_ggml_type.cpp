#include <catch2/catch.hpp>

#include "llmkit/file_type.h"
#include "llmkit/ggml_type.h"

using namespace llmkit;

TEST_CASE("ggml type table: block geometry of the formats users meet", "[types]") {
  struct E { GgmlType t; uint32_t block, bytes; };
  for (E e : {E{GgmlType::F32, 1, 4}, E{GgmlType::F16, 1, 2}, E{GgmlType::BF16, 1, 2}, E{GgmlType::Q4_0, 32, 18},
              E{GgmlType::Q4_1, 32, 20}, E{GgmlType::Q5_0, 32, 22}, E{GgmlType::Q5_1, 32, 24},
              E{GgmlType::Q8_0, 32, 34}, E{GgmlType::Q8_1, 32, 36}, E{GgmlType::Q2_K, 256, 84},
              E{GgmlType::Q3_K, 256, 110}, E{GgmlType::Q4_K, 256, 144}, E{GgmlType::Q5_K, 256, 176},
              E{GgmlType::Q6_K, 256, 210}, E{GgmlType::Q8_K, 256, 292}, E{GgmlType::IQ4_NL, 32, 18},
              E{GgmlType::IQ4_XS, 256, 136}, E{GgmlType::MXFP4, 32, 17}}) {
    const auto& info = ggml_type_info(e.t);
    INFO(info.name);
    CHECK(info.block_size == e.block);
    CHECK(info.block_bytes == e.bytes);
  }
  CHECK(ggml_types().size() == 32);
  for (const auto& t : ggml_types()) {
    CHECK(ggml_type_from_name(t.name) == t.type);
    CHECK(ggml_type_info(static_cast<uint32_t>(t.type)) == &t);
  }
  CHECK(ggml_type_from_name("q4_k") == GgmlType::Q4_K);
  CHECK(!ggml_type_from_name("Q4_K_M"));
  CHECK(ggml_type_info(4u) == nullptr);
  CHECK(std::string(ggml_removed_type_name(31)) == "Q4_0_4_4");
  CHECK(ggml_bytes(GgmlType::Q4_K, 4096) == 16 * 144);
}

TEST_CASE("llama.cpp file types by id and name", "[types]") {
  CHECK(std::string(file_type_info(15)->name) == "Q4_K_M");
  CHECK(std::string(file_type_info(0)->name) == "F32");
  CHECK(std::string(file_type_info(32)->name) == "BF16");
  CHECK(file_type_from_name("q4_k_m") == 15u);
  CHECK(file_type_from_name("Q8_0") == 7u);
  CHECK(!file_type_info(4));
}
