// The AVX2 kernels with AVX-VNNI integer dots (vpdpbusd on ymm): see interleaved_avx2.inc.
#define LLMKIT_AVX_VNNI 1
#include "cpu/interleaved_avx2.inc"
