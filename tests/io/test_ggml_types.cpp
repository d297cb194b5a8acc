// GGML block types: reference dequantization of every supported type against blocks packed by
// hand from the documented layouts, and the quantizers' error bounds.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "base/error.h"
#include "tensor/dtype.h"
#include "tensor/ggml_types.h"

using namespace gemma4;

namespace {

std::vector<float> random_values(int64_t n, uint32_t seed, float scale = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, scale);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = dist(rng);
  return x;
}

template <typename Block>
std::vector<float> dequant(GgmlType t, const std::vector<Block>& blocks, int64_t n) {
  std::vector<float> y(static_cast<size_t>(n));
  dequantize_ggml(t, blocks.data(), y.data(), n);
  return y;
}

// Test-side packers, written from the format description (not from the library's code).
void put_nibble(uint8_t* qs, int j, int q) {  // 32-weight blocks: j < 16 low nibble, else high nibble of j-16
  if (j < 16) qs[j] = static_cast<uint8_t>((qs[j] & 0xf0) | (q & 15));
  else qs[j - 16] = static_cast<uint8_t>((qs[j - 16] & 0x0f) | ((q & 15) << 4));
}

}  // namespace

TEST(GgmlTypes, NamesAndGeometry) {
  EXPECT_EQ(ggml_type_name(GgmlType::q4_k), "Q4_K");
  EXPECT_EQ(ggml_type_name(16u), "IQ2_XXS");
  EXPECT_EQ(ggml_type_name(99u), "type 99");
  EXPECT_EQ(ggml_type_from_name("q8_0"), GgmlType::q8_0);
  EXPECT_EQ(ggml_type_from_name("BF16"), GgmlType::bf16);
  EXPECT_THROW(ggml_type_from_name("q2_k"), Error);
  EXPECT_EQ(ggml_row_bytes(GgmlType::q6_k, 512), 420u);
  EXPECT_EQ(ggml_row_bytes(GgmlType::q5_1, 64), 48u);
  EXPECT_THROW(ggml_row_bytes(GgmlType::q4_k, 100), Error);
  for (uint32_t id : {0u, 1u, 2u, 3u, 6u, 7u, 8u, 12u, 13u, 14u, 30u}) EXPECT_TRUE(ggml_type_supported(id)) << id;
  for (uint32_t id : {9u, 10u, 11u, 15u, 16u, 23u, 99u}) EXPECT_FALSE(ggml_type_supported(id)) << id;
  try {
    require_supported_ggml_type(11, "blk.0.ffn_up.weight");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unsupported tensor type Q3_K"), std::string::npos) << e.what();
    EXPECT_EQ(e.code(), ExitCode::unsupported);
  }
}

TEST(GgmlTypes, Q4_1) {
  BlockQ4_1 b{};
  b.d = f32_to_f16(0.5f);
  b.m = f32_to_f16(-2.f);
  for (int j = 0; j < 32; ++j) put_nibble(b.qs, j, (j * 7) % 16);
  auto y = dequant<BlockQ4_1>(GgmlType::q4_1, {b}, 32);
  for (int j = 0; j < 32; ++j) EXPECT_FLOAT_EQ(y[j], 0.5f * ((j * 7) % 16) - 2.f) << j;
}

TEST(GgmlTypes, Q5_0AndQ5_1) {
  BlockQ5_0 b0{};
  BlockQ5_1 b1{};
  b0.d = b1.d = f32_to_f16(0.25f);
  b1.m = f32_to_f16(1.f);
  uint32_t qh = 0;
  for (int j = 0; j < 32; ++j) {
    const int q = (j * 11 + 3) % 32;
    put_nibble(b0.qs, j, q);
    put_nibble(b1.qs, j, q);
    qh |= static_cast<uint32_t>(q >> 4) << j;
  }
  std::memcpy(b0.qh, &qh, 4);
  std::memcpy(b1.qh, &qh, 4);
  auto y0 = dequant<BlockQ5_0>(GgmlType::q5_0, {b0}, 32);
  auto y1 = dequant<BlockQ5_1>(GgmlType::q5_1, {b1}, 32);
  for (int j = 0; j < 32; ++j) {
    const int q = (j * 11 + 3) % 32;
    EXPECT_FLOAT_EQ(y0[j], 0.25f * (q - 16)) << j;
    EXPECT_FLOAT_EQ(y1[j], 0.25f * q + 1.f) << j;
  }
}

namespace {
// K-quant 6-bit scale packing: scales 0-3 and mins 0-3 in the low 6 bits of bytes 0-3 / 4-7;
// scales/mins 4-7 split into a low nibble in bytes 8-11 and 2 high bits on top of bytes 0-7.
void pack_scales(const int* sc, const int* mn, uint8_t* out) {
  std::memset(out, 0, 12);
  for (int j = 0; j < 4; ++j) {
    out[j] = static_cast<uint8_t>(sc[j]);
    out[j + 4] = static_cast<uint8_t>(mn[j]);
  }
  for (int j = 4; j < 8; ++j) {
    out[j + 4] = static_cast<uint8_t>((sc[j] & 15) | ((mn[j] & 15) << 4));
    out[j - 4] |= static_cast<uint8_t>((sc[j] >> 4) << 6);
    out[j] |= static_cast<uint8_t>((mn[j] >> 4) << 6);
  }
}
}  // namespace

TEST(GgmlTypes, Q4_KAndQ5_K) {
  const int sc[8] = {1, 17, 33, 63, 5, 40, 21, 62};
  const int mn[8] = {0, 63, 12, 48, 33, 7, 60, 19};
  BlockQ4_K b4{};
  BlockQ5_K b5{};
  b4.d = b5.d = f32_to_f16(0.125f);
  b4.dmin = b5.dmin = f32_to_f16(0.0625f);
  pack_scales(sc, mn, b4.scales);
  pack_scales(sc, mn, b5.scales);
  // Weight i: sub-block s = i / 32; chunk c = s / 2 holds sub-blocks 2c (low nibbles) and
  // 2c+1 (high nibbles) in qs[32c .. 32c+31]; Q5_K's fifth bit of weight i is bit s of qh[i % 32].
  auto q_of = [](int i) { return (i * 13 + 5) % 32; };
  for (int i = 0; i < 256; ++i) {
    const int s = i / 32, l = i % 32, byte = 32 * (s / 2) + l, shift = (s % 2) * 4;
    b4.qs[byte] |= static_cast<uint8_t>((q_of(i) & 15) << shift);
    b5.qs[byte] |= static_cast<uint8_t>((q_of(i) & 15) << shift);
    b5.qh[l] |= static_cast<uint8_t>((q_of(i) >> 4) << s);
  }
  auto y4 = dequant<BlockQ4_K>(GgmlType::q4_k, {b4}, 256);
  auto y5 = dequant<BlockQ5_K>(GgmlType::q5_k, {b5}, 256);
  for (int i = 0; i < 256; ++i) {
    const int s = i / 32;
    EXPECT_FLOAT_EQ(y4[i], 0.125f * sc[s] * (q_of(i) & 15) - 0.0625f * mn[s]) << i;
    EXPECT_FLOAT_EQ(y5[i], 0.125f * sc[s] * q_of(i) - 0.0625f * mn[s]) << i;
  }
}

TEST(GgmlTypes, Q6_K) {
  BlockQ6_K b{};
  b.d = f32_to_f16(0.01f);
  for (int k = 0; k < 16; ++k) b.scales[k] = static_cast<int8_t>(k * 9 - 70);
  // Weight i: half h = i / 128, r = i % 128, l = r % 32, quarter g = r / 32. Low 4 bits: ql[64h + l
  // + 32*(g%2)], low nibble for g < 2 else high nibble; high 2 bits: qh[32h + l] bits 2g..2g+1;
  // scale: scales[8h + r / 16].
  auto q_of = [](int i) { return (i * 29 + 7) % 64; };
  for (int i = 0; i < 256; ++i) {
    const int h = i / 128, r = i % 128, l = r % 32, g = r / 32;
    b.ql[64 * h + l + 32 * (g % 2)] |= static_cast<uint8_t>((q_of(i) & 15) << (g < 2 ? 0 : 4));
    b.qh[32 * h + l] |= static_cast<uint8_t>((q_of(i) >> 4) << (2 * g));
  }
  auto y = dequant<BlockQ6_K>(GgmlType::q6_k, {b}, 256);
  const float d = f16_to_f32(b.d);
  for (int i = 0; i < 256; ++i) {
    const int h = i / 128, r = i % 128;
    EXPECT_FLOAT_EQ(y[i], d * b.scales[8 * h + r / 16] * (q_of(i) - 32)) << i;
  }
}

TEST(GgmlTypes, FloatTypesRoundTripExactly) {
  auto x = random_values(64, 1);
  for (GgmlType t : {GgmlType::f32, GgmlType::f16, GgmlType::bf16}) {
    auto bytes = quantize_ggml(t, x.data(), 64);
    std::vector<float> y(64);
    dequantize_ggml(t, bytes.data(), y.data(), 64);
    for (int i = 0; i < 64; ++i) {
      const float expect = t == GgmlType::f32 ? x[i]
                           : t == GgmlType::f16 ? f16_to_f32(f32_to_f16(x[i]))
                                                : bf16_to_f32(f32_to_bf16(x[i]));
      EXPECT_EQ(y[i], expect);
    }
  }
}

// Block quantizers: the error of each weight is bounded by its block's step size.
TEST(GgmlTypes, QuantizersStayWithinTheirStep) {
  const int64_t n = 4096;
  auto x = random_values(n, 7, 0.05f);
  for (GgmlType t : {GgmlType::q8_0, GgmlType::q4_0, GgmlType::q4_k}) {
    auto bytes = quantize_ggml(t, x.data(), n);
    std::vector<float> y(n);
    dequantize_ggml(t, bytes.data(), y.data(), n);
    const int64_t block = t == GgmlType::q4_k ? 32 : 32;  // Q4_K: judge per 32-weight sub-block
    for (int64_t b = 0; b < n / block; ++b) {
      float lo = 0, hi = 0, amax = 0;
      for (int64_t j = 0; j < block; ++j) {
        lo = std::min(lo, x[b * block + j]);
        hi = std::max(hi, x[b * block + j]);
        amax = std::max(amax, std::fabs(x[b * block + j]));
      }
      // Q8_0: step d = amax/127; error <= d/2 + 127 * (f16 rounding of d, <= d * 2^-11) < 0.57 d. Q4_0: step amax/8;
      // the side opposite the largest magnitude clips at +7 steps: error <= 1 step. Q4_K: step
      // (hi-lo)/15 before the 6-bit scale rounding, which can add up to half a step at the top.
      const float bound = t == GgmlType::q8_0 ? amax / 127.f * 0.57f
                          : t == GgmlType::q4_0 ? amax / 8.f * 1.01f
                                                : (hi - lo) / 15.f * 1.01f;
      for (int64_t j = 0; j < block; ++j)
        ASSERT_LE(std::fabs(y[b * block + j] - x[b * block + j]), bound + 1e-7f)
            << ggml_type_name(t) << " block " << b << " elem " << j;
    }
  }
}

TEST(GgmlTypes, Q4_KHandlesConstantAndZeroBlocks) {
  std::vector<float> x(256, 0.f);
  for (int i = 128; i < 256; ++i) x[i] = 0.3f;
  auto bytes = quantize_ggml(GgmlType::q4_k, x.data(), 256);
  std::vector<float> y(256);
  dequantize_ggml(GgmlType::q4_k, bytes.data(), y.data(), 256);
  for (int i = 0; i < 256; ++i) EXPECT_NEAR(y[i], x[i], 0.3f / 15) << i;
}
