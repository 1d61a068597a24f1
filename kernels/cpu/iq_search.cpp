#include "cpu/iq_search.h"

#include <algorithm>
#include <utility>

#include "cpu/iq_grids.h"

namespace llmkit::kernels {
namespace {

// points: level-index codes (bits per coordinate); value(l): a level's coordinate; rings: how many
// distinct smallest distances make up an off-grid point's neighbours.
template <size_t N, class Value>
IqSearch build(const uint16_t (&points)[N], int dims, int bits, Value value, int rings) {
  IqSearch s;
  s.dims = dims;
  s.bits = bits;
  const int levels = 1 << bits, lattice = 1 << (bits * dims);
  s.values.resize(N * static_cast<size_t>(dims));
  s.index.assign(static_cast<size_t>(lattice), -1);
  for (size_t i = 0; i < N; ++i) {
    for (int k = 0; k < dims; ++k) s.values[i * dims + k] = static_cast<int8_t>(value((points[i] >> (bits * k)) & (levels - 1)));
    s.index[points[i]] = static_cast<int32_t>(i);
  }
  s.first.assign(static_cast<size_t>(lattice), 0);
  s.count.assign(static_cast<size_t>(lattice), 0);
  std::vector<int> dist(N);
  std::vector<std::pair<int, int>> near;
  int8_t pos[8];
  for (int u = 0; u < lattice; ++u) {
    if (s.index[u] >= 0) continue;
    for (int k = 0; k < dims; ++k) pos[k] = static_cast<int8_t>(value((u >> (bits * k)) & (levels - 1)));
    for (size_t j = 0; j < N; ++j) {
      int d = 0;
      for (int k = 0; k < dims; ++k) d += (s.values[j * dims + k] - pos[k]) * (s.values[j * dims + k] - pos[k]);
      dist[j] = d;
    }
    // The `rings` smallest distinct distances; every point within the largest of them, nearest
    // first and by index within a distance.
    int ring[4], have = 0;
    for (int d : dist) {
      int i = 0;
      while (i < have && ring[i] < d) ++i;
      if (i < have && ring[i] == d) continue;
      if (i >= rings) continue;
      for (int k = (have < rings ? have : rings - 1); k > i; --k) ring[k] = ring[k - 1];
      ring[i] = d;
      if (have < rings) ++have;
    }
    near.clear();
    for (size_t j = 0; j < N; ++j)
      if (dist[j] <= ring[have - 1]) near.emplace_back(dist[j], static_cast<int>(j));
    std::sort(near.begin(), near.end());
    s.first[u] = static_cast<uint32_t>(s.neighbours.size());
    for (const auto& [d, j] : near) s.neighbours.push_back(static_cast<uint16_t>(j));
    s.count[u] = static_cast<uint16_t>(near.size());
  }
  s.lanes_first.assign(static_cast<size_t>(lattice), 0);
  for (int u = 0; u < lattice; ++u) {
    if (!s.count[u]) continue;
    s.lanes_first[u] = static_cast<uint32_t>(s.lanes.size() / (8 * static_cast<size_t>(dims)));
    const size_t chunks = (s.count[u] + 7u) / 8u, base = s.lanes.size();
    s.lanes.resize(base + chunks * 8 * static_cast<size_t>(dims), 0);
    for (uint32_t j = 0; j < s.count[u]; ++j) {
      const int8_t* p = s.point(s.neighbours[s.first[u] + j]);
      for (int k = 0; k < dims; ++k) s.lanes[base + (j / 8) * 8 * dims + static_cast<size_t>(k) * 8 + j % 8] = p[k];
    }
  }
  return s;
}

}  // namespace

const IqSearch& iq3_search(int grid_size) {
  auto odd = [](int l) { return 2 * l + 1; };
  if (grid_size == 256) {
    static const IqSearch s = build(iq_points::kIq3xxsPoints, 4, 3, odd, 2);
    return s;
  }
  static const IqSearch s = build(iq_points::kIq3sPoints, 4, 3, odd, 3);
  return s;
}

const IqSearch& iq1_search() {
  static const IqSearch s = build(iq_points::kIq1sPoints, 8, 2, [](int l) { return 2 * l + 1; }, 3);
  return s;
}

const IqSearch& iq2_search(int grid_size) {
  auto odd = [](int l) { return 2 * l + 1; };
  switch (grid_size) {
    case 256: {
      static const IqSearch s = build(iq_points::kIq2xxsPoints, 8, 2, odd, 2);
      return s;
    }
    case 512: {
      static const IqSearch s = build(iq_points::kIq2xsPoints, 8, 2, odd, 2);
      return s;
    }
    default: {
      static const IqSearch s = build(iq_points::kIq2sPoints, 8, 2, odd, 1);
      return s;
    }
  }
}

}  // namespace llmkit::kernels
