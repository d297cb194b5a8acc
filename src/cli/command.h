// The `gemma4` command's subcommands register themselves here; main() dispatches.
// Each subcommand lives in its own src/cli/cmd_<name>.cpp and declares itself with
//   GEMMA4_COMMAND(name, "one-line summary", run_function);
// where run_function is `int run(int argc, char** argv)` (argv[0] is the subcommand).
#pragma once
#include <string>
#include <vector>

namespace gemma4::cli {

using CommandFn = int (*)(int argc, char** argv);

struct Command {
  std::string name;
  std::string summary;
  CommandFn run;
};

bool register_command(const Command& cmd);
const std::vector<Command>& commands();

}  // namespace gemma4::cli

#define GEMMA4_COMMAND_CONCAT2(a, b) a##b
#define GEMMA4_COMMAND_CONCAT(a, b) GEMMA4_COMMAND_CONCAT2(a, b)
#define GEMMA4_COMMAND(name, summary, fn)                                                        \
  static const bool GEMMA4_COMMAND_CONCAT(gemma4_registered_, __LINE__) [[maybe_unused]] = \
      ::gemma4::cli::register_command({name, summary, fn})
