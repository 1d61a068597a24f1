// gguf-convert's pieces: the safetensors reader against hostile files, the check-text hash,
// llama's Q/K row order against the two rope conventions, and round trips of our test models
// through Hugging Face folders (tensor for tensor, key for key), to float and quantized types.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <random>

#include "llmkit/error.h"
#include "cpu/fp16.h"
#include "llmkit/gguf.h"
#include "llmkit/synth_model.h"
#include "llmkit/hf_convert.h"
#include "llmkit/quant_plan.h"
#include "llmkit/quantize.h"
#include "llmkit/safetensors.h"
#include "support/fixture.h"
#include "support/hf_export.h"

namespace fs = std::filesystem;
using fixture::SafetensorsEntry;
using llmkit::GgufFile;

namespace {

std::vector<uint8_t> f32_bytes(std::vector<float> v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// The raw header + data of a safetensors file, for lying about anything.
std::vector<uint8_t> raw_file(const std::string& header, size_t data_bytes) {
  std::vector<uint8_t> out(8);
  uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  out.insert(out.end(), header.begin(), header.end());
  out.resize(out.size() + data_bytes, 0);
  return out;
}

std::string open_error(const std::vector<uint8_t>& bytes) {
  const fs::path p = fixture::temp_dir() / "x.safetensors";
  fixture::write_file(p, bytes);
  try {
    llmkit::SafetensorsFile::open(p.string());
  } catch (const llmkit::Error& e) {
    CHECK(e.code() == "bad_safetensors");
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("sha256 gives the FIPS 180-4 test vectors", "[convert]") {
  CHECK(llmkit::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(llmkit::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(llmkit::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(llmkit::sha256_hex(std::string(1000, 'a')) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}

TEST_CASE("a valid safetensors file is read in place", "[convert][safetensors]") {
  const fs::path p = fixture::temp_dir() / "ok.safetensors";
  fixture::write_file(p, fixture::safetensors_bytes({{"a", "F32", {2, 2}, f32_bytes({1, 2, 3, 4})},
                                                     {"b", "F16", {3}, std::vector<uint8_t>(6, 0)},
                                                     {"empty", "BF16", {0, 5}, {}}}));
  auto f = llmkit::SafetensorsFile::open(p.string());
  REQUIRE(f.tensors().size() == 3);
  const auto* a = f.find("a");
  REQUIRE(a);
  CHECK(a->shape == std::vector<int64_t>{2, 2});
  CHECK(a->n_elements == 4);
  float x;
  std::memcpy(&x, a->data.data() + 12, 4);
  CHECK(x == 4.f);
  CHECK(f.find("b")->dtype == llmkit::StDtype::F16);
  CHECK(f.metadata().at("format") == "pt");
}

TEST_CASE("hostile safetensors files are rejected with the problem named", "[convert][safetensors][hostile]") {
  CHECK_THAT(open_error({1, 2, 3}), Catch::Contains("too short"));
  CHECK_THAT(open_error(raw_file("{}", 0)).substr(0, 0) + open_error([] {
               auto b = raw_file("{}", 0);
               uint64_t huge = uint64_t(1) << 40;
               std::memcpy(b.data(), &huge, 8);
               return b;
             }()),
             Catch::Contains("over the limit"));
  {
    auto b = raw_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    b.resize(b.size() - 30);  // header cut short
    CHECK_THAT(open_error(b), Catch::Contains("past the end"));
  }
  CHECK_THAT(open_error(raw_file("{not json", 0)), Catch::Contains("not valid JSON"));
  CHECK_THAT(open_error(raw_file("[1,2]", 0)), Catch::Contains("not a JSON object"));
  CHECK_THAT(open_error(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4)),
             Catch::Contains("truncated file or lying offsets"));
  CHECK_THAT(open_error(raw_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)),
             Catch::Contains("shape needs 12 bytes"));
  CHECK_THAT(open_error(raw_file(R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8)),
             Catch::Contains("unknown dtype"));
  CHECK_THAT(open_error(raw_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8)),
             Catch::Contains("not a count"));
  CHECK_THAT(open_error(raw_file(
                 R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})", 8)),
             Catch::Contains("more elements than any file"));
  CHECK_THAT(open_error(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8)),
             Catch::Contains("end before they begin"));
  CHECK_THAT(open_error(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                 R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                 12)),
             Catch::Contains("overlaps"));
  CHECK_THAT(open_error(raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8)),
             Catch::Contains("belong to no tensor"));
  CHECK_THAT(open_error(raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8)),
             Catch::Contains("after its last tensor"));
  CHECK_THAT(open_error(raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                 R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                 8)),
             Catch::Contains("appears twice"));
  CHECK_THAT(open_error(raw_file(R"({"a":{"dtype":"F32","shape":[1]}})", 4)), Catch::Contains("data_offsets"));
  CHECK_THAT(open_error(raw_file(R"({"__metadata__":{"k":5}})", 0)), Catch::Contains("not a string"));
  CHECK_THAT(open_error({}), Catch::Contains("empty file"));
}

TEST_CASE("a broken checkpoint folder is rejected with the problem named", "[convert]") {
  const fs::path d = fixture::temp_dir();
  llmkit::ConvertOptions opt;
  auto err = [&] {
    try {
      llmkit::convert_hf_model(d.string(), (d / "out.gguf").string(), opt);
    } catch (const llmkit::Error& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  CHECK_THAT(err(), Catch::Contains("no model.safetensors"));
  fixture::write_file(d / "model.safetensors", fixture::safetensors_bytes({{"x", "F32", {1}, f32_bytes({1})}}));
  CHECK_THAT(err(), Catch::Contains("config.json: missing"));
  fixture::write_file(d / "config.json", {'{', '"', 'a', '"', ':', '1', '}'});
  CHECK_THAT(err(), Catch::Contains("no \"architectures\""));
  const std::string cfg = R"({"architectures":["GPTNeoXForCausalLM"]})";
  fixture::write_file(d / "config.json", std::vector<uint8_t>(cfg.begin(), cfg.end()));
  CHECK_THAT(err(), Catch::Contains("'GPTNeoXForCausalLM' is not supported"));
  const std::string idx = R"({"weight_map":{"x":"model-00001-of-00002.safetensors"}})";
  fixture::write_file(d / "model.safetensors.index.json", std::vector<uint8_t>(idx.begin(), idx.end()));
  CHECK_THAT(err(), Catch::Contains("missing"));
  CHECK_FALSE(fs::exists(d / "out.gguf"));
}

TEST_CASE("llama's Q/K row order turns Hugging Face's rotate-half rope into the interleaved one",
          "[convert][rope][shared]") {
  // Export stories260K (8 heads, 4 KV heads, head dim 8) and score a query against a key under
  // each convention: HF rows with rotate-half pairs (i, i + d/2), GGUF rows with pairs (2i, 2i+1).
  const fs::path model = fixture::require_shared("models/stories260K.gguf");
  const fs::path dir = fixture::temp_dir() / "hf";
  fixture::export_hf_folder(model, dir);
  const GgufFile g = GgufFile::open(model.string());
  const auto st = llmkit::SafetensorsFile::open((dir / "model.safetensors").string());
  const int n_embd = 64, d = 8, heads = 8, kv_heads = 4;
  auto weights = [](std::span<const uint8_t> bytes) {
    std::vector<float> w(bytes.size() / 4);
    std::memcpy(w.data(), bytes.data(), bytes.size());
    return w;
  };
  const auto qg = weights(g.tensor_data(*g.find_tensor("blk.1.attn_q.weight")));
  const auto kg = weights(g.tensor_data(*g.find_tensor("blk.1.attn_k.weight")));
  const auto qh = weights(st.find("model.layers.1.self_attn.q_proj.weight")->data);
  const auto kh = weights(st.find("model.layers.1.self_attn.k_proj.weight")->data);
  std::mt19937 rng(7);
  std::normal_distribution<float> nd;
  std::vector<float> x(n_embd), y(n_embd);
  for (auto& v : x) v = nd(rng);
  for (auto& v : y) v = nd(rng);
  auto matvec = [&](const std::vector<float>& w, const std::vector<float>& in, int rows) {
    std::vector<double> out(static_cast<size_t>(rows));
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < n_embd; ++c) out[static_cast<size_t>(r)] += double(w[static_cast<size_t>(r * n_embd + c)]) * in[static_cast<size_t>(c)];
    return out;
  };
  auto rope = [&](std::vector<double> v, int pos, bool interleaved) {
    for (size_t h = 0; h < v.size() / d; ++h)
      for (int i = 0; i < d / 2; ++i) {
        const double theta = pos * std::pow(10000.0, -2.0 * i / d);
        const size_t a = h * d + (interleaved ? 2 * i : i), b = h * d + (interleaved ? 2 * i + 1 : i + d / 2);
        const double x0 = v[a], x1 = v[b];
        v[a] = x0 * std::cos(theta) - x1 * std::sin(theta);
        v[b] = x0 * std::sin(theta) + x1 * std::cos(theta);
      }
    return v;
  };
  const auto q1 = rope(matvec(qg, x, heads * d), 5, true), k1 = rope(matvec(kg, y, kv_heads * d), 2, true);
  const auto q2 = rope(matvec(qh, x, heads * d), 5, false), k2 = rope(matvec(kh, y, kv_heads * d), 2, false);
  for (int h = 0; h < heads; ++h) {
    double s1 = 0, s2 = 0;
    const int hk = h / (heads / kv_heads);
    for (int i = 0; i < d; ++i) {
      s1 += q1[static_cast<size_t>(h * d + i)] * k1[static_cast<size_t>(hk * d + i)];
      s2 += q2[static_cast<size_t>(h * d + i)] * k2[static_cast<size_t>(hk * d + i)];
    }
    CHECK(s1 == Approx(s2).epsilon(1e-9));
  }
}

namespace {

// Converts an exported folder back and checks every tensor byte for byte and the keys that
// describe the model and its tokenizer value for value.
void round_trip_file(const fs::path& model, const char* outtype, int shards, const char* want_pre_source) {
  const fs::path tmp = fixture::temp_dir();
  fixture::export_hf_folder(model, tmp / "hf", shards);
  llmkit::ConvertOptions opt;
  opt.outtype = outtype;
  const auto res = llmkit::convert_hf_model((tmp / "hf").string(), (tmp / "out.gguf").string(), opt);
  CHECK(res.model.pre_source == want_pre_source);
  const GgufFile a = GgufFile::open(model.string());
  const GgufFile b = GgufFile::open((tmp / "out.gguf").string());
  REQUIRE(a.tensors().size() == b.tensors().size());
  for (const auto& t : a.tensors()) {
    INFO(t.name);
    const auto* u = b.find_tensor(t.name);
    REQUIRE(u);
    CHECK(u->type == t.type);
    CHECK(u->ne == t.ne);
    auto x = a.tensor_data(t), y = b.tensor_data(*u);
    CHECK(std::equal(x.begin(), x.end(), y.begin(), y.end()));
  }
  const std::string arch = a.get<std::string>("general.architecture");
  for (const auto& kv : a.metadata()) {
    const bool described = kv.key.rfind("tokenizer.", 0) == 0 || kv.key.rfind(arch + ".", 0) == 0 ||
                           kv.key == "general.architecture" || kv.key == "general.file_type";
    if (!described || kv.key == "tokenizer.ggml.seperator_token_id" || kv.key == "tokenizer.ggml.padding_token_id")
      continue;  // stories260K stores "none" as 0xFFFFFFFF for these two
    INFO(kv.key);
    const llmkit::GgufValue* v = b.find(kv.key);
    REQUIRE(v);
    int64_t i1, i2;
    if (kv.value.to_int64(&i1) && v->to_int64(&i2)) CHECK(i1 == i2);  // u32 or i32, as converters differ
    else CHECK(*v == kv.value);
  }
}

void round_trip(const char* rel, const char* outtype, int shards, const char* want_pre_source) {
  round_trip_file(fixture::require_shared(rel), outtype, shards, want_pre_source);
}

// A random-weight model of each architecture (gguf-synth's), with the Llama 2 SentencePiece
// vocabulary, or Qwen's byte-level BPE one.
void round_trip_arch(const char* arch, int64_t head_dim, int64_t window, float llama3, bool tied) {
  llmkit::SynthOptions o;
  o.shape = {"t", arch, 2, 128, 4, 2, head_dim, 256, 0, 2048, tied, 10000.f, window, llama3};
  const bool bpe = std::string(arch) == "qwen3";
  const GgufFile vocab = GgufFile::open(
      fixture::require_shared(bpe ? "models/synth-qwen2-256.f16.gguf" : "models/llama-2-tiny-random.gguf").string());
  o.vocab = &vocab;
  const fs::path path = fixture::temp_dir() / (std::string(arch) + ".gguf");
  llmkit::write_synth_model(o, path.string());
  round_trip_file(path, "f16", 1, bpe ? "hash" : "n/a");
}

}  // namespace

TEST_CASE("round trip: Llama 3.1 rope scaling (rope_freqs from config.json's rope_scaling)", "[convert][shared]") {
  round_trip_arch("llama", 32, 0, 8.f, true);
}
TEST_CASE("round trip: qwen3 (q/k norms, head size not embedding / heads)", "[convert][shared]") {
  round_trip_arch("qwen3", 48, 0, 0.f, false);
}
TEST_CASE("round trip: gemma3 (norms as 1 + w, post norms, sliding window, tied)", "[convert][shared]") {
  round_trip_arch("gemma3", 64, 64, 0.f, true);
}
TEST_CASE("round trip: gemma2 (soft-capping, sliding window)", "[convert][shared]") {
  round_trip_arch("gemma2", 32, 128, 0.f, true);
}
TEST_CASE("round trip: phi3 (fused QKV and gate|up)", "[convert][shared]") {
  round_trip_arch("phi3", 32, 0, 0.f, false);
}

TEST_CASE("round trip: synth-llama (SentencePiece, GQA, rope rows) in 3 shards", "[convert][shared]") {
  round_trip("models/synth-llama-256.f16.gguf", "f16", 3, "n/a");
}
TEST_CASE("round trip: synth-qwen2 (byte-level BPE, biases, tied output)", "[convert][shared]") {
  round_trip("models/synth-qwen2-256.f16.gguf", "f16", 1, "hash");
}
TEST_CASE("round trip: synth-bert (WordPiece, LayerNorm biases, pooling)", "[convert][shared]") {
  round_trip("models/synth-bert-256.f16.gguf", "f16", 1, "hash");
}
TEST_CASE("round trip: stories260K (F32)", "[convert][shared]") {
  round_trip("models/stories260K.gguf", "f32", 1, "n/a");
}

TEST_CASE("converting straight to Q4_K_M gives gguf-quantize's file from the F16 GGUF", "[convert][shared]") {
  const fs::path model = fixture::require_shared("models/synth-llama-256.f16.gguf");
  const fs::path tmp = fixture::temp_dir();
  fixture::export_hf_folder(model, tmp / "hf");
  llmkit::ConvertOptions opt;
  opt.outtype = "Q4_K_M";
  llmkit::convert_hf_model((tmp / "hf").string(), (tmp / "direct.gguf").string(), opt);
  const GgufFile src = GgufFile::open(model.string());
  const auto plan = llmkit::plan_quantization(src, *llmkit::find_preset("Q4_K_M"), {});
  llmkit::quantize_model(src, plan, (tmp / "two-step.gguf").string());
  const GgufFile a = GgufFile::open((tmp / "direct.gguf").string());
  const GgufFile b = GgufFile::open((tmp / "two-step.gguf").string());
  CHECK(a.get<uint32_t>("general.file_type") == 15);
  REQUIRE(a.tensors().size() == b.tensors().size());
  for (size_t i = 0; i < a.tensors().size(); ++i) {
    const auto& t = a.tensors()[i];
    INFO(t.name);
    CHECK(t.name == b.tensors()[i].name);  // the same order as well
    CHECK(t.type == b.tensors()[i].type);
    auto x = a.tensor_data(t), y = b.tensor_data(b.tensors()[i]);
    CHECK(std::equal(x.begin(), x.end(), y.begin(), y.end()));
  }
}

TEST_CASE("BF16 checkpoints convert exactly to F32 and round to F16", "[convert]") {
  // A one-layer qwen2 with BF16 weights, built by hand: BF16 -> F32 is exact.
  const fs::path d = fixture::temp_dir();
  const std::string cfg =
      R"({"architectures":["Qwen2ForCausalLM"],"hidden_size":32,"num_hidden_layers":1,"intermediate_size":32,)"
      R"("num_attention_heads":2,"num_key_value_heads":1,"vocab_size":4,"max_position_embeddings":64})";
  fixture::write_file(d / "config.json", std::vector<uint8_t>(cfg.begin(), cfg.end()));
  std::vector<SafetensorsEntry> ts;
  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  std::vector<float> truth;
  auto bf16 = [&](const char* name, std::vector<int64_t> shape) {
    int64_t n = 1;
    for (auto s : shape) n *= s;
    SafetensorsEntry e{name, "BF16", shape, std::vector<uint8_t>(static_cast<size_t>(n) * 2)};
    for (int64_t i = 0; i < n; ++i) {
      float f = nd(rng);
      uint32_t u;
      std::memcpy(&u, &f, 4);
      const uint16_t h = static_cast<uint16_t>(u >> 16);
      std::memcpy(e.data.data() + 2 * i, &h, 2);
      if (std::string(name) == "model.embed_tokens.weight") {
        const uint32_t back = uint32_t(h) << 16;
        float g;
        std::memcpy(&g, &back, 4);
        truth.push_back(g);
      }
    }
    ts.push_back(std::move(e));
  };
  bf16("model.embed_tokens.weight", {4, 32});
  bf16("model.norm.weight", {32});
  for (const char* n : {"q_proj", "o_proj"}) bf16((std::string("model.layers.0.self_attn.") + n + ".weight").c_str(), {32, 32});
  for (const char* n : {"k_proj", "v_proj"}) bf16((std::string("model.layers.0.self_attn.") + n + ".weight").c_str(), {16, 32});
  for (const char* n : {"q_proj", "k_proj", "v_proj"})
    bf16((std::string("model.layers.0.self_attn.") + n + ".bias").c_str(), {std::string(n) == "q_proj" ? 32 : 16});
  bf16("model.layers.0.input_layernorm.weight", {32});
  bf16("model.layers.0.post_attention_layernorm.weight", {32});
  for (const char* n : {"gate_proj", "up_proj", "down_proj"}) bf16((std::string("model.layers.0.mlp.") + n + ".weight").c_str(), {32, 32});
  fixture::write_file(d / "model.safetensors", fixture::safetensors_bytes(ts));
  const std::string tok =
      R"({"added_tokens":[{"id":3,"content":"<|endoftext|>","special":true}],"pre_tokenizer":{"type":"ByteLevel","use_regex":true},)"
      R"("model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}})";
  fixture::write_file(d / "tokenizer.json", std::vector<uint8_t>(tok.begin(), tok.end()));
  llmkit::ConvertOptions opt;
  opt.outtype = "f32";
  const auto r = llmkit::convert_hf_model(d.string(), (d / "f32.gguf").string(), opt);
  CHECK(r.model.pre_source == "pattern");  // a vocabulary no table knows: the ByteLevel definition says gpt-2
  const GgufFile f = GgufFile::open((d / "f32.gguf").string());
  CHECK(f.get<std::string>("tokenizer.ggml.pre") == "gpt-2");
  CHECK(f.get_array("tokenizer.ggml.tokens").strings == std::vector<std::string>{"a", "b", "ab", "<|endoftext|>"});
  CHECK(f.get_array("tokenizer.ggml.token_type").as<int32_t>() == std::vector<int32_t>{1, 1, 1, 3});
  const auto* e = f.find_tensor("token_embd.weight");
  REQUIRE(e);
  CHECK(e->type == llmkit::GgmlType::F32);
  std::vector<float> got(truth.size());
  std::memcpy(got.data(), f.tensor_data(*e).data(), got.size() * 4);
  CHECK(got == truth);
  opt.outtype = "f16";
  llmkit::convert_hf_model(d.string(), (d / "f16.gguf").string(), opt);
  const GgufFile h = GgufFile::open((d / "f16.gguf").string());
  const auto* e16 = h.find_tensor("token_embd.weight");
  CHECK(e16->type == llmkit::GgmlType::F16);
  CHECK(h.find_tensor("output_norm.weight")->type == llmkit::GgmlType::F32);  // 1-D stays F32
  for (size_t i = 0; i < truth.size(); ++i) {
    uint16_t v;
    std::memcpy(&v, h.tensor_data(*e16).data() + 2 * i, 2);
    CHECK(llmkit::kernels::fp16_to_fp32(v) == llmkit::kernels::fp16_to_fp32(llmkit::kernels::fp32_to_fp16(truth[i])));
  }
}
