// gemma4 prompt: render an OpenAI-style chat request with the Gemma 4 chat format.
// Prints {"prompt": "...", "ids": [...]} (ids before media expansion: one placeholder per item).
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/mapped_file.h"
#include "cli/args.h"
#include "cli/command.h"
#include "text/chat_format.h"
#include "text/tokenizer.h"

namespace {

int run_prompt(int argc, char** argv) {
  CLI::App app{"Render a chat request ({messages, tools?, enable_thinking?, add_generation_prompt?}) as a Gemma 4 prompt."};
  std::string model, request_file;
  app.add_option("--model,-m", model, "model folder (or a folder with tokenizer.json)")->required();
  app.add_option("--request,-r", request_file, "request JSON file ('-' for stdin)")->required();
  GEMMA4_PARSE(app, argc, argv);

  std::string text;
  if (request_file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    gemma4::check(gemma4::file_exists(request_file), "request file not found: " + request_file, gemma4::ExitCode::not_found);
    text = gemma4::read_file(request_file);
  }
  gemma4::ChatRequest request = gemma4::ChatRequest::parse(text);
  gemma4::Tokenizer tok = gemma4::Tokenizer::load(model);
  gemma4::RenderedPrompt prompt = gemma4::render_chat(request, tok.config_token("bos_token", "<bos>"));
  nlohmann::json out = {{"prompt", prompt.text}, {"ids", tok.encode(prompt.text)}};
  std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

}  // namespace

GEMMA4_COMMAND("prompt", "render a chat request as a Gemma 4 prompt (text and ids)", run_prompt);
