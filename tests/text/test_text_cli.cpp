// The kept-stable commands: gemma4 tokenize / prompt / parse.
#include <gtest/gtest.h>

#include <fstream>

#include "text_fixtures.h"

namespace gemma4 {
namespace {

using json = nlohmann::json;

std::string quote(const std::string& s) { return "'" + s + "'"; }

TEST(TextCli, TokenizeText) {
  std::string out;
  ASSERT_EQ(test::run_command(test::gemma4_binary() + " tokenize --model " + quote(test::tokenizer_dir()) +
                                  " --text 'Hello world'",
                              &out),
            0);
  EXPECT_EQ(json::parse(out), json::parse("[9259,1902]"));
}

TEST(TextCli, TokenizeJsonl) {
  std::string dir = test::temp_dir("tokcli");
  std::ofstream(dir + "/in.jsonl") << "{\"text\": \"Hello\"}\n{\"text\": \"<|turn>user\"}\n";
  std::string out;
  ASSERT_EQ(test::run_command(test::gemma4_binary() + " tokenize -m " + quote(test::tokenizer_dir()) + " --jsonl " +
                                  dir + "/in.jsonl",
                              &out),
            0);
  EXPECT_EQ(out, "{\"ids\":[9259]}\n{\"ids\":[105,2364]}\n");
  std::ofstream(dir + "/bad.jsonl") << "{\"txt\": 1}\n";
  EXPECT_EQ(test::run_command(test::gemma4_binary() + " tokenize -m " + quote(test::tokenizer_dir()) + " --jsonl " +
                                  dir + "/bad.jsonl 2>/dev/null"),
            4);
}

TEST(TextCli, PromptMatchesGolden) {
  json c = test::chat_cases()[13];  // tool call and response
  std::string dir = test::temp_dir("promptcli");
  json req = c;
  req.erase("prompt");
  req.erase("ids");
  std::ofstream(dir + "/req.json") << req.dump();
  std::string out;
  ASSERT_EQ(test::run_command(test::gemma4_binary() + " prompt --model " + quote(test::tokenizer_dir()) +
                                  " --request " + dir + "/req.json",
                              &out),
            0);
  json got = json::parse(out);
  EXPECT_EQ(got["prompt"], c["prompt"]);
  EXPECT_EQ(got["ids"], c["ids"]);
  std::ofstream(dir + "/bad.json") << "{\"messages\": 3}";
  EXPECT_EQ(test::run_command(test::gemma4_binary() + " prompt -m " + quote(test::tokenizer_dir()) + " -r " + dir +
                                  "/bad.json 2>/dev/null"),
            4);
}

TEST(TextCli, Parse) {
  std::string out;
  ASSERT_EQ(test::run_command(test::gemma4_binary() + " parse --model " + quote(test::tokenizer_dir()) +
                                  " --text \"$(printf '<|channel>thought\\nhm<channel|>Hi<|tool_call>call:f{a:1}<tool_call|>')\"",
                              &out),
            0);
  EXPECT_EQ(json::parse(out), json::parse(R"({"thinking": "hm", "content": "Hi",
      "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]})"));
}

TEST(TextCli, MissingTokenizerIsNotFound) {
  EXPECT_EQ(test::run_command(test::gemma4_binary() + " tokenize --model /nonexistent --text x 2>/dev/null"), 3);
}

}  // namespace
}  // namespace gemma4
