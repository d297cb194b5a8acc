// `gemma4 serve`'s command line (kept stable). Until the model backend lands the command
// validates its flags and the model folder, then refuses to start with "not implemented yet".
#include <gtest/gtest.h>

#include "test_util.h"

using gemma4::test::gemma4_binary;
using gemma4::test::run_command;

TEST(ServeCli, FlagsAreParsedAndTheMissingBackendIsReported) {
  std::string out;
  EXPECT_EQ(run_command(gemma4_binary() + " serve 2>&1", &out), 2) << out;  // -m is required
  out.clear();
  EXPECT_EQ(run_command(gemma4_binary() + " serve -m /no/such/model 2>&1", &out), 3) << out;
  out.clear();
  int rc = run_command(gemma4_binary() + " serve -m " + gemma4::test::tiny_dir() +
                           " --host 127.0.0.1 --port 0 --parallel 4 --ctx-size 2048 --api-key k 2>&1",
                       &out);
  EXPECT_EQ(rc, 5) << out;
  EXPECT_NE(out.find("not implemented yet"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(run_command(gemma4_binary() + " serve -m " + gemma4::test::tiny_dir() + " --parallel 0 2>&1", &out), 2) << out;
}
