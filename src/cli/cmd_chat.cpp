// gemma4 chat: an interactive multi-turn chat. The KV cache is kept between turns: each turn
// renders the whole conversation again and only the tokens after the part already in the cache
// are computed (the chat format drops old thinking, so reuse ends where the history changed).
// Ctrl-C stops the current answer; /quit or end of input ends the chat.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/reply_cli.h"
#include "ui/interrupt.h"

namespace {

using namespace gemma4;

constexpr const char* kHelp =
    "commands:\n"
    "  /image FILE   attach an image to your next message\n"
    "  /audio FILE   attach an audio clip to your next message\n"
    "  /think        turn thinking on or off\n"
    "  /reset        forget the conversation (and the cache)\n"
    "  /help         this list\n"
    "  /quit         leave (or Ctrl-D); Ctrl-C stops the current answer\n";

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

class ChatLoop {
 public:
  ChatLoop(std::shared_ptr<Engine> engine, cli::GenerationFlags flags)
      : engine_(std::move(engine)), flags_(std::move(flags)), conversation_(engine_), think_(flags_.think) {}

  // Returns false when the user asked to leave.
  bool command(const std::string& line) {
    const size_t space = line.find(' ');
    const std::string name = line.substr(0, space);
    const std::string arg = space == std::string::npos ? "" : trim(line.substr(space + 1));
    if (name == "/quit" || name == "/exit" || name == "/bye") return false;
    if (name == "/help" || name == "/?") {
      notice(kHelp);
    } else if (name == "/image" || name == "/audio") {
      attach(name == "/image" ? MediaKind::image : MediaKind::audio, arg);
    } else if (name == "/think") {
      think_ = !think_;
      notice(std::string("thinking ") + (think_ ? "on" : "off") + "\n");
    } else if (name == "/reset") {
      messages_ = nlohmann::json::array();
      history_media_.clear();
      pending_.clear();
      conversation_.reset();
      notice("conversation cleared\n");
    } else {
      notice("unknown command " + name + " (/help lists them)\n");
    }
    return true;
  }

  void turn(const std::string& text) {
    const size_t media_before = history_media_.size();
    messages_.push_back(cli::user_message(text, pending_));
    history_media_.insert(history_media_.end(), pending_.begin(), pending_.end());
    pending_.clear();
    try {
      answer();
    } catch (const Error& e) {
      // The turn did not happen: take it back so the next one starts from a consistent history.
      messages_.erase(messages_.end() - 1);
      history_media_.resize(media_before);
      std::fprintf(stderr, "%s\n", style_.error("error: " + std::string(e.what())).c_str());
    }
  }

 private:
  void notice(const std::string& text) const { std::fprintf(stderr, "%s", style_.notice(text).c_str()); }

  void attach(MediaKind kind, const std::string& path) {
    if (path.empty()) return notice(std::string("usage: /") + media_kind_name(kind) + " FILE\n");
    if (!std::filesystem::is_regular_file(path)) return notice("file not found: " + path + "\n");
    pending_.push_back({kind, path, {}, kind == MediaKind::image ? flags_.image_tokens : 0});
    notice(std::string(media_kind_name(kind)) + " attached to your next message: " + path + "\n");
  }

  void answer() {
    const auto start = std::chrono::steady_clock::now();
    nlohmann::json messages = nlohmann::json::array();
    if (!flags_.system.empty()) messages.push_back({{"role", "system"}, {"content", flags_.system}});
    for (const auto& m : messages_) messages.push_back(m);
    const ChatRequest request = ChatRequest::from_json({{"messages", messages}, {"enable_thinking", think_}});
    const Prompt prompt = engine_->build_prompt(request, history_media_, &media_cache_);

    ReplyOptions options;
    options.max_tokens = flags_.max_tokens;
    options.sampling = cli::sampling_from_flags(*engine_, flags_);
    cli::StreamPrinter printer(stdout);
    if (!flags_.json) options.on_event = [&](const ResponseEvent& e) { printer(e); };
    ui::InterruptScope interrupt;
    options.cancelled = [] { return ui::InterruptScope::requested(); };
    const Reply reply = conversation_.reply(prompt, options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    messages_.push_back({{"role", "assistant"}, {"content", reply.response.content.value_or("")}});
    if (flags_.json) {
      std::printf("%s\n", cli::reply_json(reply, 0, seconds).dump(-1, ' ', false,
                                                                   nlohmann::json::error_handler_t::replace).c_str());
    } else {
      printer.finish();
      if (reply.finish == FinishReason::cancelled) notice("[stopped]\n");
      std::fprintf(stderr, "%s\n", cli::stats_line(reply.stats, 0, seconds).c_str());
    }
    std::fflush(stdout);
  }

  std::shared_ptr<Engine> engine_;
  cli::GenerationFlags flags_;
  Conversation conversation_;
  MediaCache media_cache_;
  bool think_;
  ui::Style style_{stderr};
  nlohmann::json messages_ = nlohmann::json::array();  // user and assistant turns, no system
  std::vector<MediaSource> history_media_;              // every media item of messages_, in order
  std::vector<MediaSource> pending_;                    // attached for the next user message
};

int run_chat(int argc, char** argv) {
  CLI::App app{"Chat with the model, turn after turn; the KV cache is kept between turns.\n"
               "Commands inside the chat: /image FILE, /audio FILE, /think, /reset, /help, /quit."};
  cli::GenerationFlags flags;
  cli::add_generation_flags(app, flags);
  GEMMA4_PARSE(app, argc, argv);

  const bool interactive = ui::is_terminal(stdin);
  auto engine = cli::load_engine(flags, false);
  ChatLoop chat(engine, flags);
  if (interactive)
    std::fprintf(stderr, "%s: loaded in %.1f s. Type a message, /help for commands, /quit to leave.\n",
                 engine->model_dir().c_str(), engine->load_seconds());
  std::string line;
  while (true) {
    if (interactive) {
      std::fputs(">>> ", stdout);
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) break;
    line = trim(line);
    if (line.empty()) continue;
    if (line[0] == '/') {
      if (!chat.command(line)) break;
      continue;
    }
    chat.turn(line);
  }
  if (interactive) std::fputs("\n", stdout);
  return 0;
}

}  // namespace

GEMMA4_COMMAND("chat", "interactive multi-turn chat (keeps the KV cache between turns)", run_chat);
