// Unit tests of the decoder's building blocks against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/reference_ops.h"
#include "model/text_decoder.h"

using namespace gemma4;

TEST(Blocks, RmsNormMultipliesByWeightWithoutPlusOne) {
  const std::vector<float> x = {1, 2, 3, 4};
  const std::vector<float> w = {1, 0.5f, 2, 0};
  std::vector<float> y(4);
  kernels::rms_norm(x.data(), w.data(), 4, 1e-6, y.data());
  const double rms = std::sqrt((1 + 4 + 9 + 16) / 4.0 + 1e-6);
  EXPECT_NEAR(y[0], 1 / rms, 1e-6);
  EXPECT_NEAR(y[1], 2 / rms * 0.5, 1e-6);
  EXPECT_NEAR(y[2], 3 / rms * 2, 1e-6);
  EXPECT_EQ(y[3], 0.f);
  kernels::rms_norm(x.data(), nullptr, 4, 1e-6, y.data());  // scale-less (v_norm)
  EXPECT_NEAR(y[3], 4 / rms, 1e-6);
}

TEST(Blocks, RmsNormEpsIsInsideTheMean) {
  const std::vector<float> x = {0, 0};
  std::vector<float> y(2, 1.f);
  kernels::rms_norm(x.data(), nullptr, 2, 1e-6, y.data());
  EXPECT_EQ(y[0], 0.f);
  const float small[1] = {1e-3f};
  float out[1];
  kernels::rms_norm(small, nullptr, 1, 1e-6, out);
  EXPECT_NEAR(out[0], 1e-3 / std::sqrt(1e-6 + 1e-6), 1e-5);
}

TEST(Blocks, GeluTanh) {
  EXPECT_EQ(kernels::gelu_tanh(0.f), 0.f);
  // PyTorch gelu(approximate="tanh") reference values.
  EXPECT_NEAR(kernels::gelu_tanh(1.f), 0.8411920071, 1e-6);
  EXPECT_NEAR(kernels::gelu_tanh(-1.f), -0.1588079929, 1e-6);
  EXPECT_NEAR(kernels::gelu_tanh(3.f), 2.9963627, 1e-5);
}

TEST(Blocks, Softcap) {
  std::vector<float> x = {0.f, 30.f, -300.f, 3.f};
  kernels::softcap_inplace(x.data(), 4, 30.f);
  EXPECT_EQ(x[0], 0.f);
  EXPECT_NEAR(x[1], 30 * std::tanh(1.0), 1e-5);
  EXPECT_NEAR(x[2], -30.0, 1e-4);
  EXPECT_NEAR(x[3], 30 * std::tanh(0.1), 1e-5);
}

TEST(Blocks, SoftmaxIsStableForLargeLogits) {
  std::vector<float> x = {1000.f, 1000.f, -1000.f};
  kernels::softmax_inplace(x.data(), 3);
  EXPECT_NEAR(x[0], 0.5, 1e-7);
  EXPECT_NEAR(x[1], 0.5, 1e-7);
  EXPECT_EQ(x[2], 0.f);
}

TEST(Blocks, RopeDefaultRotatesAllPairs) {
  const RopeParams rope{"default", 10000.0, 1.0};
  const auto inv = rope_inverse_frequencies(rope, 8);
  ASSERT_EQ(inv.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(inv[i], static_cast<float>(std::pow(10000.0, -2.0 * i / 8)));
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8};
  const auto orig = x;
  kernels::rope_rotate_half(x.data(), 8, inv.data(), 3);
  for (int i = 0; i < 4; ++i) {
    const double a = 3.0 * inv[i];
    EXPECT_NEAR(x[i], orig[i] * std::cos(a) - orig[i + 4] * std::sin(a), 1e-5);
    EXPECT_NEAR(x[i + 4], orig[i + 4] * std::cos(a) + orig[i] * std::sin(a), 1e-5);
  }
  std::vector<float> y = orig;
  kernels::rope_rotate_half(y.data(), 8, inv.data(), 0);  // position 0 is the identity
  EXPECT_EQ(y, orig);
}

TEST(Blocks, RopeProportionalUsesFullHeadDenominatorAndZeroPads) {
  const RopeParams rope{"proportional", 1e6, 0.25};
  const auto inv = rope_inverse_frequencies(rope, 512);
  ASSERT_EQ(inv.size(), 256u);
  for (int i = 0; i < 64; ++i) EXPECT_FLOAT_EQ(inv[i], static_cast<float>(std::pow(1e6, -2.0 * i / 512)));
  for (int i = 64; i < 256; ++i) EXPECT_EQ(inv[i], 0.f);
  // Lanes 0..63 and 256..319 rotate; every other lane carries no position.
  std::vector<float> x(512);
  for (int i = 0; i < 512; ++i) x[i] = 0.01f * i + 1;
  const auto orig = x;
  kernels::rope_rotate_half(x.data(), 512, inv.data(), 1234);
  for (int i = 0; i < 512; ++i) {
    const bool rotated = i < 64 || (i >= 256 && i < 320);
    if (rotated) {
      EXPECT_NE(x[i], orig[i]) << i;
    } else {
      EXPECT_EQ(x[i], orig[i]) << i;
    }
  }
}
