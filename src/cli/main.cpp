// gemma4: one binary, many subcommands (see src/cli/cmd_*.cpp).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>

#include "base/error.h"
#include "cli/command.h"

namespace gemma4::cli {

std::vector<Command>& registry() {
  static std::vector<Command> cmds;
  return cmds;
}

bool register_command(const Command& cmd) {
  registry().push_back(cmd);
  return true;
}

const std::vector<Command>& commands() {
  std::sort(registry().begin(), registry().end(),
            [](const Command& a, const Command& b) { return a.name < b.name; });
  return registry();
}

}  // namespace gemma4::cli

static void print_usage(FILE* out) {
  std::fprintf(out,
               "gemma4 - run Google's Gemma 4 (E2B, E4B) on the CPU: text, images, audio, tools.\n\n"
               "Usage: gemma4 <command> [options]   (gemma4 <command> --help for its options)\n\nCommands:\n");
  for (const auto& c : gemma4::cli::commands()) std::fprintf(out, "  %-14s %s\n", c.name.c_str(), c.summary.c_str());
}

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    print_usage(stdout);
    return argc < 2 ? 2 : 0;
  }
  for (const auto& c : gemma4::cli::commands()) {
    if (c.name == argv[1]) {
      try {
        return c.run(argc - 1, argv + 1);
      } catch (const gemma4::Error& e) {
        std::fprintf(stderr, "gemma4 %s: error: %s\n", argv[1], e.what());
        return static_cast<int>(e.code());
      } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "gemma4 %s: error: out of memory (try a smaller context or a smaller weight format)\n",
                     argv[1]);
        return static_cast<int>(gemma4::ExitCode::out_of_memory);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "gemma4 %s: error: %s\n", argv[1], e.what());
        return 1;
      }
    }
  }
  std::fprintf(stderr, "gemma4: unknown command '%s'\n\n", argv[1]);
  print_usage(stderr);
  return 2;
}
