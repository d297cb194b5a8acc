// gemma4 quantize: convert a Hugging Face Gemma 4 folder into llama.cpp GGUF files.
#include <cstdio>

#include "base/error.h"
#include "cli/args.h"
#include "cli/command.h"
#include "io/hf_to_gguf.h"

namespace {

int run_quantize(int argc, char** argv) {
  CLI::App app{"Convert a Hugging Face Gemma 4 folder into GGUF files that llama.cpp loads."};
  std::string model, out, mmproj, type = "q8_0", tokenizer;
  bool verbose = false;
  app.add_option("model", model, "Hugging Face model folder (config.json + safetensors)")->required();
  app.add_option("out", out, "output text-model GGUF file")->required();
  app.add_option("--type", type, "weight type: q8_0 | q4_0 | q4_k | bf16")
      ->check(CLI::IsMember({"q8_0", "q4_0", "q4_k", "bf16", "f16", "f32"}, CLI::ignore_case));
  app.add_option("--mmproj", mmproj, "also write the vision + audio towers to this mmproj GGUF");
  app.add_option("--tokenizer", tokenizer, "folder with tokenizer.json (default: the model folder)");
  app.add_flag("-v,--verbose", verbose, "print every tensor's GGUF name and type");
  int64_t layers = 0;
  app.add_option("--layers", layers, "developer: keep only the first N decoder layers (llama.cpp parity checks)");
  GEMMA4_PARSE(app, argc, argv);

  gemma4::GgufConvertOptions options;
  options.type = gemma4::ggml_type_from_name(type);
  options.tokenizer_dir = tokenizer;
  options.verbose = verbose;
  options.keep_layers = layers;
  const auto text = gemma4::write_text_gguf(model, out, options);
  std::printf("%s: %zu tensors (%s", out.c_str(), text.tensors, gemma4::ggml_type_name(options.type).c_str());
  if (text.fallback_tensors) std::printf(", %zu with rows not whole blocks stored wider", text.fallback_tensors);
  std::printf(")%s%s\n", text.synthetic_tokenizer ? ", synthetic tokenizer (no tokenizer.json found)" : "",
              text.chat_template ? ", chat template" : "");
  if (!mmproj.empty()) {
    const auto mm = gemma4::write_mmproj_gguf(model, mmproj, options);
    std::printf("%s: %zu tensors\n", mmproj.c_str(), mm.tensors);
  }
  return 0;
}

}  // namespace

GEMMA4_COMMAND("quantize", "convert a Hugging Face folder into GGUF (llama.cpp) files", run_quantize);
