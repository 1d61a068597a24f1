// What the CPU running us can do, asked once at run time, so that one build runs well on any x86-64.
#pragma once

namespace llmkit::kernels {

// AVX2 with FMA and F16C: Haswell, Zen 1 and later.
bool cpu_has_avx2();
// AVX2 (as above) with AVX-VNNI (vpdpbusd on ymm): Alder Lake, Zen 5 and later.
bool cpu_has_avx_vnni();
// AVX-512 F/BW/VL with VNNI (vpdpbusd, vpdpwssd): Zen 4, Ice Lake and later.
bool cpu_has_avx512_vnni();

}  // namespace llmkit::kernels
