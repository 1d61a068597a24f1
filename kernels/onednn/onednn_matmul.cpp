#include "onednn/onednn_matmul.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <map>
#include <mutex>

#include "cpu/fp16.h"

namespace llmkit::kernels::onednn {
namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// oneDNN's CPU engine and stream: one per process, as oneDNN's own examples keep them.
struct Runtime {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};
Runtime& runtime() {
  static Runtime r;
  return r;
}

dt type_of(WeightType t) { return t == WeightType::BF16 ? dt::bf16 : dt::f32; }

dnnl::matmul::primitive_desc describe(WeightType type, int64_t in, int64_t out, int64_t n) {
  const dt t = type_of(type);
  // W^T as oneDNN's K x N weights: the GGUF rows are its columns ("ba").
  return dnnl::matmul::primitive_desc(
      dnnl::matmul::desc(dnnl::memory::desc({n, in}, t, tag::ab), dnnl::memory::desc({in, out}, t, tag::ba),
                         dnnl::memory::desc({n, out}, dt::f32, tag::ab)),
      runtime().engine);
}

}  // namespace

// Fixed-shape primitives, one per token count seen: the BRGEMM kernels need M at creation (a
// run-time M falls back to a GEMM 10-15% slower). Prompts come in a few chunk sizes, so few are made.
struct Product::Impl {
  WeightType type;
  const void* w;
  int64_t in, out;
  mutable std::mutex mu;
  mutable std::map<int64_t, dnnl::matmul> prims;

  const dnnl::matmul& prim(int64_t n) const {
    std::lock_guard<std::mutex> lock(mu);
    auto it = prims.find(n);
    if (it == prims.end()) it = prims.emplace(n, dnnl::matmul(describe(type, in, out, n))).first;
    return it->second;
  }
};

Product::Product(WeightType type, const void* w, int64_t in, int64_t out)
    : impl_(new Impl{type, w, in, out, {}, {}}) {}
Product::~Product() = default;

void Product::run(const void* x, int64_t n, float* y) const {
  const Impl& p = *impl_;
  Runtime& rt = runtime();
  const dt t = type_of(p.type);
  dnnl::memory sm({{n, p.in}, t, tag::ab}, rt.engine, const_cast<void*>(x));
  dnnl::memory wm({{p.in, p.out}, t, tag::ba}, rt.engine, const_cast<void*>(p.w));
  dnnl::memory dm({{n, p.out}, dt::f32, tag::ab}, rt.engine, y);
  p.prim(n).execute(rt.stream, {{DNNL_ARG_SRC, sm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, dm}});
  rt.stream.wait();
}

std::string Product::implementation(int64_t n) const {
  return describe(impl_->type, impl_->in, impl_->out, n).impl_info_str();
}

bool native(WeightType type) {
  try {
    const std::string impl = describe(type, 256, 256, 64).impl_info_str();
    return impl.find("ref") == std::string::npos;
  } catch (const dnnl::error&) {
    return false;
  }
}

void product_ref(WeightType type, const void* w, int64_t in, int64_t out, const float* x, int64_t n, float* y) {
  for (int64_t t = 0; t < n; ++t)
    for (int64_t o = 0; o < out; ++o) {
      double s = 0;
      for (int64_t k = 0; k < in; ++k) {
        float a = x[t * in + k], b;
        if (type == WeightType::BF16) {
          a = bf16_to_fp32(fp32_to_bf16(a));
          b = bf16_to_fp32(static_cast<const uint16_t*>(w)[o * in + k]);
        } else {
          b = static_cast<const float*>(w)[o * in + k];
        }
        s += double(a) * double(b);
      }
      y[t * out + o] = static_cast<float>(s);
    }
}

}  // namespace llmkit::kernels::onednn
