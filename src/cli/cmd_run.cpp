// gemma4 run: one question (with optional images / audio) -> the answer streamed as it is
// generated, thinking shown apart, then the timings. --json prints one JSON object instead.
#include <chrono>
#include <filesystem>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/reply_cli.h"
#include "ui/interrupt.h"

namespace {

using namespace gemma4;

int run_run(int argc, char** argv) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  CLI::App app{"Answer one prompt, streaming the answer, then print timings (stderr).\n"
               "Example: gemma4 run -m google/gemma-4-E2B-it --think -p \"What is the distance from Earth to the Moon?\""};
  cli::GenerationFlags flags;
  std::string prompt_text;
  std::vector<std::string> images, audios;
  app.add_option("-p,--prompt", prompt_text, "the question (read from stdin when not given and stdin is not a terminal)");
  app.add_option("--image", images, "an image file (PNG, JPEG, WebP, BMP, GIF); repeat for several");
  app.add_option("--audio", audios, "an audio file (WAV, FLAC, OGG, MP3); repeat for several");
  cli::add_generation_flags(app, flags);
  GEMMA4_PARSE(app, argc, argv);

  if (prompt_text.empty() && !ui::is_terminal(stdin))
    prompt_text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  check(!prompt_text.empty() || !images.empty() || !audios.empty(), "nothing to answer: give -p \"your question\"",
        ExitCode::usage);

  // Check the inputs before the (slow) model load, so a typo fails at once.
  std::vector<MediaSource> media;
  for (const auto& path : images) media.push_back({MediaKind::image, path, {}, flags.image_tokens});
  for (const auto& path : audios) media.push_back({MediaKind::audio, path, {}, 0});
  for (const auto& m : media)
    check(std::filesystem::is_regular_file(m.path),
          std::string(media_kind_name(m.kind)) + " file not found: " + m.path, ExitCode::not_found);

  const auto engine = cli::load_engine(flags, flags.json);
  nlohmann::json messages = nlohmann::json::array();
  if (!flags.system.empty()) messages.push_back({{"role", "system"}, {"content", flags.system}});
  messages.push_back(cli::user_message(prompt_text, media));
  const ChatRequest request = ChatRequest::from_json({{"messages", messages}, {"enable_thinking", flags.think}});
  const Prompt prompt = engine->build_prompt(request, media);

  ReplyOptions options;
  options.max_tokens = flags.max_tokens;
  options.sampling = cli::sampling_from_flags(*engine, flags);
  cli::StreamPrinter printer(stdout);
  if (!flags.json) options.on_event = [&](const ResponseEvent& e) { printer(e); };
  ui::InterruptScope interrupt;  // Ctrl-C ends the answer early, the stats still print
  options.cancelled = [] { return ui::InterruptScope::requested(); };

  Conversation conversation(engine);
  const Reply reply = conversation.reply(prompt, options);
  const double total = std::chrono::duration<double>(Clock::now() - start).count();
  if (flags.json) {
    std::printf("%s\n", cli::reply_json(reply, engine->load_seconds(), total)
                            .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                            .c_str());
  } else {
    printer.finish();
    if (reply.finish == FinishReason::cancelled) std::fprintf(stderr, "[stopped]\n");
    if (reply.finish == FinishReason::length) std::fprintf(stderr, "[--max-tokens %lld reached]\n",
                                                           static_cast<long long>(flags.max_tokens));
    std::fprintf(stderr, "%s\n", cli::stats_line(reply.stats, engine->load_seconds(), total).c_str());
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace

GEMMA4_COMMAND("run", "answer one prompt (text, --image, --audio), streaming; --think, --json", run_run);
