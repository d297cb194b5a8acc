// gemma4 pull: download a model from the Hugging Face hub into the standard cache, without running it.
#include <cstdio>

#include "base/error.h"
#include "cli/args.h"
#include "cli/command.h"
#include "io/hub.h"
#include "ui/terminal.h"

namespace {

int run_pull(int argc, char** argv) {
  CLI::App app{"Download a model from the Hugging Face hub (only the files needed to run it) into the\n"
               "Hugging Face cache ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub).\n"
               "Files already there are kept; an interrupted download resumes. Prints the model folder."};
  app.name("gemma4 pull");
  std::string repo = gemma4::hub::kDefaultModel;
  std::string revision;
  bool quiet = false;
  app.add_option("repo", repo, "repo id, e.g. google/gemma-4-E2B-it (optionally REPO@REVISION)")
      ->capture_default_str();
  app.add_option("--revision", revision, "branch, tag or commit (default: main)");
  app.add_flag("-q,--quiet", quiet, "no progress bar");
  GEMMA4_PARSE(app, argc, argv);

  auto ref = gemma4::hub::parse_repo_ref(repo);
  gemma4::check(ref.has_value(), "'" + repo + "' is not a Hugging Face repo id (expected ORG/NAME, e.g. " +
                                     gemma4::hub::kDefaultModel + ")",
                gemma4::ExitCode::usage);
  if (!revision.empty()) ref->revision = revision;

  auto options = gemma4::hub::HubOptions::from_environment();
  options.progress = gemma4::ui::download_progress(quiet);
  std::string folder = gemma4::hub::download_snapshot(*ref, options);
  if (!quiet) std::fprintf(stderr, "%s@%s is ready.\n", ref->repo_id.c_str(), ref->revision.c_str());
  std::printf("%s\n", folder.c_str());
  return 0;
}

}  // namespace

GEMMA4_COMMAND("pull", "download a model from the Hugging Face hub into its cache", run_pull);
