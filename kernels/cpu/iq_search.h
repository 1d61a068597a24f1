// What the grid quantizers search: for a grid of points with 4 (IQ3) or 8 (IQ2, IQ1) coordinates,
// each coordinate one of a few levels, the grid index of every point of the full lattice that is
// on the grid, and for every point that is not, its nearest grid points (those at the few smallest
// squared distances, nearest first, ties by index), as ggml's quantizers search them. Built once
// per grid, on first use.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#ifdef __AVX2__
#include <immintrin.h>
#endif

namespace llmkit::kernels {

struct IqSearch {
  int dims = 0, bits = 0;          // coordinates per point, bits per coordinate's level index
  std::vector<int8_t> values;      // grid point i's coordinates, in the quantizers' units
  std::vector<int32_t> index;      // lattice code -> grid index, or -1 off the grid
  std::vector<uint32_t> first;     // lattice code -> where its neighbours start in `neighbours`
  std::vector<uint16_t> count;     // ... and how many there are (0 on the grid)
  std::vector<uint16_t> neighbours;
  // The same neighbours' coordinates for 8-lane searches: per lattice code, chunks of 8 neighbours
  // from chunk lanes_first[u], each chunk `dims` rows of 8 coordinates (unused lanes 0).
  std::vector<uint32_t> lanes_first;
  std::vector<int8_t> lanes;
  const int8_t* point(int i) const { return values.data() + static_cast<size_t>(i) * dims; }
};

// IQ3_XXS (256 points) and IQ3_S (512): 4 coordinates 2 l + 1 (l < 8), neighbours at the 2 (256)
// or 3 (512) smallest distances.
const IqSearch& iq3_search(int grid_size);
// IQ2_XXS (256 points), IQ2_XS (512), IQ2_S (1024): 8 coordinates 2 l + 1 (l < 3), neighbours at
// the 2 (1 for IQ2_S) smallest distances.
const IqSearch& iq2_search(int grid_size);
// IQ1_S and IQ1_M (2048 points): 8 coordinates, levels -1, 0, 1 as 2 l + 1 = 1, 3, 5, neighbours
// at the 3 smallest distances.
const IqSearch& iq1_search();

// Eight of `lanes`'s int8 coordinates as floats, for the 8-lane searches (an explicit widening:
// GCC scalarizes the generic vector conversion).
typedef float iq_v8f __attribute__((vector_size(32)));
inline iq_v8f load_lane_coords(const int8_t* p) {
#ifdef __AVX2__
  return reinterpret_cast<iq_v8f>(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)))));
#else
  iq_v8f r;
  for (int k = 0; k < 8; ++k) r[k] = p[k];
  return r;
#endif
}

}  // namespace llmkit::kernels
