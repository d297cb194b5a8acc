// llama.cpp parity of the GGUF files `gemma4 quantize` writes (tools/llama_parity/run.sh): llama.cpp
// (node-llama-cpp 3.22.1) loads them and its logits match the Hugging Face goldens, and our engine
// on the same files matches llama.cpp's logits and greedy tokens, for the first 6 layers of the
// goldens model and for a whole (all-layer) random model of the same shape. Installs
// node-llama-cpp from npm on first use (~25 s); set GEMMA4_SKIP_LLAMA_PARITY=1 to skip offline.
#include <gtest/gtest.h>

#include <cstdlib>

#include "test_util.h"

using namespace gemma4;

TEST(GgufLlamaParity, LlamaCppMatchesGoldens) {
  if (const char* skip = std::getenv("GEMMA4_SKIP_LLAMA_PARITY"); skip && std::string(skip) == "1")
    GTEST_SKIP() << "GEMMA4_SKIP_LLAMA_PARITY=1";
  const std::string work = test::temp_dir("llama-parity");
  std::string out;
  const int rc = test::run_command(std::string(GEMMA4_SOURCE_DIR) + "/tools/llama_parity/run.sh " +
                                       test::gemma4_binary() + " " + test::shared_dir() + " " + work + " 2>&1",
                                   &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("PASS  first 6 layers, f32"), std::string::npos) << out;
  // Our engine on the same GGUF file: the same logits (float32 bound) and greedy tokens.
  EXPECT_NE(out.find("PASS  gemma4 vs llama.cpp on the same f32 GGUF"), std::string::npos) << out;
  // The whole model (all layers, KV sharing included) on a random checkpoint whose layer pattern
  // llama.cpp's donor rule accepts: llama.cpp runs it and agrees with us (logits and greedy
  // tokens at f32; logits within the justified bounds at bf16 and q8_0), and our engine on the
  // f32 GGUF agrees with our safetensors path.
  EXPECT_NE(out.find("PASS  whole model (kv5), gemma4 on the f32 GGUF vs gemma4 on the safetensors folder"),
            std::string::npos)
      << out;
  for (const char* type : {"f32", "bf16", "q8_0"})
    EXPECT_NE(out.find(std::string("PASS  whole model (kv5, all 10 layers), gemma4 vs llama.cpp on the same ") + type +
                       " GGUF"),
              std::string::npos)
        << type << "\n" << out;
}
