#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "base/error.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "test_util.h"

using namespace gemma4;

namespace {

std::vector<uint8_t> make_file(const std::string& header, size_t data_bytes) {
  std::vector<uint8_t> f(8 + header.size() + data_bytes, 0);
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) f[i] = static_cast<uint8_t>(n >> (8 * i));
  std::memcpy(f.data() + 8, header.data(), header.size());
  return f;
}

std::string error_of(const std::vector<uint8_t>& f) {
  try {
    parse_safetensors(f.data(), f.size(), "x.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Safetensors, ParsesValidHeader) {
  auto f = make_file(R"({"a":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]},"__metadata__":{"format":"pt"}})", 12);
  auto ts = parse_safetensors(f.data(), f.size(), "x");
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].name, "a");
  EXPECT_EQ(ts[0].dtype, DType::bf16);
  EXPECT_EQ(ts[0].numel(), 6);
}

TEST(Safetensors, RejectsCorruptFiles) {
  EXPECT_NE(error_of({1, 2, 3}).find("not a safetensors"), std::string::npos);
  auto truncated = make_file(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8);
  EXPECT_NE(error_of(truncated).find("truncated"), std::string::npos);
  auto bad_json = make_file(R"({"a":{"dtype":)", 0);
  EXPECT_NE(error_of(bad_json).find("invalid JSON"), std::string::npos);
  auto bad_size = make_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", 16);
  EXPECT_NE(error_of(bad_size).find("does not match shape"), std::string::npos);
  auto bad_dtype = make_file(R"({"a":{"dtype":"Q7","shape":[3],"data_offsets":[0,3]}})", 3);
  EXPECT_NE(error_of(bad_dtype).find("unsupported dtype"), std::string::npos);
  auto overlap = make_file(
      R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})", 8);
  EXPECT_NE(error_of(overlap).find("overlapping"), std::string::npos);
  std::vector<uint8_t> huge(8, 0xff);
  EXPECT_NE(error_of(huge).find("truncated"), std::string::npos);
}

TEST(Safetensors, OpensTinyModelFolder) {
  auto store = TensorStore::open(test::tiny_dir());
  const auto& emb = store.require("model.language_model.embed_tokens.weight", {1024, 64});
  EXPECT_EQ(emb.dtype, DType::bf16);
  auto v = to_f32(emb);
  EXPECT_EQ(v.size(), 1024u * 64u);
  try {
    store.require("model.language_model.embed_tokens.weight", {1024, 65});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected [1024, 65]"), std::string::npos);
  }
  EXPECT_THROW(store.require("no.such.tensor"), Error);
}

TEST(Safetensors, MissingFolderIsNotFound) {
  try {
    TensorStore::open("/nonexistent/dir/model.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::not_found);
  }
}

TEST(Npy, RoundTrip) {
  std::string dir = test::temp_dir("npy");
  std::vector<float> v = {1, 2, 3, 4, 5, 6};
  write_npy(dir + "/a.npy", v.data(), {2, 3});
  auto a = read_npy_f32(dir + "/a.npy");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.data, v);
}
