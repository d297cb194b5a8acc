// llama.cpp parity of the GGUF files `gemma4 quantize` writes (tools/llama_parity/run.sh): llama.cpp
// (node-llama-cpp 3.22.1) loads them and its logits match the Hugging Face goldens. Installs
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
}
