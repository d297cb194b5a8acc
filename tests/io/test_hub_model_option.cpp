// The shared -m/--model option: default, parsing, and resolution of a local folder.
#include <gtest/gtest.h>

#include "base/error.h"
#include "cli/model_option.h"
#include "test_util.h"

namespace gemma4::cli {
namespace {

TEST(HubModelOption, DefaultsToTheE2BRepoAndResolvesFolders) {
  CLI::App app;
  std::string model;
  add_model_option(app, model);
  app.parse(std::vector<std::string>{});
  EXPECT_EQ(model, "google/gemma-4-E2B-it");

  CLI::App app2;
  add_model_option(app2, model);
  app2.parse("-m " + test::tiny_dir(), false);
  EXPECT_EQ(model, test::tiny_dir());
  auto resolved = resolve_model_option(model, true);
  EXPECT_EQ(resolved.kind, hub::ResolvedModel::Kind::folder);
  EXPECT_EQ(resolved.path, test::tiny_dir());
  EXPECT_THROW(resolve_model_option(test::tiny_dir() + "/nope", true), gemma4::Error);
}

}  // namespace
}  // namespace gemma4::cli
