// The tokenizer stored in a GGUF, given back as a Hugging Face tokenizer.json: the pieces, the
// special tokens and the merges of the file it was written from.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/mapped_file.h"
#include "io/gguf.h"
#include "io/hf_to_gguf.h"
#include "model/gguf_loader.h"
#include "text/tokenizer.h"
#include "test_util.h"

using namespace gemma4;
using json = nlohmann::json;

namespace {

std::string tokenizer_dir() {
  std::string dir;
  if (const char* env = std::getenv("GEMMA4_TOKENIZER_DIR")) dir = env;
  if (dir.empty()) {
    test::run_command("bash " + test::shared_dir() + "/tools/gemma4-tokenizer.sh 2>/dev/null", &dir);
    while (!dir.empty() && (dir.back() == '\n' || dir.back() == '\r')) dir.pop_back();
  }
  return dir;
}

}  // namespace

TEST(GgufTokenizer, TokenizerJsonFromTheStoredVocabulary) {
  const std::string dir = tokenizer_dir();
  ASSERT_FALSE(dir.empty());
  const std::string out = test::temp_dir("gguf-tokjson") + "/t.gguf";
  GgufConvertOptions o;
  o.type = GgmlType::bf16;
  o.tokenizer_dir = dir;
  write_text_gguf(test::tiny_dir(), out, o);  // the vocabulary is cut to the tiny model's 1024 rows
  const GgufVocab vocab = read_gguf_vocab(GgufFile::open(out));
  const json got = gguf_vocab_to_tokenizer_json(vocab);
  const json want = json::parse(read_file(dir + "/tokenizer.json"));

  ASSERT_EQ(got["model"]["type"], "BPE");
  EXPECT_TRUE(got["model"]["byte_fallback"].get<bool>());
  // Every piece of the kept ids sits at its id.
  std::map<int64_t, std::string> want_piece;
  for (const auto& [piece, id] : want["model"]["vocab"].items())
    if (id.get<int64_t>() < 1024) want_piece[id.get<int64_t>()] = piece;
  for (const auto& at : want["added_tokens"])
    if (at["id"].get<int64_t>() < 1024) want_piece[at["id"].get<int64_t>()] = at["content"].get<std::string>();
  for (const auto& [id, piece] : want_piece) EXPECT_EQ(got["model"]["vocab"].value(piece, int64_t{-1}), id) << piece;
  // Special added tokens come back special.
  std::map<int64_t, bool> got_special;
  for (const auto& at : got["added_tokens"]) got_special[at["id"].get<int64_t>()] = at["special"].get<bool>();
  for (const char* special : {"<bos>", "<eos>", "<|turn>", "<turn|>", "<pad>"}) {
    const int64_t id = got["model"]["vocab"].value(special, int64_t{-1});
    ASSERT_GE(id, 0) << special;
    EXPECT_TRUE(got_special[id]) << special;
  }
  // The merges, in order (the rank is the order).
  const json& wm = want["model"]["merges"];
  const json& gm = got["model"]["merges"];
  ASSERT_EQ(gm.size(), wm.size());
  for (size_t i = 0; i < wm.size(); ++i) {
    const json w = wm[i].is_string() ? json::array({wm[i].get<std::string>().substr(0, wm[i].get<std::string>().find(' ', 1)),
                                                    wm[i].get<std::string>().substr(wm[i].get<std::string>().find(' ', 1) + 1)})
                                     : wm[i];
    ASSERT_EQ(gm[i], w) << "merge " << i;
  }
  const json config = gguf_vocab_to_tokenizer_config(vocab);
  EXPECT_EQ(config["bos_token"], "<bos>");
  EXPECT_NE(config["chat_template"].get<std::string>().find("<|turn>"), std::string::npos);
}

TEST(GgufTokenizer, RejectsAMergeWithoutASpace) {
  GgufVocab v;
  v.tokens = {"a", "b", "ab"};
  v.token_types = {1, 1, 1};
  v.merges = {"ab"};
  EXPECT_THROW(gguf_vocab_to_tokenizer_json(v), Error);
}

// A GGUF vocabulary as llama.cpp's converter stores it (gemma4 `tokenizer.ggml.*`), built from
// a tokenizer.json the way `gemma4 quantize` does: the Tokenizer made from it encodes and
// decodes like the one loaded from the folder.
TEST(GgufTokenizer, TokenizerFromTheVocabularyEncodesLikeTheFolder) {
  const std::string dir = tokenizer_dir();
  ASSERT_FALSE(dir.empty());
  const json tj = json::parse(read_file(dir + "/tokenizer.json"));
  GgufVocab v;
  v.model = "gemma4";
  v.tokens.resize(tj["model"]["vocab"].size());
  v.token_types.assign(v.tokens.size(), 1);
  for (const auto& [piece, id] : tj["model"]["vocab"].items()) v.tokens[id.get<size_t>()] = piece;
  for (const auto& at : tj["added_tokens"]) v.token_types[at["id"].get<size_t>()] = at["special"].get<bool>() ? 3 : 4;
  for (const auto& m : tj["model"]["merges"])
    v.merges.push_back(m.is_string() ? m.get<std::string>() : m[0].get<std::string>() + " " + m[1].get<std::string>());
  v.bos = 2;
  v.eos = 1;
  const Tokenizer from_gguf = gguf_tokenizer(v);
  const Tokenizer from_folder = Tokenizer::load(dir);
  ASSERT_EQ(from_gguf.vocab_size(), from_folder.vocab_size());
  for (const char* text : {"Hello world!", "<bos><|turn>user\nWhat is 2+2?<turn|>\n<|turn>model\n",
                           "  spaces\tand\nnewlines  ", "ünïcödé 日本語 🙂", "<|tool_call>call:f{x:<|\"|>1<|\"|>}<tool_call|>",
                           "def f(x):\n    return x ** 2\n"}) {
    const auto ids = from_folder.encode(text);
    EXPECT_EQ(from_gguf.encode(text), ids) << text;
    EXPECT_EQ(from_gguf.decode(ids), from_folder.decode(ids)) << text;
  }
  EXPECT_EQ(from_gguf.token_id("<turn|>"), from_folder.token_id("<turn|>"));
  EXPECT_EQ(from_gguf.config_token("bos_token", ""), "<bos>");
}
