#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "base/error.h"
#include "text/detokenizer.h"
#include "text/tokenizer.h"
#include "text_fixtures.h"

namespace gemma4 {
namespace {

using test::gemma4_tokenizer;
using Ids = std::vector<int32_t>;

TEST(Tokenizer, AllGoldenCasesEncodeToTheListedIds) {
  const Tokenizer& tok = gemma4_tokenizer();
  auto cases = test::tokenizer_cases();
  ASSERT_EQ(cases.size(), 591u);
  int mismatches = 0;
  for (const auto& c : cases) {
    Ids want = c["ids"].get<Ids>();
    Ids got = tok.encode(c["text"].get<std::string>());
    if (got != want && ++mismatches <= 5) ADD_FAILURE() << "text: " << c["text"].dump();
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(Tokenizer, AllGoldenCasesDecodeBack) {
  const Tokenizer& tok = gemma4_tokenizer();
  for (const auto& c : test::tokenizer_cases())
    EXPECT_EQ(tok.decode(c["ids"].get<Ids>()), c["decoded"].get<std::string>()) << c["text"].dump();
}

TEST(Tokenizer, SpecVectors) {
  const Tokenizer& tok = gemma4_tokenizer();
  EXPECT_EQ(tok.encode("Hello"), (Ids{9259}));
  EXPECT_EQ(tok.encode(" hello"), (Ids{29104}));  // no dummy prefix: the space is the ▁
  EXPECT_EQ(tok.encode("a  b"), (Ids{236746, 138, 236763}));
  EXPECT_EQ(tok.encode("\xF4\x8F\xBF\xBF"), (Ids{482, 381, 429, 429}));  // U+10FFFF: byte fallback
  EXPECT_EQ(tok.encode(std::string(40, '\n')), (Ids{137, 115}));
  EXPECT_EQ(tok.encode("<b>bold</b> <table><tr>"), (Ids{200, 15640, 209, 236743, 168, 173}));
  EXPECT_EQ(tok.encode("<|image><|image|><|image|><image|>"), (Ids{255999, 258880, 258880, 258882}));
  EXPECT_EQ(tok.decode({236743, 236743, 9259}), "  Hello");
}

TEST(Tokenizer, SpecialTokensByName) {
  const Tokenizer& tok = gemma4_tokenizer();
  EXPECT_EQ(tok.vocab_size(), 262144);
  EXPECT_EQ(tok.token_id("<bos>"), 2);
  EXPECT_EQ(tok.token_id("<|turn>"), 105);
  EXPECT_EQ(tok.token_id("<turn|>"), 106);
  EXPECT_EQ(tok.token_id("<|tool_response>"), 50);
  EXPECT_EQ(tok.piece(9259), "Hello");
  EXPECT_TRUE(tok.is_special(106));
  EXPECT_FALSE(tok.is_special(9259));
  EXPECT_EQ(tok.config_token("image_token", ""), "<|image|>");
  EXPECT_FALSE(tok.find_token("<no such token>").has_value());
  EXPECT_THROW(tok.token_id("<no such token>"), Error);
  EXPECT_EQ(tok.decode({2, 9259, 106}, /*skip_special=*/true), "Hello");
}

TEST(Tokenizer, InvalidUtf8FallsBackToBytes) {
  const Tokenizer& tok = gemma4_tokenizer();
  const std::string bad = "ok\xFF\xC3 \xE6\x97";  // stray byte, truncated sequences
  Ids ids = tok.encode(bad);
  ASSERT_FALSE(ids.empty());
  int byte_tokens = 0;
  for (int32_t id : ids) byte_tokens += tok.is_byte(id);
  EXPECT_EQ(byte_tokens, 4);
  // HF's ByteFallback decoder: an invalid byte run becomes one U+FFFD per byte.
  EXPECT_NE(tok.decode(ids).find("\xEF\xBF\xBD"), std::string::npos);
}

TEST(Tokenizer, DecodeRejectsIdsOutsideTheVocabulary) {
  const Tokenizer& tok = gemma4_tokenizer();
  EXPECT_THROW(tok.decode({5, -1}), Error);
  EXPECT_THROW(tok.decode({262144}), Error);
  EXPECT_THROW(tok.piece(1 << 30), Error);
}

TEST(Tokenizer, LongInputsStayFast) {
  const Tokenizer& tok = gemma4_tokenizer();
  std::mt19937 rng(7);
  std::string words, one_word;
  const char* vocab[] = {"the ", "tokenizer ", "naïve ", "日本語 ", "😀", "\n", "x**2 ", "<b>", "  "};
  while (words.size() < 1'000'000) words += vocab[rng() % 9];
  for (int i = 0; i < 200'000; ++i) one_word.push_back(static_cast<char>('a' + rng() % 26));  // one long BPE word
  auto t0 = std::chrono::steady_clock::now();
  Ids a = tok.encode(words), b = tok.encode(one_word);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(tok.decode(a), words);
  EXPECT_EQ(tok.decode(b), one_word);
  EXPECT_LT(s, 10.0);  // ~1.2 MB; generous for a loaded 2-core CI machine
}

TEST(Tokenizer, MalformedTokenizerJsonIsAClearError) {
  const char* bad[] = {
      "",
      "not json",
      "[]",
      "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}",
      "{\"model\": {\"type\": \"BPE\", \"merges\": []}}",
      "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 5}, \"merges\": []}}",
      "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 0}, \"merges\": []}}",
      "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"x\"}, \"merges\": []}}",
      "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [[\"a\", \"b\"]]}}",
      "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [[\"a\"]]}}",
      "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"added_tokens\": [{\"id\": 9, \"content\": \"x\"}]}",
      "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []",
  };
  for (const char* j : bad) EXPECT_THROW(Tokenizer::from_json(j), Error) << j;
  EXPECT_THROW(Tokenizer::load("/nonexistent/folder"), Error);
}

TEST(Tokenizer, SmallHandMadeBpeMergesLowestRankFirst) {
  // Merges: "b c" (rank 0) beats "a b" (rank 1), so "abc" -> a + bc; ties go leftmost.
  Tokenizer tok = Tokenizer::from_json(R"({"model": {"type": "BPE", "vocab":
      {"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "aa": 5, "<0x41>": 6, "▁": 7, "<x>": 8},
      "merges": [["b", "c"], ["a", "b"], ["a", "a"]]},
      "added_tokens": [{"id": 8, "content": "<x>", "special": true}]})");
  EXPECT_EQ(tok.encode("abc"), (Ids{0, 4}));
  EXPECT_EQ(tok.encode("aaa"), (Ids{5, 0}));
  EXPECT_EQ(tok.encode("A a<x>"), (Ids{6, 7, 0, 8}));  // 'A' only as a byte token
  EXPECT_EQ(tok.decode({6, 7, 0, 8}), "A a<x>");
}

TEST(StreamingDetokenizer, HoldsBackPartialCharacters) {
  const Tokenizer& tok = gemma4_tokenizer();
  StreamingDetokenizer d(tok);
  Ids ids = tok.encode("a\xF4\x8F\xBF\xBF" "b");  // a, 4 byte tokens, b
  ASSERT_EQ(ids.size(), 6u);
  EXPECT_EQ(d.push(ids[0]), "a");
  EXPECT_EQ(d.push(ids[1]), "");
  EXPECT_EQ(d.push(ids[2]), "");
  EXPECT_EQ(d.push(ids[3]), "");
  EXPECT_EQ(d.push(ids[4]), "\xF4\x8F\xBF\xBF");
  EXPECT_EQ(d.push(ids[5]), "b");
  EXPECT_EQ(d.finish(), "");
}

TEST(StreamingDetokenizer, ConcatenationEqualsDecodeOnGoldens) {
  const Tokenizer& tok = gemma4_tokenizer();
  for (const auto& c : test::tokenizer_cases()) {
    StreamingDetokenizer d(tok);
    std::string text;
    for (int32_t id : c["ids"].get<Ids>()) text += d.push(id);
    text += d.finish();
    EXPECT_EQ(text, c["decoded"].get<std::string>());
  }
}

TEST(StreamingDetokenizer, DanglingBytesBecomeReplacementCharacters) {
  const Tokenizer& tok = gemma4_tokenizer();
  StreamingDetokenizer d(tok);
  Ids ids = tok.encode("\xE6\x97");  // two bytes of a three-byte character
  std::string text;
  for (int32_t id : ids) text += d.push(id);
  EXPECT_EQ(text, "");
  EXPECT_EQ(d.finish(), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

}  // namespace
}  // namespace gemma4
