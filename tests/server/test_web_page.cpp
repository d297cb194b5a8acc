// The chat page of `gemma4 serve` (src/server/webui/): tests/server/node/web_page_test.mjs loads
// the page's files from a running server and drives the server with the page's own client
// module, against the scripted backend (replies checked exactly) and the real server on a tiny
// random model (replies checked for shape).
#include <gtest/gtest.h>

#include "../cli/cli_model.h"
#include "test_util.h"

namespace {
std::string page_test() { return "node " + std::string(GEMMA4_SOURCE_DIR) + "/tests/server/node/web_page_test.mjs "; }
}  // namespace

TEST(WebPage, ItsClientAgainstTheFakeBackendServer) {
  std::string out;
  const int rc = gemma4::test::run_command(page_test() + GEMMA4_FAKE_SERVER + " 2>&1", &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("passed"), std::string::npos) << out;
}

TEST(WebPage, ItsClientAgainstTheRealServerOnATinyModel) {
  std::string out;
  const int rc = gemma4::test::run_command(page_test() + gemma4::test::gemma4_binary() + " serve -m " +
                                               gemma4::test::cli_model_dir() + " --ctx-size 2048 2>&1",
                                           &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("passed"), std::string::npos) << out;
}
