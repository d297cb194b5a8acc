// `gemma4 serve`'s command line (kept stable): flag and model errors exit with their codes
// before anything listens. The served API itself is driven by the openai client test
// (test_openai_client.cpp) against the real server on a tiny model.
#include <gtest/gtest.h>

#include "test_util.h"

using gemma4::test::gemma4_binary;
using gemma4::test::run_command;

TEST(ServeCli, BadFlagsAndModelsAreReportedWithTheirExitCodes) {
  std::string out;
  EXPECT_EQ(run_command(gemma4_binary() + " serve 2>&1", &out), 2) << out;  // -m is required
  out.clear();
  EXPECT_EQ(run_command(gemma4_binary() + " serve -m /no/such/model 2>&1", &out), 3) << out;
  out.clear();
  EXPECT_EQ(run_command(gemma4_binary() + " serve -m " + gemma4::test::tiny_dir() + " --parallel 0 2>&1", &out), 2) << out;
  out.clear();
  // The goldens' tiny model has no tokenizer: a server could not read a single message.
  int rc = run_command(gemma4_binary() + " serve -m " + gemma4::test::tiny_dir() +
                           " --host 127.0.0.1 --port 0 --parallel 4 --ctx-size 2048 --api-key k 2>&1",
                       &out);
  EXPECT_EQ(rc, 3) << out;
  EXPECT_NE(out.find("tokenizer"), std::string::npos) << out;
}
