// gguf-convert: a Hugging Face model folder (safetensors, config, tokenizer) to GGUF, at a float
// type or straight to any gguf-quantize preset, in one streaming pass.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "llmkit/cli.h"
#include "llmkit/output.h"
#include "llmkit/error.h"
#include "llmkit/hf_convert.h"
#include "llmkit/json_writer.h"
#include "llmkit/quant_plan.h"

int tool_main(int argc, char** argv, llmkit::Stdout& stdout_) {
  std::string dir, out;
  llmkit::ConvertOptions opt;
  std::string archs;
  for (const auto& a : llmkit::hf_supported_architectures()) archs += " " + a;
  CLI::App app{"Convert a Hugging Face model folder (config.json, model.safetensors or its shards, tokenizer.json or\n"
               "tokenizer.model) to a GGUF file llama.cpp, Ollama and llmkit load, quantizing on the way when\n"
               "--outtype names a preset. Usage: gguf-convert MODEL_DIR OUT.gguf [--outtype TYPE]\n"
               "Architectures:" + archs + "\n"
               "Types: f32 f16 bf16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K",
               "gguf-convert"};
  app.add_option("MODEL_DIR", dir, "Hugging Face model folder")->required()->check(CLI::ExistingDirectory);
  app.add_option("OUT", out, "output GGUF file (written to a temporary name, renamed when complete)")->required();
  app.add_option("--outtype", opt.outtype, "f32, f16 (default), bf16 or a quantization preset such as Q4_K_M");
  app.add_option("--pre", opt.pre, "tokenizer.ggml.pre to write instead of identifying the pre-tokenizer");
  app.add_option("--name", opt.name, "general.name (default: the config's model name or the folder name)");
  app.add_option("-t,--threads", opt.threads, "threads (default: all cores)")->check(CLI::PositiveNumber);
  app.set_version_flag("-V,--version", llmkit::version_line("gguf-convert"));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? llmkit::kExitOk : llmkit::kExitUsage;
  }

  try {
    if (!llmkit::find_preset(opt.outtype))
      throw llmkit::Error("usage", "--outtype " + opt.outtype + ": not f32, f16, bf16 or a preset (see --help)");
    llmkit::ProgressBar bar(llmkit::stderr_is_tty());
    opt.on_tensor_done = [&bar](const llmkit::QuantizeProgress& p) {
      bar.update(p.tensor_index, p.tensor_count, p.in_bytes_done, p.in_bytes_total);
    };
    const llmkit::ConvertResult r = llmkit::convert_hf_model(dir, out, opt);
    const llmkit::QuantizeResult& q = r.q;
    std::string pre;
    for (const auto& kv : r.model.metadata)
      if (kv.key == "tokenizer.ggml.pre")
        if (auto s = std::get_if<std::string>(&kv.value.v)) pre = *s;
    llmkit::JsonWriter w;
    w.begin_object().field("input", dir).field("output", out);
    w.field("architecture", r.model.arch).field("hf_architecture", r.model.hf_arch);
    w.field("outtype", llmkit::find_preset(opt.outtype)->name);
    w.field("pre", pre).field("pre_source", r.model.pre_source);
    w.field("in_bytes", q.in_bytes).field("out_bytes", q.file_bytes).field("parameters", q.parameters);
    w.field("bits_per_weight", q.parameters ? double(q.out_bytes) * 8 / double(q.parameters) : 0.0);
    w.field("seconds", q.seconds);
    w.key("types").begin_object();
    for (const auto& [type, n] : q.types) w.field(type, n);
    w.end_object().end_object();
    std::puts(w.str().c_str());
  } catch (const llmkit::Error& e) {
    std::fprintf(stderr, "gguf-convert: %s\n", e.what());
    return llmkit::kExitUsage;
  }
  return llmkit::kExitOk;
}

int main(int argc, char** argv) { return llmkit::run_tool("gguf-convert", argc, argv, tool_main); }
