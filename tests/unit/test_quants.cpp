// Block formats: round trips on random and adversarial data, bit-exactness against llama.cpp's
// own output where our algorithm is its algorithm, and NaN/Inf rejected.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <filesystem>
#include <random>

#include "cpu/fp16.h"
#include "cpu/quants.h"
#include "llmkit/gguf_writer.h"

#include "llmkit/error.h"
#include "llmkit/gguf.h"
#include "llmkit/quant.h"
#include "llmkit/quant_plan.h"
#include "llmkit/quantize.h"
#include "support/fixture.h"

using namespace llmkit;

namespace {

const GgmlType kAll[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1,
                         GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q2_K, GgmlType::Q3_K,
                         GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q8_K};

double bound(GgmlType t) {  // nrmse a Gaussian row must stay under
  switch (t) {
    case GgmlType::F32: return 0;
    case GgmlType::F16: return 1e-3;
    case GgmlType::BF16: return 5e-3;
    case GgmlType::Q8_0: case GgmlType::Q8_K: return 0.01;
    case GgmlType::Q6_K: return 0.03;
    case GgmlType::Q5_0: case GgmlType::Q5_1: case GgmlType::Q5_K: return 0.06;
    case GgmlType::Q4_0: case GgmlType::Q4_1: case GgmlType::Q4_K: return 0.12;
    case GgmlType::Q3_K: return 0.22;
    default: return 0.45;  // Q2_K
  }
}

std::vector<float> round_trip(GgmlType t, const std::vector<float>& x) {
  std::vector<uint8_t> q(ggml_bytes(t, x.size()));
  quantize_row(t, x.data(), q.data(), static_cast<int64_t>(x.size()));
  std::vector<float> y(x.size());
  dequantize_row(t, q.data(), y.data(), static_cast<int64_t>(x.size()));
  return y;
}

double nrmse(const std::vector<float>& a, const std::vector<float>& b) {
  double e = 0, r = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    e += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    r += double(b[i]) * b[i];
  }
  return r ? std::sqrt(e / r) : std::sqrt(e);
}

}  // namespace

TEST_CASE("every type round-trips random rows within its error bound", "[quant]") {
  std::mt19937 rng(1);
  std::normal_distribution<float> g(0.f, 0.02f);
  std::vector<float> x(4096);
  for (auto& v : x) v = g(rng);
  for (GgmlType t : kAll) {
    INFO(ggml_type_name(t));
    std::vector<float> y = round_trip(t, x);
    CHECK(nrmse(y, x) <= bound(t));
    CHECK(round_trip(t, x) == y);  // deterministic
  }
}

TEST_CASE("adversarial rows: zeros, one huge outlier, constants, tiny values", "[quant]") {
  for (GgmlType t : kAll) {
    INFO(ggml_type_name(t));
    std::vector<float> zeros(512, 0.f);
    CHECK(round_trip(t, zeros) == zeros);

    std::vector<float> outlier(512, 0.001f);
    outlier[77] = 1e4f;
    std::vector<float> y = round_trip(t, outlier);
    for (float v : y) REQUIRE(std::isfinite(v));
    CHECK(std::fabs(y[77] - 1e4f) <= 1e4f * 0.15f);  // the outlier survives; its block's others may not

    std::vector<float> constant(512, -3.25f);
    y = round_trip(t, constant);
    CHECK(nrmse(y, constant) <= std::max(bound(t), 0.05));

    std::vector<float> tiny(512);
    for (size_t i = 0; i < tiny.size(); ++i) tiny[i] = (i % 7 - 3) * 1e-30f;
    y = round_trip(t, tiny);
    for (float v : y) REQUIRE(std::isfinite(v));
  }
}

TEST_CASE("Q8_K block sums match its codes", "[quant]") {
  std::vector<float> x(256);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(float(i));
  kernels::block_q8_K b;
  quantize_row(GgmlType::Q8_K, x.data(), &b, 256);
  for (int j = 0; j < 16; ++j) {
    int s = 0;
    for (int i = 0; i < 16; ++i) s += b.qs[j * 16 + i];
    CHECK(b.bsums[j] == s);
  }
}

TEST_CASE("the vector Q8_K quantizer is byte-identical to its reference", "[quant]") {
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.f, 1.f);
  const int64_t n = 256 * 64;
  std::vector<float> x(static_cast<size_t>(n));
  for (size_t i = 0; i < x.size(); ++i) x[i] = g(rng) * std::pow(10.f, static_cast<float>(i / 256 % 9) - 4.f);
  // Blocks with a tie of magnitudes (the first one sets the sign), all zeros, one value, halves.
  for (int i = 0; i < 256; ++i) x[256 + i] = static_cast<float>(i % 9) - 4.f;
  std::fill(x.begin() + 512, x.begin() + 768, 0.f);
  x[768 + 200] = -3.f;
  for (int i = 0; i < 256; ++i) x[1024 + i] = (i - 128) * (127.f / 256) / 63.5f;
  std::vector<kernels::block_q8_K> want(static_cast<size_t>(n / 256)), got(want.size());
  kernels::quantize_row_q8_K_ref(x.data(), want.data(), n);
  kernels::quantize_row_q8_K(x.data(), got.data(), n);
  for (size_t b = 0; b < want.size(); ++b) {
    INFO("block " << b);
    CHECK(std::memcmp(&want[b], &got[b], sizeof want[b]) == 0);
  }
}

TEST_CASE("the scalar Q6_K reference is byte-identical to llama.cpp's", "[quant][shared]") {
  // The reference Q4_K_M file holds Q6_K tensors quantized by llama.cpp from the F16 source;
  // our Q6_K is its algorithm, so the bytes must agree.
  GgufFile q = GgufFile::open(fixture::require_shared("models/synth-llama-256.Q4_K_M.llamacpp.gguf").string());
  GgufFile src = GgufFile::open(fixture::require_shared("models/synth-llama-256.f16.gguf").string());
  for (const char* name : {"blk.2.attn_v.weight", "blk.3.attn_v.weight"}) {
    INFO(name);
    const TensorInfo* tq = q.find_tensor(name);
    const TensorInfo* ts = src.find_tensor(name);
    REQUIRE(tq->type == GgmlType::Q6_K);
    std::vector<uint8_t> ours(tq->n_bytes);
    std::vector<float> row(static_cast<size_t>(ts->ne[0]));
    const uint64_t in_row = ggml_bytes(ts->type, ts->ne[0]), out_row = ggml_bytes(GgmlType::Q6_K, ts->ne[0]);
    for (int64_t r = 0; r < ts->ne[1]; ++r) {
      dequantize_row(ts->type, src.tensor_data(*ts).data() + r * in_row, row.data(), ts->ne[0]);
      kernels::quantize_row_q6_K_ref(row.data(), ours.data() + r * out_row, ts->ne[0]);
    }
    auto theirs = q.tensor_data(*tq);
    CHECK(std::memcmp(ours.data(), theirs.data(), ours.size()) == 0);
  }
}

TEST_CASE("NaN or infinite weights are a clear error and leave no output", "[quant]") {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    auto dir = fixture::temp_dir();
    GgufWriter w;
    w.set("general.architecture", GgufValue("llama"));
    w.add_tensor("blk.0.ffn_up.weight", GgmlType::F32, {256, 4}, [bad](TensorSink& s) {
      std::vector<float> v(1024, 0.5f);
      v[700] = bad;
      s.write(v.data(), v.size() * 4);
    });
    std::string in = (dir / "in.gguf").string(), out = (dir / "out.gguf").string();
    w.write(in);
    GgufFile f = GgufFile::open(in);
    QuantPlan plan = plan_quantization(f, *find_preset("Q4_K_M"), {});
    try {
      quantize_model(f, plan, out);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.code() == "bad_weights");
      CHECK_THAT(e.what(), Catch::Contains("blk.0.ffn_up.weight") && Catch::Contains("NaN or infinite"));
    }
    CHECK(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()) == 1);
  }
}

TEST_CASE("plans: IQ4 presets' rules, and the rules an importance matrix changes", "[quant][plan]") {
  // Eight layers with grouped-query attention (8 heads, 2 for keys and values): the first eighth of
  // the ffn_down layers and every attn_v are what the rules single out.
  auto dir = fixture::temp_dir();
  GgufWriter w;
  w.set("general.architecture", GgufValue("llama"));
  w.set("llama.block_count", GgufValue(uint32_t(8)));
  w.set("llama.attention.head_count", GgufValue(uint32_t(8)));
  w.set("llama.attention.head_count_kv", GgufValue(uint32_t(2)));
  auto zeros = [](TensorSink& s, size_t n) { std::vector<uint8_t> z(n); s.write(z.data(), n); };
  w.add_tensor("token_embd.weight", GgmlType::F16, {256, 8}, [&](TensorSink& s) { zeros(s, 4096); });
  for (int l = 0; l < 8; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    w.add_tensor(b + "ffn_down.weight", GgmlType::F16, {256, 4}, [&](TensorSink& s) { zeros(s, 2048); });
    w.add_tensor(b + "attn_v.weight", GgmlType::F16, {256, 4}, [&](TensorSink& s) { zeros(s, 2048); });
    w.add_tensor(b + "ffn_up.weight", GgmlType::F16, {288, 4}, [&](TensorSink& s) { zeros(s, 2304); });
    w.add_tensor(b + "attn_q.weight", GgmlType::F16, {256, 4}, [&](TensorSink& s) { zeros(s, 2048); });
  }
  w.write((dir / "m.gguf").string());
  GgufFile f = GgufFile::open((dir / "m.gguf").string());
  auto types = [&](const char* preset, bool imatrix) {
    QuantPlanOptions o;
    o.has_imatrix = imatrix;
    std::map<std::string, std::string> out;
    for (const auto& t : plan_quantization(f, *find_preset(preset), o).tensors) out[t.src->name] = ggml_type_name(t.to);
    return out;
  };
  for (const char* preset : {"IQ4_XS", "IQ4_NL"}) {
    INFO(preset);
    auto plain = types(preset, false), weighted = types(preset, true);
    CHECK(plain["token_embd.weight"] == "Q6_K");     // the output's rule (no output.weight)
    CHECK(plain["blk.0.ffn_down.weight"] == "Q5_K");  // the first eighth without a matrix
    CHECK(weighted["blk.0.ffn_down.weight"] == preset);
    CHECK(plain["blk.1.ffn_down.weight"] == preset);
    CHECK(plain["blk.3.attn_v.weight"] == "Q5_K");    // four query heads per key head
    CHECK(plain["blk.3.attn_q.weight"] == preset);
    CHECK(plain["blk.3.ffn_up.weight"] == "IQ4_NL");  // 288 columns: IQ4_XS falls back to IQ4_NL
  }
  // Q4_0 and Q5_0 with a matrix: the first eighth of ffn_down takes Q4_1 and Q5_1.
  CHECK(types("Q4_0", false)["blk.0.ffn_down.weight"] == "Q4_0");
  CHECK(types("Q4_0", true)["blk.0.ffn_down.weight"] == "Q4_1");
  CHECK(types("Q4_0", true)["blk.1.ffn_down.weight"] == "Q4_0");
  CHECK(types("Q5_0", true)["blk.0.ffn_down.weight"] == "Q5_1");
}

TEST_CASE("plans: 1-D tensors stay F32, fallbacks for short rows, overrides, pure, requantize", "[quant][plan]") {
  auto dir = fixture::temp_dir();
  GgufWriter w;
  w.set("general.architecture", GgufValue("llama"));
  w.set("llama.block_count", GgufValue(uint32_t(1)));
  auto zeros = [](TensorSink& s, size_t n) { std::vector<uint8_t> z(n); s.write(z.data(), n); };
  w.add_tensor("token_embd.weight", GgmlType::F16, {256, 8}, [&](TensorSink& s) { zeros(s, 4096); });
  w.add_tensor("blk.0.attn_norm.weight", GgmlType::F32, {256}, [&](TensorSink& s) { zeros(s, 1024); });
  w.add_tensor("blk.0.ffn_up.weight", GgmlType::F16, {288, 4}, [&](TensorSink& s) { zeros(s, 2304); });
  w.add_tensor("blk.0.ffn_down.weight", GgmlType::F16, {256, 4}, [&](TensorSink& s) { zeros(s, 2048); });
  w.add_tensor("blk.0.attn_q.weight", GgmlType::Q8_0, {256, 4}, [&](TensorSink& s) { zeros(s, 1088); });
  w.write((dir / "m.gguf").string());
  GgufFile f = GgufFile::open((dir / "m.gguf").string());
  auto type_of = [](const QuantPlan& p, const std::string& n) {
    for (const auto& t : p.tensors)
      if (t.src->name == n) return std::string(ggml_type_name(t.to));
    return std::string("?");
  };
  CHECK_THROWS_WITH(plan_quantization(f, *find_preset("Q4_K_M"), {}), Catch::Contains("--allow-requantize"));
  QuantPlanOptions o;
  o.allow_requantize = true;
  QuantPlan p = plan_quantization(f, *find_preset("Q4_K_M"), o);
  CHECK(type_of(p, "blk.0.attn_norm.weight") == "F32");
  CHECK(type_of(p, "blk.0.ffn_up.weight") == "Q5_0");  // 288 is not a multiple of 256
  CHECK(type_of(p, "token_embd.weight") == "Q6_K");    // no output.weight: the embedding is the output
  CHECK(type_of(p, "blk.0.ffn_down.weight") == "Q6_K");  // use_more_bits(0, 1)
  CHECK(type_of(p, "blk.0.attn_q.weight") == "Q4_K");
  CHECK(p.tensors[0].src->name == "token_embd.weight");  // non-block tensors first
  o.overrides.push_back(parse_type_override("ffn_down=Q8_0"));
  CHECK(type_of(plan_quantization(f, *find_preset("Q4_K_M"), o), "blk.0.ffn_down.weight") == "Q8_0");
  o.overrides.clear();
  o.pure = true;
  QuantPlan pure = plan_quantization(f, *find_preset("Q4_K_M"), o);
  CHECK(type_of(pure, "token_embd.weight") == "Q4_K");
  CHECK(type_of(pure, "blk.0.ffn_up.weight") == "Q5_0");
  CHECK_THROWS_WITH(parse_type_override("ffn_down"), Catch::Contains("REGEX=TYPE"));
  CHECK_THROWS_WITH(parse_type_override("ffn_down=Q9_9"), Catch::Contains("not a type"));
  CHECK_THROWS_WITH(parse_type_override("ffn_(=Q8_0"), Catch::Contains("bad regular expression"));
  CHECK(find_preset("q4_k_m") == find_preset("Q4_K_M"));
  CHECK(!find_preset("Q4_K_X"));
}

TEST_CASE("fast K-quant paths agree with the scalar references", "[quant][simd]") {
  // Same algorithm, sums in another order: codes may differ where two choices are within
  // rounding of each other, so compare reconstruction error, block by block in aggregate.
  std::mt19937 rng(3);
  std::student_t_distribution<float> heavy(3.f);
  std::vector<float> x(256 * 64);
  for (auto& v : x) v = 0.01f * heavy(rng);
  struct P { const char* name; void (*ref)(const float*, void*, int64_t); void (*fast)(const float*, void*, int64_t); GgmlType t; };
  for (P p : {P{"Q2_K", kernels::quantize_row_q2_K_ref, kernels::quantize_row_q2_K, GgmlType::Q2_K},
              P{"Q4_K", kernels::quantize_row_q4_K_ref, kernels::quantize_row_q4_K, GgmlType::Q4_K},
              P{"Q5_K", kernels::quantize_row_q5_K_ref, kernels::quantize_row_q5_K, GgmlType::Q5_K},
              P{"Q6_K", kernels::quantize_row_q6_K_ref, kernels::quantize_row_q6_K, GgmlType::Q6_K}}) {
    INFO(p.name);
    std::vector<uint8_t> a(ggml_bytes(p.t, x.size())), b(a.size());
    p.ref(x.data(), a.data(), static_cast<int64_t>(x.size()));
    p.fast(x.data(), b.data(), static_cast<int64_t>(x.size()));
    std::vector<float> ya(x.size()), yb(x.size());
    dequantize_row(p.t, a.data(), ya.data(), static_cast<int64_t>(x.size()));
    dequantize_row(p.t, b.data(), yb.data(), static_cast<int64_t>(x.size()));
    const double ea = nrmse(ya, x), eb = nrmse(yb, x);
    CHECK(eb <= ea * 1.002);
    CHECK(eb >= ea * 0.998);
    size_t same = 0;
    for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
    CHECK(double(same) / double(a.size()) > 0.95);  // nearly every byte identical
  }
}

TEST_CASE("the fast Q8_0 path is bit-identical to the reference", "[quant][simd]") {
  std::mt19937 rng(9);
  std::normal_distribution<float> g(0.f, 1.f);
  std::vector<float> x(32 * 4096);
  for (auto& v : x) v = g(rng);
  for (int i = 0; i < 32; ++i) x[i] = (i - 16) * (127.f / 16.f) * 0.5f;  // exact halves after scaling
  std::vector<kernels::block_q8_0> a(x.size() / 32), b(a.size());
  kernels::quantize_row_q8_0_ref(x.data(), a.data(), static_cast<int64_t>(x.size()));
  kernels::quantize_row_q8_0(x.data(), b.data(), static_cast<int64_t>(x.size()));
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(a[0])) == 0);
}

// At run time ggml's x86 backend quantizes activations with the scale 127/amax and rounds halves
// to even (its vector rounding), where its file quantizer uses 1/(amax/127) and roundf. The
// first block is 127 times halves; the second has an amax for which the two scales differ.
TEST_CASE("activations quantize to Q8_0 and Q8_1 as ggml's CPU backend does", "[quant]") {
  std::vector<float> x(64);
  for (int i = 0; i < 32; ++i) x[static_cast<size_t>(i)] = (i % 2 ? 2.5f : -0.5f) + (i == 31 ? 124.5f : 0.f);
  for (int i = 0; i < 32; ++i) x[32 + static_cast<size_t>(i)] = 0.1f * static_cast<float>(i - 15);
  x[32] = 3.3f;  // amax
  kernels::block_q8_0 r[2], a[2];
  kernels::quantize_row_q8_0_ref(x.data(), r, 64);
  kernels::quantize_row_q8_0_act(x.data(), a, 64);
  CHECK(a[0].qs[0] == 0);   // -0.5: to even, where roundf gives -1
  CHECK(r[0].qs[0] == -1);
  CHECK(a[0].qs[1] == 2);   // 2.5 -> 2 (roundf: 3)
  CHECK(r[0].qs[1] == 3);
  CHECK(a[0].qs[31] == 127);
  CHECK(a[0].d == r[0].d);  // the stored scale is amax/127 either way
  const float id = 127.f / 3.3f;
  for (int i = 0; i < 32; ++i) CHECK(a[1].qs[i] == static_cast<int8_t>(std::nearbyint(x[32 + static_cast<size_t>(i)] * id)));
  kernels::block_q8_1 q1[2];
  kernels::quantize_row_q8_1_act(x.data(), q1, 64);
  for (int b = 0; b < 2; ++b) {
    int sum = 0;
    for (int i = 0; i < 32; ++i) {
      CHECK(q1[b].qs[i] == a[b].qs[i]);
      sum += q1[b].qs[i];
    }
    CHECK(q1[b].d == a[b].d);
    // s from the F32 scale, then rounded to F16
    const float amax = b == 0 ? 127.f : 3.3f;
    CHECK(q1[b].s == kernels::fp32_to_fp16(amax / 127.f * static_cast<float>(sum)));
  }
}
