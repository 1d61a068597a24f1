// The AVX2 kernels (vpmaddubsw/vpmaddwd integer dots): see interleaved_avx2.inc.
#define LLMKIT_AVX_VNNI 0
#include "cpu/interleaved_avx2.inc"
