// gemma4 dev make-random: write a model folder with random bf16 weights (benchmarks, tests).
#include <chrono>
#include <cstdio>

#include "base/error.h"
#include "base/mapped_file.h"
#include "cli/args.h"
#include "cli/command.h"
#include "model/published_configs.h"
#include "model/random_checkpoint.h"

namespace {

using namespace gemma4;

int run_dev(int argc, char** argv) {
  CLI::App app{"Developer tools."};
  app.require_subcommand(1);
  auto* make = app.add_subcommand("make-random", "write a model folder with random bf16 weights");
  std::string config_name, out, tokenizer;
  uint64_t seed = 0;
  make->add_option("--config", config_name, "e2b, e4b, or a config.json path")->required();
  make->add_option("--out", out, "output folder")->required();
  make->add_option("--seed", seed, "random seed");
  make->add_option("--tokenizer", tokenizer, "folder whose tokenizer files are copied in");
  GEMMA4_PARSE(app, argc, argv);

  RandomCheckpointOptions options;
  if (config_name == "e2b" || config_name == "e4b") {
    options.config = published_config(config_name);
    options.write_processor_config = true;
  } else {
    check(file_exists(config_name), config_name + ": no such config file (or use e2b / e4b)", ExitCode::not_found);
    try {
      options.config = nlohmann::json::parse(read_file(config_name));
    } catch (const nlohmann::json::exception& e) {
      throw Error(config_name + ": invalid JSON: " + e.what(), ExitCode::bad_input);
    }
  }
  options.out_dir = out;
  options.seed = seed;
  options.tokenizer_dir = tokenizer;
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t bytes = write_random_checkpoint(options);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "wrote %s (%.2f GB of weights) in %.1f s\n", out.c_str(), bytes / 1e9, s);
  return 0;
}

}  // namespace

GEMMA4_COMMAND("dev", "developer tools (make-random)", run_dev);
