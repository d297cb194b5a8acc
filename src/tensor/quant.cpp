#include "tensor/quant.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/dtype.h"

namespace gemma4 {

void quantize_q8_0(const float* x, BlockQ8_0* out, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float* xb = x + b * kQK;
    float amax = 0.f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(xb[j]));
    const float d = amax / 127.f;
    const float id = d ? 1.f / d : 0.f;
    out[b].d = f32_to_f16(d);
    for (int j = 0; j < kQK; ++j) out[b].qs[j] = static_cast<int8_t>(std::lround(xb[j] * id));
  }
}

void dequantize_q8_0(const BlockQ8_0* in, float* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float d = f16_to_f32(in[b].d);
    for (int j = 0; j < kQK; ++j) y[b * kQK + j] = d * in[b].qs[j];
  }
}

void quantize_q4_0(const float* x, BlockQ4_0* out, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float* xb = x + b * kQK;
    // The signed value of largest magnitude maps to -8, so the full range [-8, 7] is used.
    float amax = 0.f, max = 0.f;
    for (int j = 0; j < kQK; ++j) {
      if (std::fabs(xb[j]) > amax) {
        amax = std::fabs(xb[j]);
        max = xb[j];
      }
    }
    const float d = max / -8.f;
    const float id = d ? 1.f / d : 0.f;
    out[b].d = f32_to_f16(d);
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = std::min(15, static_cast<int>(xb[j] * id + 8.5f));
      const int q1 = std::min(15, static_cast<int>(xb[j + kQK / 2] * id + 8.5f));
      out[b].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void dequantize_q4_0(const BlockQ4_0* in, float* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float d = f16_to_f32(in[b].d);
    for (int j = 0; j < kQK / 2; ++j) {
      y[b * kQK + j] = d * ((in[b].qs[j] & 0x0f) - 8);
      y[b * kQK + j + kQK / 2] = d * ((in[b].qs[j] >> 4) - 8);
    }
  }
}

void repack_q4_0_to_q4r(const BlockQ4_0* in, uint8_t* out, int64_t cols) {
  uint16_t* scales = reinterpret_cast<uint16_t*>(out + cols / 2);
  for (int64_t g = 0; g < cols / kQ4rGroup; ++g) {
    const BlockQ4_0& even = in[2 * g];     // goes to the low nibbles
    const BlockQ4_0& odd = in[2 * g + 1];  // goes to the high nibbles
    uint8_t* group = out + g * 32;
    for (int j = 0; j < kQK / 2; ++j) {
      // Q4_0 byte j holds elements j (low) and j + 16 (high) of its block.
      group[j] = static_cast<uint8_t>((even.qs[j] & 0x0f) | (odd.qs[j] << 4));
      group[j + 16] = static_cast<uint8_t>((even.qs[j] >> 4) | (odd.qs[j] & 0xf0));
    }
    scales[2 * g] = even.d;
    scales[2 * g + 1] = odd.d;
  }
}

void dequantize_q4r(const uint8_t* row, float* y, int64_t cols) {
  const uint16_t* scales = reinterpret_cast<const uint16_t*>(row + cols / 2);
  for (int64_t b = 0; b < cols / kQK; ++b) {
    const float d = f16_to_f32(scales[b]);
    const uint8_t* group = row + (b / 2) * 32;
    const int shift = (b % 2) * 4;
    for (int j = 0; j < kQK; ++j) y[b * kQK + j] = d * (((group[j] >> shift) & 0x0f) - 8);
  }
}

void interleave_q4_0_to_q4i(const BlockQ4_0* in, uint8_t* out, int64_t cols) {
  const int64_t blocks = cols / kQK;
  for (int64_t b = 0; b < blocks; ++b) {
    uint8_t* dst = out + b * kQ4iBlockBytes;
    uint16_t* scales = reinterpret_cast<uint16_t*>(dst);
    uint8_t* nibbles = dst + kQ4iRows * 2;
    for (int lane = 0; lane < kQ4iRows; ++lane) {
      const BlockQ4_0& blk = in[lane * blocks + b];
      scales[lane] = blk.d;
      // Q4_0 byte i holds elements i (low) and i + 16 (high): exactly Q4I's nibble pairing.
      for (int j = 0; j < 4; ++j)
        for (int i = 0; i < 4; ++i) nibbles[64 * j + 4 * lane + i] = blk.qs[4 * j + i];
    }
  }
}

void dequantize_q4i(const uint8_t* group, int lane, float* y, int64_t cols) {
  for (int64_t b = 0; b < cols / kQK; ++b) {
    const uint8_t* src = group + b * kQ4iBlockBytes;
    const float d = f16_to_f32(reinterpret_cast<const uint16_t*>(src)[lane]);
    const uint8_t* nibbles = src + kQ4iRows * 2;
    for (int j = 0; j < 4; ++j)
      for (int i = 0; i < 4; ++i) {
        const uint8_t v = nibbles[64 * j + 4 * lane + i];
        y[b * kQK + 4 * j + i] = d * ((v & 0x0f) - 8);
        y[b * kQK + 16 + 4 * j + i] = d * ((v >> 4) - 8);
      }
  }
}

void interleave_q8_0_to_q8i(const BlockQ8_0* in, uint8_t* out, int64_t cols) {
  const int64_t blocks = cols / kQK;
  for (int64_t b = 0; b < blocks; ++b) {
    uint8_t* dst = out + b * kQ8iBlockBytes;
    uint16_t* scales = reinterpret_cast<uint16_t*>(dst);
    int8_t* values = reinterpret_cast<int8_t*>(dst + kQ4iRows * 2);
    for (int lane = 0; lane < kQ4iRows; ++lane) {
      const BlockQ8_0& blk = in[lane * blocks + b];
      scales[lane] = blk.d;
      for (int k = 0; k < 8; ++k)
        for (int i = 0; i < 4; ++i) values[64 * k + 4 * lane + i] = blk.qs[4 * k + i];
    }
  }
}

void dequantize_q8i(const uint8_t* group, int lane, float* y, int64_t cols) {
  for (int64_t b = 0; b < cols / kQK; ++b) {
    const uint8_t* src = group + b * kQ8iBlockBytes;
    const float d = f16_to_f32(reinterpret_cast<const uint16_t*>(src)[lane]);
    const int8_t* values = reinterpret_cast<const int8_t*>(src + kQ4iRows * 2);
    for (int k = 0; k < 8; ++k)
      for (int i = 0; i < 4; ++i) y[b * kQK + 4 * k + i] = d * values[64 * k + 4 * lane + i];
  }
}

namespace {

// Q4_0's convention: the signed value of largest magnitude maps to −8, so d = max / −8.
float q4_block_scale(const float* x) {
  float amax = 0.f, max = 0.f;
  for (int j = 0; j < kQK; ++j)
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  return max / -8.f;
}

// Nibbles of one block for scale d (q = round(x/d) + 8, clamped to 0..15), in Q4_0's byte
// order: byte i holds element i (low) and i + 16 (high).
void q4_nibbles(const float* x, float d, uint8_t* qs) {
  const float id = d != 0.f ? 1.f / d : 0.f;
  for (int i = 0; i < kQK / 2; ++i) {
    const auto nibble = [&](float v) {
      return static_cast<uint8_t>(std::min(15, static_cast<int>(v * id + 8.5f)));
    };
    qs[i] = static_cast<uint8_t>(nibble(x[i]) | (nibble(x[i + 16]) << 4));
  }
}

}  // namespace

void quantize_q4s_group(const float* rows, uint8_t* out, int64_t cols) {
  const int64_t blocks = cols / kQK;
  auto* row_scales = reinterpret_cast<float*>(out);
  std::vector<float> d(static_cast<size_t>(blocks));
  for (int lane = 0; lane < kQ4iRows; ++lane) {
    const float* x = rows + lane * cols;
    float dmax = 0.f;
    for (int64_t b = 0; b < blocks; ++b) {
      d[b] = q4_block_scale(x + b * kQK);
      dmax = std::max(dmax, std::fabs(d[b]));
    }
    const float S = dmax / 127.f;
    row_scales[lane] = S;
    for (int64_t b = 0; b < blocks; ++b) {
      uint8_t* block = out + kQ4sHeaderBytes + b * kQ4sBlockBytes;
      const int8_t code = q4s_scale_code(d[b], S);
      reinterpret_cast<int8_t*>(block)[lane] = code;
      uint8_t qs[kQK / 2];
      q4_nibbles(x + b * kQK, S * code, qs);
      uint8_t* nibbles = block + kQ4iRows;
      for (int j = 0; j < 4; ++j)
        for (int i = 0; i < 4; ++i) nibbles[64 * j + 4 * lane + i] = qs[4 * j + i];
    }
  }
}

void dequantize_q4s(const uint8_t* group, int lane, float* y, int64_t cols) {
  const float S = reinterpret_cast<const float*>(group)[lane];
  for (int64_t b = 0; b < cols / kQK; ++b) {
    const uint8_t* block = group + kQ4sHeaderBytes + b * kQ4sBlockBytes;
    const float d = S * reinterpret_cast<const int8_t*>(block)[lane];
    const uint8_t* nibbles = block + kQ4iRows;
    for (int j = 0; j < 4; ++j)
      for (int i = 0; i < 4; ++i) {
        const uint8_t v = nibbles[64 * j + 4 * lane + i];
        y[b * kQK + 4 * j + i] = d * ((v & 0x0f) - 8);
        y[b * kQK + 16 + 4 * j + i] = d * ((v >> 4) - 8);
      }
  }
}

}  // namespace gemma4
