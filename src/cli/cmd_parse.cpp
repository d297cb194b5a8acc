// gemma4 parse: split a generated Gemma 4 response into thinking, content and tool calls.
// Prints {"thinking": …, "content": …, "tool_calls": [...]} as JSON.
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/mapped_file.h"
#include "cli/args.h"
#include "cli/command.h"
#include "text/response_parser.h"

namespace {

int run_parse(int argc, char** argv) {
  CLI::App app{"Parse generated Gemma 4 text (special tokens kept) into thinking, content and tool calls."};
  std::string model, text, file;
  bool in_thinking = false;
  app.add_option("--model,-m", model, "model folder (accepted for symmetry; the format needs no files)");
  auto* text_opt = app.add_option("--text,-t", text, "the generated text, e.g. \"<|channel>thought\\n…<channel|>Hi<turn|>\"");
  auto* file_opt = app.add_option("--file,-f", file, "read the generated text from a file");
  app.add_flag("--in-thinking", in_thinking, "the prompt ended inside a thought channel (<|channel>thought\\n)");
  text_opt->excludes(file_opt);
  GEMMA4_PARSE(app, argc, argv);
  if (file_opt->count()) text = gemma4::read_file(file);
  else if (!text_opt->count()) throw gemma4::Error("give --text or --file (see gemma4 parse --help)", gemma4::ExitCode::usage);
  gemma4::ParsedResponse r = gemma4::parse_response(text, in_thinking);
  std::cout << r.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

}  // namespace

GEMMA4_COMMAND("parse", "split generated text into thinking, content and tool calls", run_parse);
