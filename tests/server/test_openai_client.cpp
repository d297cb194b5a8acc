// Integration: the official `openai` npm client (tests/server/node/openai_client_test.mjs) drives
//  - the HTTP layer over the scripted backend (replies checked exactly), and
//  - the real `gemma4 serve` on a tiny random model with the Gemma 4 tokenizer (replies checked
//    for shape: the weights are random): plain and streamed completions, thinking, tools, images,
//    audio, errors, auth, a load test from 8 clients and a graceful SIGTERM.
#include <gtest/gtest.h>

#include <cstdlib>

#include "../cli/cli_model.h"
#include "test_util.h"

namespace {
std::string node_script() { return std::string(GEMMA4_SOURCE_DIR) + "/tests/server/node/run.sh"; }
}  // namespace

TEST(ServerOpenAIClient, NodeClientAgainstFakeBackendServer) {
  std::string out;
  int rc = gemma4::test::run_command("bash " + node_script() + " " + GEMMA4_FAKE_SERVER + " 2>&1", &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("passed"), std::string::npos) << out;
}

TEST(ServerOpenAIClient, NodeClientAgainstTheRealServerOnATinyModel) {
  std::string out;
  // The full load test (400 requests of text, image and audio after 400 warm-up ones, from 8
  // concurrent clients over 4 slots): the tiny model answers in milliseconds.
  int rc = gemma4::test::run_command("bash " + node_script() + " " +
                                         gemma4::test::gemma4_binary() + " serve -m " +
                                         gemma4::test::cli_model_dir() + " --ctx-size 2048 2>&1",
                                     &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("passed"), std::string::npos) << out;
  std::printf("%s\n", out.c_str());
}
