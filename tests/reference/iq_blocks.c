// Reference blocks of the IQ formats from llama.cpp's own ggml (linked, not copied): for fixed
// inputs (4 rows of 512 values, an importance vector, an activation row, all listed in the output
// as float bit patterns), each format's quantized bytes with and without the importance vector,
// the xxh64 of its dequantized rows' float bits, and its dot product with the activation row.
// tests/data/iq_blocks.json comes from here (iq_blocks.sh builds and runs it).
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "ggml-cpu.h"
#include "ggml.h"

#define ROWS 4
#define N 512

static uint64_t state = 0x9E3779B97F4A7C15ull;
static float uniform(void) {  // (0, 1), from a 64-bit LCG
  state = state * 6364136223846793005ull + 1442695040888963407ull;
  return ((float)(state >> 40) + 0.5f) / 16777216.0f;
}
static float heavy(void) {  // a heavy-tailed value: Gaussian with a random spread
  const float g = sqrtf(-2.0f * logf(uniform())) * cosf(6.2831853f * uniform());
  return g * (0.3f + 2.0f * uniform() * uniform());
}
static void print_floats(const char* key, const float* v, int n) {
  printf("\"%s\":\"", key);
  for (int i = 0; i < n; ++i) {
    uint32_t b;
    memcpy(&b, &v[i], 4);
    printf("%08x", b);
  }
  printf("\"");
}
static void print_bytes(const char* key, const uint8_t* v, size_t n) {
  printf("\"%s\":\"", key);
  for (size_t i = 0; i < n; ++i) printf("%02x", v[i]);
  printf("\"");
}

int main(void) {
  ggml_cpu_init();
  static float x[ROWS * N], qw[N], act[N], back[ROWS * N];
  static uint8_t q[ROWS * N * 2], a8[N * 2];
  for (int i = 0; i < ROWS * N; ++i) x[i] = 0.02f * heavy() * (1.0f + (float)(i / N));
  for (int i = 0; i < N; ++i) qw[i] = 0.05f + uniform() * uniform() * 4.0f;
  for (int i = 0; i < N; ++i) act[i] = heavy();
  printf("{\"rows\":%d,\"n\":%d,", ROWS, N);
  print_floats("x", x, ROWS * N);
  printf(",");
  print_floats("imatrix", qw, N);
  printf(",");
  print_floats("act", act, N);
  printf(",\"types\":{");
  const enum ggml_type types[] = {GGML_TYPE_IQ2_XXS, GGML_TYPE_IQ2_XS, GGML_TYPE_IQ2_S, GGML_TYPE_IQ3_XXS, GGML_TYPE_IQ3_S,
                                  GGML_TYPE_IQ1_S,   GGML_TYPE_IQ1_M,  GGML_TYPE_IQ4_NL, GGML_TYPE_IQ4_XS};
  for (size_t t = 0; t < sizeof types / sizeof types[0]; ++t) {
    const enum ggml_type type = types[t];
    const size_t row_bytes = ggml_row_size(type, N);
    printf("%s\"%s\":{", t ? "," : "", ggml_type_name(type));
    for (int weighted = 0; weighted < 2; ++weighted) {
      if (!weighted && ggml_quantize_requires_imatrix(type)) continue;
      ggml_quantize_chunk(type, x, q, 0, ROWS, N, weighted ? qw : NULL);
      print_bytes(weighted ? "bytes_imatrix" : "bytes", q, row_bytes * ROWS);
      printf(",");
    }
    // Dequantization and the dot product of the last quantization (with the importance vector).
    ggml_get_type_traits(type)->to_float(q, back, ROWS * N);
    printf("\"dequant_xxh64\":\"%016llx\",\"dot\":[", (unsigned long long)XXH64(back, sizeof back, 0));
    const struct ggml_type_traits_cpu* cpu = ggml_get_type_traits_cpu(type);
    ggml_get_type_traits_cpu(cpu->vec_dot_type)->from_float(act, a8, N);
    for (int r = 0; r < ROWS; ++r) {
      float s = 0;
      cpu->vec_dot(N, &s, 0, q + r * row_bytes, 0, a8, 0, 1);
      printf("%s%.9g", r ? "," : "", s);
    }
    printf("]}");
  }
  printf("}}\n");
  return 0;
}
