// Small helpers shared by the subcommands' argument parsing (CLI11).
#pragma once
#include <CLI/CLI.hpp>

namespace gemma4::cli {

// Parses argv into `app`. Returns -1 to continue, or the exit code to return now
// (0 after --help, 2 for a usage error, with CLI11's message printed).
inline int parse_args(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return -1;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
}

}  // namespace gemma4::cli

// Use at the top of a command: GEMMA4_PARSE(app, argc, argv);
#define GEMMA4_PARSE(app, argc, argv)                                        \
  do {                                                                       \
    int gemma4_parse_rc = ::gemma4::cli::parse_args(app, argc, argv);        \
    if (gemma4_parse_rc >= 0) return gemma4_parse_rc;                        \
  } while (0)
