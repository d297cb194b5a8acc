// Integration: the official `openai` npm client against the server binary over the scripted
// backend (tests/server/node/openai_client_test.mjs): plain and streamed completions, thinking,
// tools, images, audio, errors, auth, a 200-request load test and a graceful SIGTERM.
#include <gtest/gtest.h>

#include <cstdlib>

#include "test_util.h"

TEST(ServerOpenAIClient, NodeClientAgainstFakeBackendServer) {
  std::string script = std::string(GEMMA4_SOURCE_DIR) + "/tests/server/node/run.sh";
  std::string out;
  int rc = gemma4::test::run_command("bash " + script + " " + GEMMA4_FAKE_SERVER + " 2>&1", &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("passed"), std::string::npos) << out;
}
