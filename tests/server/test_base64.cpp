#include <gtest/gtest.h>

#include <random>

#include "server/base64.h"

using gemma4::server::base64_decode;
using gemma4::server::base64_encode;

TEST(Base64, KnownVectors) {  // RFC 4648 section 10
  const std::pair<const char*, const char*> cases[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                       {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
                                                       {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : cases) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded), std::string(plain)) << encoded;
  }
}

TEST(Base64, UnpaddedAndWrappedInputDecodes) {
  EXPECT_EQ(base64_decode("Zm9vYg"), std::string("foob"));
  EXPECT_EQ(base64_decode("Zm9v\r\nYmFy\n"), std::string("foobar"));
}

TEST(Base64, RejectsMalformedInput) {
  for (const char* bad : {"Z", "Zm9vY", "Zm=9", "Zm9v=Ymu", "Zg=", "Zg===", "Zh==", "Zm9vYmE-", "Zm9v\x01"})
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
}

TEST(Base64, RoundTripsRandomBytes) {
  std::mt19937 rng(7);
  for (int len = 0; len < 300; ++len) {
    std::string bytes(len, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    EXPECT_EQ(base64_decode(base64_encode(bytes)), bytes);
  }
}
