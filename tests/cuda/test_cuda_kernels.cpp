// Every CUDA kernel of kernels/cuda/ops.h against a CPU scalar reference, on random data.
// Skipped (exit 77) where there is no CUDA device.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cpu/fp16.h"
#include "cpu/quants.h"
#include "cuda/blocks.h"
#include "cuda/fp16_cuda.h"
#include "cuda/ops.h"

namespace k = llmkit::kernels;
namespace kc = llmkit::kernels::cuda;
namespace gpu = llmkit::kernels::gpu;

namespace {

int failures = 0;
void check(bool ok, const std::string& what) {
  if (!ok && failures++ < 40) std::printf("FAIL: %s\n", what.c_str());
}

// Device copy of a host vector, freed at scope end.
template <class T>
struct Dev {
  T* p = nullptr;
  size_t n = 0;
  explicit Dev(size_t count) : n(count) { p = static_cast<T*>(kc::device_alloc(count * sizeof(T) + 16)); }
  explicit Dev(const std::vector<T>& v) : Dev(v.size()) { kc::copy_to_device(p, v.data(), v.size() * sizeof(T)); }
  ~Dev() { kc::device_free(p); }
  std::vector<T> get() const {
    std::vector<T> v(n);
    kc::synchronize();
    kc::copy_to_host(v.data(), p, n * sizeof(T));
    return v;
  }
};

std::vector<float> randn(size_t n, uint32_t seed, float sd = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.f, sd);
  std::vector<float> v(n);
  for (auto& x : v) x = g(rng);
  return v;
}

using QuantizeFn = void (*)(const float*, void*, int64_t);
struct TypeCase {
  int type;
  const char* name;
  QuantizeFn quantize;  // nullptr: F16/BF16/F32, made here
};

std::vector<uint8_t> make_rows(const TypeCase& tc, const std::vector<float>& x, int64_t rows, int64_t n) {
  std::vector<uint8_t> out;
  if (tc.quantize) {
    const size_t rb = static_cast<size_t>(n / gpu::block_values(tc.type) * gpu::block_bytes(tc.type));
    out.resize(rb * static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) tc.quantize(x.data() + r * n, out.data() + rb * static_cast<size_t>(r), n);
  } else if (tc.type == gpu::kF32) {
    out.resize(x.size() * 4);
    std::memcpy(out.data(), x.data(), out.size());
  } else {
    out.resize(x.size() * 2);
    for (size_t i = 0; i < x.size(); ++i) {
      const uint16_t h = tc.type == gpu::kF16 ? k::fp32_to_fp16(x[i]) : k::fp32_to_bf16(x[i]);
      std::memcpy(out.data() + 2 * i, &h, 2);
    }
  }
  return out;
}

void test_matvec_and_gemm() {
  const TypeCase cases[] = {
      {gpu::kQ4_0, "Q4_0", k::quantize_row_q4_0_ref}, {gpu::kQ4_1, "Q4_1", k::quantize_row_q4_1_ref},
      {gpu::kQ5_0, "Q5_0", k::quantize_row_q5_0_ref}, {gpu::kQ5_1, "Q5_1", k::quantize_row_q5_1_ref},
      {gpu::kQ8_0, "Q8_0", k::quantize_row_q8_0_ref}, {gpu::kQ2_K, "Q2_K", k::quantize_row_q2_K_ref},
      {gpu::kQ3_K, "Q3_K", k::quantize_row_q3_K_ref}, {gpu::kQ4_K, "Q4_K", k::quantize_row_q4_K_ref},
      {gpu::kQ5_K, "Q5_K", k::quantize_row_q5_K_ref}, {gpu::kQ6_K, "Q6_K", k::quantize_row_q6_K_ref},
      {gpu::kF16, "F16", nullptr},  {gpu::kBF16, "BF16", nullptr}, {gpu::kF32, "F32", nullptr},
  };
  const int64_t rows = 96, n = 1024, ntok = 3;
  const std::vector<float> wf = randn(static_cast<size_t>(rows * n), 11, 0.5f);
  const std::vector<float> x = randn(static_cast<size_t>(ntok * n), 12);
  for (const TypeCase& tc : cases) {
    const std::vector<uint8_t> w = make_rows(tc, wf, rows, n);
    const size_t rb = w.size() / static_cast<size_t>(rows);
    // Reference: the weights as the CPU reads them (the same reader, checked bit for bit against
    // the CPU dequantization by the unit tests), in double, against unquantized activations.
    std::vector<double> ref(static_cast<size_t>(rows * ntok)), mag(ref.size());
    for (int64_t t = 0; t < ntok; ++t)
      for (int64_t r = 0; r < rows; ++r) {
        double s = 0, m = 0;
        for (int64_t i = 0; i < n; ++i) {
          const double p = double(gpu::read_value(tc.type, w.data() + rb * static_cast<size_t>(r), i)) * x[static_cast<size_t>(t * n + i)];
          s += p, m += std::fabs(p);
        }
        ref[static_cast<size_t>(t * rows + r)] = s, mag[static_cast<size_t>(t * rows + r)] = m;
      }
    Dev<uint8_t> dw(w);
    Dev<float> dx(x), dy(static_cast<size_t>(rows * ntok));
    Dev<uint8_t> act(kc::act_bytes(n, ntok));
    kc::quantize_act(dx.p, n, ntok, act.p, nullptr);
    kc::matvec(tc.type, dw.p, rows, n, act.p, dx.p, ntok, dy.p, nullptr);
    std::vector<float> y = dy.get();
    const std::string err = kc::last_error();
    check(err.empty(), std::string(tc.name) + " matvec: " + err);
    // 8-bit activations: about 1/254 of each value's magnitude, summed in quadrature, for the
    // quantized types; float activations for the others.
    const double tol = gpu::is_block_type(tc.type) ? 1e-2 : 1e-5;
    for (size_t i = 0; i < y.size(); ++i)
      check(std::fabs(y[i] - ref[i]) <= tol * (1 + mag[i]),
            std::string(tc.name) + " matvec output " + std::to_string(i) + ": " + std::to_string(y[i]) + " vs " + std::to_string(ref[i]));
    // The prompt path: dequantized to F16, cuBLAS.
    Dev<uint16_t> wh(static_cast<size_t>(rows * n)), xh(static_cast<size_t>(ntok * n));
    kc::dequantize_f16(tc.type, dw.p, rows, n, wh.p, nullptr);
    std::vector<uint16_t> whost = wh.get();
    for (int64_t r = 0; r < rows; r += 7)
      for (int64_t i = 0; i < n; i += 13) {
        const float v = gpu::read_value(tc.type, w.data() + rb * static_cast<size_t>(r), i);
        check(whost[static_cast<size_t>(r * n + i)] == k::fp32_to_fp16(v), std::string(tc.name) + " dequantize_f16");
      }
    kc::f32_to_f16(dx.p, x.size(), xh.p, nullptr);
    check(kc::gemm_f16(wh.p, rows, n, xh.p, ntok, dy.p, nullptr), std::string(tc.name) + " gemm: " + kc::last_error());
    y = dy.get();
    for (size_t i = 0; i < y.size(); ++i)
      check(std::fabs(y[i] - ref[i]) <= 2e-3 * (1 + mag[i]), std::string(tc.name) + " gemm output " + std::to_string(i));
  }
}

void test_layer_steps() {
  const int64_t ntok = 4, heads = 8, kv_heads = 2, hd = 64, dim = heads * hd, kvd = kv_heads * hd;
  // rms_norm
  {
    const std::vector<float> x = randn(static_cast<size_t>(ntok * dim), 21), w = randn(static_cast<size_t>(dim), 22);
    Dev<float> dx(x), dw(w), dy(x.size());
    kc::rms_norm(dx.p, dw.p, 1e-5f, dy.p, ntok, dim, nullptr);
    const std::vector<float> y = dy.get();
    for (int64_t t = 0; t < ntok; ++t) {
      double ss = 0;
      for (int64_t i = 0; i < dim; ++i) ss += double(x[static_cast<size_t>(t * dim + i)]) * x[static_cast<size_t>(t * dim + i)];
      const double sc = 1.0 / std::sqrt(ss / double(dim) + 1e-5);
      for (int64_t i = 0; i < dim; ++i) {
        const size_t j = static_cast<size_t>(t * dim + i);
        check(std::fabs(y[j] - x[j] * sc * w[static_cast<size_t>(i)]) <= 1e-5 * (1 + std::fabs(y[j])), "rms_norm");
      }
    }
  }
  // rope, both pairings
  for (bool neox : {false, true}) {
    const std::vector<float> x = randn(static_cast<size_t>(ntok * dim), 23);
    const std::vector<int32_t> pos = {0, 1, 17, 900};
    Dev<float> dx(x);
    Dev<int32_t> dp(pos);
    kc::rope(dx.p, ntok, heads, hd, hd, dp.p, 10000.f, 1.f, neox, nullptr);
    const std::vector<float> y = dx.get();
    for (int64_t t = 0; t < ntok; ++t)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < hd / 2; ++i) {
          const double th = pos[static_cast<size_t>(t)] * std::pow(10000.0, -2.0 * double(i) / double(hd));
          const int64_t a = neox ? i : 2 * i, b = neox ? i + hd / 2 : 2 * i + 1;
          const size_t o = static_cast<size_t>((t * heads + h) * hd);
          const double ya = x[o + a] * std::cos(th) - x[o + b] * std::sin(th), yb = x[o + a] * std::sin(th) + x[o + b] * std::cos(th);
          // Angles up to 900 radians in float: a few ulps of 900 in the angle.
          check(std::fabs(y[o + a] - ya) <= 2e-3 && std::fabs(y[o + b] - yb) <= 2e-3, neox ? "rope neox" : "rope");
        }
  }
  // softmax
  {
    const int64_t len = 777;
    const std::vector<float> x = randn(static_cast<size_t>(3 * len), 24, 4.f);
    Dev<float> dx(x);
    kc::softmax(dx.p, 3, len, nullptr);
    const std::vector<float> y = dx.get();
    for (int r = 0; r < 3; ++r) {
      double m = -1e30, s = 0;
      for (int64_t i = 0; i < len; ++i) m = std::max(m, double(x[static_cast<size_t>(r * len + i)]));
      for (int64_t i = 0; i < len; ++i) s += std::exp(x[static_cast<size_t>(r * len + i)] - m);
      for (int64_t i = 0; i < len; ++i) {
        const double e = std::exp(x[static_cast<size_t>(r * len + i)] - m) / s;
        check(std::fabs(y[static_cast<size_t>(r * len + i)] - e) <= 1e-6 + 1e-5 * e, "softmax");
      }
    }
  }
  // store_kv + attention against a double reference over the F16-rounded cache
  {
    const int64_t max_len = 40;
    const std::vector<int32_t> pos = {36, 37, 38, 39};  // the last 4 of 40 cached positions
    std::vector<float> kall = randn(static_cast<size_t>(max_len * kvd), 25), vall = randn(static_cast<size_t>(max_len * kvd), 26);
    const std::vector<float> q = randn(static_cast<size_t>(ntok * dim), 27);
    std::vector<int32_t> all_pos(static_cast<size_t>(max_len));
    for (int64_t i = 0; i < max_len; ++i) all_pos[static_cast<size_t>(i)] = static_cast<int32_t>(i);
    Dev<float> dk(kall), dv(vall), dq(q), dout(static_cast<size_t>(ntok * dim)), scratch(static_cast<size_t>(ntok * heads * max_len));
    Dev<int32_t> dall(all_pos), dp(pos);
    Dev<uint16_t> kcache(static_cast<size_t>(max_len * kvd)), vcache(static_cast<size_t>(max_len * kvd));
    kc::store_kv(dk.p, dv.p, max_len, kvd, dall.p, kcache.p, vcache.p, nullptr);
    const float scale = 1.f / std::sqrt(float(hd));
    kc::attention(dq.p, kcache.p, vcache.p, dp.p, ntok, heads, kv_heads, hd, max_len, scale, scratch.p, dout.p, nullptr);
    const std::vector<float> out = dout.get();
    const std::vector<uint16_t> kh = kcache.get();
    for (size_t i = 0; i < kall.size(); ++i) check(kh[i] == k::fp32_to_fp16(kall[i]), "store_kv");
    auto r16 = [](float f) { return double(k::fp16_to_fp32(k::fp32_to_fp16(f))); };
    for (int64_t t = 0; t < ntok; ++t)
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t kvh = h / (heads / kv_heads), len = pos[static_cast<size_t>(t)] + 1;
        std::vector<double> sc(static_cast<size_t>(len));
        double m = -1e30, s = 0;
        for (int64_t j = 0; j < len; ++j) {
          double d = 0;
          for (int64_t i = 0; i < hd; ++i)
            d += r16(q[static_cast<size_t>((t * heads + h) * hd + i)]) * r16(kall[static_cast<size_t>(j * kvd + kvh * hd + i)]);
          sc[static_cast<size_t>(j)] = d * scale, m = std::max(m, d * scale);
        }
        for (auto& v : sc) s += (v = std::exp(v - m));
        for (int64_t i = 0; i < hd; ++i) {
          double o = 0;
          for (int64_t j = 0; j < len; ++j) o += sc[static_cast<size_t>(j)] / s * r16(vall[static_cast<size_t>(j * kvd + kvh * hd + i)]);
          check(std::fabs(out[static_cast<size_t>((t * heads + h) * hd + i)] - o) <= 1e-4, "attention");
        }
      }
  }
  // swiglu and add
  {
    const std::vector<float> g = randn(5000, 28, 3.f), u = randn(5000, 29);
    Dev<float> dg(g), du(u);
    kc::swiglu(dg.p, du.p, 5000, nullptr);
    std::vector<float> y = dg.get();
    for (size_t i = 0; i < y.size(); ++i)
      check(std::fabs(y[i] - g[i] / (1 + std::exp(-double(g[i]))) * u[i]) <= 1e-5 * (1 + std::fabs(y[i])), "swiglu");
    kc::add(dg.p, du.p, 5000, nullptr);
    const std::vector<float> z = dg.get();
    for (size_t i = 0; i < z.size(); ++i) check(z[i] == y[i] + u[i], "add");
  }
  const std::string err = kc::last_error();
  check(err.empty(), "layer steps: " + err);
}

}  // namespace

int main() {
  if (kc::device_count() == 0) {
    std::printf("SKIP: no CUDA device on this machine\n");
    return 77;
  }
  test_matvec_and_gemm();
  test_layer_steps();
  std::printf("%s: %d failures\n", failures ? "FAIL" : "OK", failures);
  return failures ? 1 : 0;
}
