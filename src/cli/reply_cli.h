// What `gemma4 run` and `gemma4 chat` share: the generation flags, loading the engine from
// the -m value, printing a streamed reply (thinking apart from the answer) and its stats.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/thread_pool.h"
#include "cli/model_option.h"
#include "cli/speed_options.h"
#include "kernels/matmul.h"
#include "runtime/engine.h"
#include "ui/terminal.h"

namespace gemma4::cli {

struct GenerationFlags {
  std::string model;
  std::string mmproj;  // --mmproj: the towers of a .gguf model
  std::string system;
  bool think = false;
  int64_t max_tokens = 1024;
  float temperature = 1.0f;
  int64_t top_k = 0;
  float top_p = 1.0f;
  uint64_t seed = 0;
  // Set when the flag was given (the others come from generation_config.json).
  CLI::Option *temperature_set = nullptr, *top_k_set = nullptr, *top_p_set = nullptr, *seed_set = nullptr;
  int image_tokens = 0;
  bool json = false;
  SpeedOptions speed;  // --weights (default q4) and --threads, shared with bench and serve
  bool media_int8 = false;
};

inline void add_generation_flags(CLI::App& app, GenerationFlags& f) {
  add_model_option(app, f.model);
  add_mmproj_option(app, f.mmproj);
  app.add_option("--system", f.system, "system message");
  app.add_flag("--think", f.think, "let the model think before answering (thinking is shown apart)");
  app.add_option("--max-tokens", f.max_tokens, "most tokens to generate per answer")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  f.temperature_set = app.add_option("--temperature", f.temperature,
                 "sampling temperature; 0 = greedy (default: generation_config.json)")
      ->check(CLI::NonNegativeNumber);
  f.top_k_set = app.add_option("--top-k", f.top_k, "sample among the K most likely tokens, 0 = all (default: generation_config.json)")
      ->check(CLI::NonNegativeNumber);
  f.top_p_set = app.add_option("--top-p", f.top_p, "nucleus sampling mass in (0, 1] (default: generation_config.json)")
      ->check(CLI::Range(0.0f, 1.0f));
  f.seed_set = app.add_option("--seed", f.seed, "random seed, for reproducible sampling (default: random)");
  app.add_option("--image-tokens", f.image_tokens,
                 "soft tokens per image: 70, 140, 280, 560 or 1120 (default: processor_config.json)")
      ->check(CLI::IsMember({0, 70, 140, 280, 560, 1120}));
  add_speed_options(app, f.speed, "q4");
  add_media_int8_flag(app, f.media_int8);
  app.add_flag("--json", f.json, "print the answer as JSON {thinking, content, tool_calls, stats} instead of streaming");
}

// Sampling = generation_config.json's defaults, overridden by the flags given.
inline SamplingOptions sampling_from_flags(const Engine& engine, const GenerationFlags& f) {
  SamplingOptions s = engine.default_sampling();
  if (f.temperature_set->count()) {
    s.temperature = f.temperature;
    s.greedy = f.temperature <= 0;
  }
  if (f.top_k_set->count()) s.top_k = f.top_k;
  if (f.top_p_set->count()) s.top_p = f.top_p;
  s.seed = f.seed_set->count() ? f.seed : std::random_device{}();
  return s;
}

// -m value -> a loaded engine. Distinct errors for each way this fails (see base/error.h).
inline std::shared_ptr<Engine> load_engine(const GenerationFlags& f, bool quiet) {
  const std::string& model = f.model;
  const hub::ResolvedModel resolved = resolve_model_option(model, quiet);
  EngineOptions options;
  options.load = f.speed.apply();
  options.mmproj = f.mmproj;
  if (f.media_int8) options.encoder_numerics = EncoderNumerics::int8;
  return Engine::load(resolved.path, options);
}

// A user turn: media parts first (as in the Gemma 4 model card examples), then the text.
inline nlohmann::json user_message(const std::string& text, const std::vector<MediaSource>& media) {
  nlohmann::json content = nlohmann::json::array();
  for (const MediaSource& m : media)
    content.push_back({{"type", media_kind_name(m.kind)}, {media_kind_name(m.kind), m.path}});
  content.push_back({{"type", "text"}, {"text", text}});
  return {{"role", "user"}, {"content", content}};
}

// Streams reply events to the terminal: thinking dim (or labelled), answer plain, tool calls
// as a notice line each.
class StreamPrinter {
 public:
  explicit StreamPrinter(FILE* out) : out_(out), style_(out), writer_(out, style_) {}
  void operator()(const ResponseEvent& e) {
    switch (e.type) {
      case ResponseEvent::Type::thinking: writer_.thinking(e.text); break;
      case ResponseEvent::Type::content: writer_.answer(e.text); break;
      case ResponseEvent::Type::tool_call:
        writer_.finish();
        std::fprintf(out_, "%s\n",
                     style_.notice("[tool call] " + e.call.name + " " + e.call.arguments.dump()).c_str());
        break;
    }
  }
  void finish() { writer_.finish(); }

 private:
  FILE* out_;
  ui::Style style_;
  ui::ReplyWriter writer_;
};

inline std::string two_decimals(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", x);
  return buf;
}

// "load 2.31 s · media 0.80 s · first token 0.84 s · prompt 57 tok, 68.2 tok/s · generated
// 120 tok, 15.3 tok/s · total 9.12 s". The generation rate counts the tokens after the first
// (the first comes out of the prefill) over the time after the first.
inline std::string stats_line(const ReplyStats& s, double load_seconds, double total_seconds) {
  auto rate = [](int64_t n, double t) { return t > 0 ? n / t : 0.0; };
  char buf[400];
  std::string reused = s.reused_tokens > 0 ? " (+" + std::to_string(s.reused_tokens) + " cached)" : "";
  std::snprintf(buf, sizeof buf,
                "%s%sfirst token %.2f s · prompt %lld tok%s, %.1f tok/s · generated %lld tok, %.1f tok/s · "
                "total %.2f s",
                load_seconds > 0 ? ("load " + two_decimals(load_seconds) + " s · ").c_str() : "",
                s.media_seconds > 0 ? ("media " + two_decimals(s.media_seconds) + " s · ").c_str() : "",
                s.first_token_seconds, static_cast<long long>(s.prefilled_tokens), reused.c_str(),
                rate(s.prefilled_tokens, s.prefill_seconds), static_cast<long long>(s.generated_tokens),
                rate(s.generated_tokens > 1 ? s.generated_tokens - 1 : 0, s.decode_seconds), total_seconds);
  return buf;
}

// {thinking, content, tool_calls, finish_reason, stats} of one reply.
inline nlohmann::json reply_json(const Reply& reply, double load_seconds, double total_seconds) {
  nlohmann::json j = reply.response.to_json();
  j["finish_reason"] = finish_reason_name(reply.finish);
  j["stats"] = reply.stats.to_json();
  j["stats"]["load_seconds"] = load_seconds;
  j["stats"]["command_seconds"] = total_seconds;
  return j;
}

}  // namespace gemma4::cli
