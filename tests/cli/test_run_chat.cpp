// gemma4 run / gemma4 chat on a small random model with the real tokenizer: the structure of
// what they print (answer, stats, JSON), multi-turn prefix reuse, media, errors and exit codes.
// Random weights give gibberish: these tests check shapes and counts, never words.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/reply_cli.h"
#include "cli_model.h"
#include "runtime/engine.h"

using namespace gemma4;
using namespace gemma4::test;
using nlohmann::json;

namespace {

std::string model() { return cli_model_dir(); }
std::string bin() { return gemma4_binary(); }

// Runs a command; stdout in *out, stderr in *err; returns the exit status.
int run(const std::string& cmd, std::string* out, std::string* err = nullptr) {
  const std::string err_file = temp_dir("cli-err") + "/stderr";
  const int rc = run_command(cmd + " 2>" + err_file, out);
  if (err) *err = read_file(err_file);
  return rc;
}

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

std::string write_text_file(const std::string& name, const std::string& text) {
  const std::string path = temp_dir("cli-file") + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// The messages of a conversation as the chat command builds them.
ChatRequest request_of(const json& messages, bool think = false) {
  return ChatRequest::from_json({{"messages", messages}, {"enable_thinking", think}});
}

ReplyOptions greedy(int64_t max_tokens) {
  ReplyOptions o;
  o.max_tokens = max_tokens;
  o.sampling.greedy = true;
  return o;
}

}  // namespace

TEST(CliRun, StreamsAnAnswerThenStats) {
  std::string out, err;
  ASSERT_EQ(run(bin() + " run -m " + model() + " -p 'What is the distance from Earth to the Moon?' "
                "--max-tokens 6 --temperature 0",
                &out, &err),
            0)
      << err;
  for (const char* part : {"load ", "first token ", "prompt ", "tok/s", "generated ", "total "})
    EXPECT_NE(err.find(part), std::string::npos) << part << " missing from: " << err;
  EXPECT_NE(err.find("generated 6 tok"), std::string::npos) << err;  // a random model rarely stops by itself
}

TEST(CliRun, JsonHasThinkingContentToolCallsAndStats) {
  std::string out, err;
  ASSERT_EQ(run(bin() + " run -m " + model() + " -p Hello --system 'Be short.' --max-tokens 5 --seed 4 --json", &out,
                &err),
            0)
      << err;
  const json j = json::parse(out);
  for (const char* key : {"thinking", "content", "tool_calls", "stats", "finish_reason"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_TRUE(j["tool_calls"].is_array());
  const json& s = j["stats"];
  EXPECT_EQ(s["generated_tokens"], 5);
  EXPECT_EQ(j["finish_reason"], "length");
  EXPECT_GT(s["prompt_tokens"].get<int>(), 8);
  EXPECT_EQ(s["prefilled_tokens"], s["prompt_tokens"]);
  EXPECT_EQ(s["reused_tokens"], 0);
  for (const char* key : {"load_seconds", "first_token_seconds", "prompt_tokens_per_second",
                          "generation_tokens_per_second", "total_seconds"})
    EXPECT_GE(s[key].get<double>(), 0.0) << key;
  EXPECT_GT(s["total_seconds"].get<double>(), 0.0);
}

TEST(CliRun, SameSeedSameAnswer) {
  std::string a, b;
  const std::string cmd = bin() + " run -m " + model() + " -p Hi --max-tokens 6 --temperature 1.5 --json --seed ";
  ASSERT_EQ(run(cmd + "11", &a), 0);
  ASSERT_EQ(run(cmd + "11", &b), 0);
  EXPECT_EQ(json::parse(a)["content"], json::parse(b)["content"]);
}

TEST(CliRun, ThinkSwitchesThinkingOnInThePrompt) {
  std::string plain, think;
  const std::string cmd = bin() + " run -m " + model() + " -p Hi --max-tokens 1 --json";
  ASSERT_EQ(run(cmd, &plain), 0);
  ASSERT_EQ(run(cmd + " --think", &think), 0);
  // Thinking on adds the thinking switch to the system turn.
  EXPECT_GT(json::parse(think)["stats"]["prompt_tokens"].get<int>(),
            json::parse(plain)["stats"]["prompt_tokens"].get<int>());
}

TEST(CliRun, StreamPrinterKeepsThinkingApartFromTheAnswer) {
  FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    cli::StreamPrinter printer(f);  // not a terminal: labels instead of colours
    printer({ResponseEvent::Type::thinking, "The Moon is about", {}});
    printer({ResponseEvent::Type::thinking, " 384,400 km away.", {}});
    printer({ResponseEvent::Type::content, "About 384,400 km.", {}});
    printer.finish();
  }
  std::rewind(f);
  std::string text(4096, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), f));
  std::fclose(f);
  EXPECT_EQ(text, "[thinking]\nThe Moon is about 384,400 km away.\n\n[answer]\nAbout 384,400 km.\n");
}

TEST(CliRun, ImageAndAudioBecomeSoftTokens) {
  std::string text_only, media, err;
  const std::string cmd = bin() + " run -m " + model() + " -p 'What is this?' --max-tokens 2 --temperature 0 --json";
  ASSERT_EQ(run(cmd, &text_only), 0);
  ASSERT_EQ(run(cmd + " --image " + tiny_dir() + "/image_a.png --audio " + tiny_dir() + "/speech.wav", &media, &err), 0)
      << err;
  const json s = json::parse(media)["stats"];
  // The image adds <|image> + 70 soft tokens (the tiny processor's budget) + <image|>; audio adds its own block.
  EXPECT_GT(s["prompt_tokens"].get<int>(), json::parse(text_only)["stats"]["prompt_tokens"].get<int>() + 72 + 3);
  EXPECT_GT(s["media_seconds"].get<double>(), 0.0);
}

// --media-int8 runs the towers' linears in int8: the same prompt layout, a clean exit.
TEST(CliRun, MediaInt8EncodesTheSameSoftTokenRuns) {
  std::string fast, int8, err;
  const std::string cmd = bin() + " run -m " + model() + " -p 'What is this?' --max-tokens 2 --temperature 0 --json --image " +
                          tiny_dir() + "/image_a.png --audio " + tiny_dir() + "/speech.wav";
  ASSERT_EQ(run(cmd, &fast, &err), 0) << err;
  ASSERT_EQ(run(cmd + " --media-int8", &int8, &err), 0) << err;
  EXPECT_EQ(json::parse(int8)["stats"]["prompt_tokens"], json::parse(fast)["stats"]["prompt_tokens"]);
}

TEST(CliRun, SamplingDefaultsComeFromGenerationConfig) {
  const std::string dir = temp_dir("cli-gencfg");
  for (const auto& entry : std::filesystem::directory_iterator(model()))
    std::filesystem::create_symlink(entry.path(), dir + "/" + entry.path().filename().string());
  std::filesystem::remove(dir + "/generation_config.json");
  std::ofstream(dir + "/generation_config.json")
      << R"({"do_sample": true, "temperature": 0.7, "top_k": 12, "top_p": 0.5, "eos_token_id": [1, 106]})";
  auto engine = Engine::load(dir);
  const SamplingOptions s = engine->default_sampling();
  EXPECT_FALSE(s.greedy);
  EXPECT_FLOAT_EQ(s.temperature, 0.7f);
  EXPECT_EQ(s.top_k, 12);
  EXPECT_FLOAT_EQ(s.top_p, 0.5f);

  std::filesystem::remove(dir + "/generation_config.json");
  std::ofstream(dir + "/generation_config.json") << R"({"do_sample": false, "eos_token_id": [1, 106]})";
  EXPECT_TRUE(Engine::load(dir)->default_sampling().greedy);
}

TEST(CliChat, SecondTurnReusesTheCachedPrefix) {
  std::string out, err;
  ASSERT_EQ(run("printf 'Hello there\\nAnd a second question\\n' | " + bin() + " chat -m " + model() +
                    " --json --temperature 0 --max-tokens 4",
                &out, &err),
            0)
      << err;
  const auto turns = json_lines(out);
  ASSERT_EQ(turns.size(), 2u) << out;
  const json& first = turns[0]["stats"];
  const json& second = turns[1]["stats"];
  EXPECT_EQ(first["reused_tokens"], 0);
  EXPECT_GT(second["prompt_tokens"].get<int>(), first["prompt_tokens"].get<int>());
  // Turn 2 computes only what follows the shared prefix (at least the whole first user turn).
  EXPECT_GE(second["reused_tokens"].get<int>(), first["prompt_tokens"].get<int>() - 3);
  EXPECT_LT(second["prefilled_tokens"].get<int>(), second["prompt_tokens"].get<int>());
  EXPECT_EQ(second["prefilled_tokens"].get<int>() + second["reused_tokens"].get<int>(),
            second["prompt_tokens"].get<int>());
}

TEST(CliChat, CommandsHelpThinkResetAttachQuit) {
  std::string out, err;
  const std::string input =
      "/help\\n/think\\n/image /nonexistent.png\\n/image " + tiny_dir() + "/image_a.png\\n/reset\\nHi\\n/bogus\\n/quit\\nnever sent\\n";
  ASSERT_EQ(run("printf '" + input + "' | " + bin() + " chat -m " + model() + " --json --max-tokens 2", &out, &err), 0)
      << err;
  for (const char* part : {"/image FILE", "thinking on", "file not found: /nonexistent.png", "image attached",
                           "conversation cleared", "unknown command /bogus"})
    EXPECT_NE(err.find(part), std::string::npos) << part << " missing from: " << err;
  const auto turns = json_lines(out);
  ASSERT_EQ(turns.size(), 1u) << out;  // /quit ends the chat before "never sent"
  EXPECT_LT(turns[0]["stats"]["prompt_tokens"].get<int>(), 40);  // /reset dropped the attached image
}

TEST(CliChat, ABadTurnIsReportedAndTheChatGoesOn) {
  std::string out, err;
  const std::string bad = write_text_file("notes.png", "not an image");
  ASSERT_EQ(run("printf '/image " + bad + "\\nWhat is it?\\nHello\\n' | " + bin() + " chat -m " + model() +
                    " --json --max-tokens 2",
                &out, &err),
            0);
  EXPECT_NE(err.find("unsupported image format"), std::string::npos) << err;
  EXPECT_EQ(json_lines(out).size(), 1u);
}

TEST(Conversation, ReusedPrefixGivesTheSameAnswerAsAFreshStart) {
  auto engine = Engine::load(model());
  const std::string image = tiny_dir() + "/image_a.png";
  json messages = json::array({{{"role", "system"}, {"content", "Be short."}},
                               cli::user_message("Describe it.", {{MediaKind::image, image, {}, 0}})});
  Conversation chat(engine);
  MediaCache cache;
  const Reply first = chat.reply(engine->build_prompt(request_of(messages), {}, &cache), greedy(3));
  EXPECT_EQ(first.stats.reused_tokens, 0);
  messages.push_back({{"role", "assistant"}, {"content", first.response.content.value_or("")}});
  messages.push_back(cli::user_message("And now?", {}));

  const Prompt second_prompt = engine->build_prompt(request_of(messages), {}, &cache);
  EXPECT_EQ(second_prompt.media_seconds, 0.0);  // the image came from the cache
  const Reply second = chat.reply(second_prompt, greedy(4));
  Conversation fresh(engine);
  const Reply expected = fresh.reply(engine->build_prompt(request_of(messages)), greedy(4));
  EXPECT_GT(second.stats.reused_tokens, 70);  // the image's soft tokens were not computed again
  EXPECT_EQ(expected.stats.reused_tokens, 0);
  EXPECT_EQ(second.ids, expected.ids);
}

TEST(Conversation, ADifferentImageIsNotTakenFromTheCache) {
  auto engine = Engine::load(model());
  auto ask = [&](const std::string& image) {
    return engine->build_prompt(request_of(json::array({cli::user_message("Describe it.", {{MediaKind::image, image, {}, 0}})})));
  };
  const Prompt a = ask(tiny_dir() + "/image_a.png");
  const Prompt b = ask(tiny_dir() + "/image_b.png");
  ASSERT_FALSE(a.soft_tokens.empty());
  Conversation chat(engine);
  chat.reply(a, greedy(1));
  const Reply r = chat.reply(b, greedy(1));
  EXPECT_LE(r.stats.reused_tokens, a.soft_tokens.front().index);
  const Reply again = chat.reply(b, greedy(1));
  EXPECT_EQ(again.stats.reused_tokens, static_cast<int64_t>(b.ids.size()) - 1);  // the same prompt: all but one
}

TEST(CliErrors, DistinctExitCodes) {
  std::string out, err;
  const std::string run_cmd = bin() + " run -p Hi --max-tokens 1 ";

  EXPECT_EQ(run(run_cmd + "-m /nonexistent/model", &out, &err), 3) << err;  // no model there
  EXPECT_NE(err.find("no such model"), std::string::npos) << err;

  const std::string text = write_text_file("notes.txt", "hello");
  EXPECT_EQ(run(run_cmd + "-m " + text, &out, &err), 5) << err;  // a file that is not a model
  EXPECT_NE(err.find("is not a model"), std::string::npos) << err;

  const std::string llama = temp_dir("cli-llama");
  std::ofstream(llama + "/config.json") << R"({"model_type": "llama", "hidden_size": 64})";
  EXPECT_EQ(run(run_cmd + "-m " + llama, &out, &err), 5) << err;  // not a Gemma 4 checkpoint
  EXPECT_NE(err.find("llama"), std::string::npos) << err;

  const std::string gguf = write_text_file("model.gguf", "GGUF");  // a truncated GGUF: corrupt input
  EXPECT_EQ(run(run_cmd + "-m " + gguf, &out, &err), 4) << err;
  EXPECT_NE(err.find("invalid GGUF"), std::string::npos) << err;

  EXPECT_EQ(run(run_cmd + "-m " + model() + " --image /nonexistent.png", &out, &err), 3) << err;
  EXPECT_EQ(run(run_cmd + "-m " + model() + " --image " + text, &out, &err), 5) << err;  // unsupported file
  EXPECT_NE(err.find("unsupported image format"), std::string::npos) << err;
  EXPECT_EQ(run(run_cmd + "-m " + model() + " --audio " + text, &out, &err), 4) << err;  // not decodable audio
  EXPECT_EQ(run(run_cmd + "-m " + model() + " --image-tokens 71", &out, &err), 2) << err;
  EXPECT_EQ(run(bin() + " run -m " + model() + " </dev/null", &out, &err), 2) << err;  // no prompt

  // The KV cache for the context asked does not fit in the memory available.
  EXPECT_EQ(run("GEMMA4_MAX_MEMORY=1000 " + bin() + " run -p Hi -m " + model() + " --max-tokens 100000", &out, &err),
            6)
      << err;
  EXPECT_NE(err.find("--max-tokens"), std::string::npos) << err;

  // A repo id that is not in the cache, with the network off: says what to download.
  const std::string cache = temp_dir("cli-hub");
  EXPECT_EQ(run("HF_HUB_CACHE=" + cache + " HF_HUB_OFFLINE=1 " + run_cmd + "-m someorg/some-model", &out, &err), 7)
      << err;
}

TEST(CliRun, CtrlCStopsTheAnswerNotTheProgram) {
  // Start an endless answer, wait until it streams, press Ctrl-C: the answer stops, the
  // statistics print and the exit status is 0.
  const std::string dir = temp_dir("cli-sigint");
  const std::string script = bin() + " run -m " + model() + " -p Hi --max-tokens 1000000 --temperature 0 >" + dir +
                             "/out 2>" + dir + "/err & pid=$!; for i in $(seq 600); do [ -s " + dir +
                             "/out ] && break; sleep 0.1; done; sleep 0.3; kill -INT $pid; wait $pid";
  std::string ignored;
  EXPECT_EQ(run_command("bash -c '" + script + "'", &ignored), 0);
  const std::string err = read_file(dir + "/err");
  EXPECT_NE(err.find("[stopped]"), std::string::npos) << err;
  EXPECT_NE(err.find("generated "), std::string::npos) << err;
}

// A llama.cpp GGUF written from the tiny goldens model runs end to end: weights, config and
// the tokenizer stored in the file (synthetic here: the tiny model has no tokenizer.json).
TEST(CliRun, RunsAGgufFile) {
  const std::string dir = gemma4::test::temp_dir("cli-gguf");
  const std::string gguf = dir + "/tiny-q8_0.gguf";
  ASSERT_EQ(gemma4::test::run_command(gemma4::test::gemma4_binary() + " quantize " + gemma4::test::tiny_dir() + " " +
                                          gguf + " --type q8_0 2>/dev/null"),
            0);
  std::string out;
  ASSERT_EQ(gemma4::test::run_command(gemma4::test::gemma4_binary() + " run -m " + gguf +
                                          " -p hello --max-tokens 4 --temperature 0 --json 2>/dev/null",
                                      &out),
            0);
  const auto j = nlohmann::json::parse(out);
  EXPECT_TRUE(j.contains("content"));
  EXPECT_EQ(j["stats"]["generated_tokens"].get<int>(), 4) << out;
}
