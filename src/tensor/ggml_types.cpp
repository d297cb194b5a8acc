#include "tensor/ggml_types.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include "base/error.h"
#include "tensor/dtype.h"
#include "tensor/quant.h"

namespace gemma4 {

namespace {

struct TypeInfo {
  uint32_t id;
  const char* name;
  int64_t block_elems;  // 0: we cannot read this type
  size_t block_bytes;
};

// Every GGML type id up to 41, so errors can name types we do not read.
constexpr TypeInfo kTypes[] = {
    {0, "F32", 1, 4},       {1, "F16", 1, 2},       {2, "Q4_0", 32, 18},    {3, "Q4_1", 32, 20},
    {6, "Q5_0", 32, 22},    {7, "Q5_1", 32, 24},    {8, "Q8_0", 32, 34},    {9, "Q8_1", 0, 0},
    {10, "Q2_K", 0, 0},     {11, "Q3_K", 0, 0},     {12, "Q4_K", 256, 144}, {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210}, {15, "Q8_K", 0, 0},     {16, "IQ2_XXS", 0, 0},  {17, "IQ2_XS", 0, 0},
    {18, "IQ3_XXS", 0, 0},  {19, "IQ1_S", 0, 0},    {20, "IQ4_NL", 0, 0},   {21, "IQ3_S", 0, 0},
    {22, "IQ2_S", 0, 0},    {23, "IQ4_XS", 0, 0},   {24, "I8", 0, 0},       {25, "I16", 0, 0},
    {26, "I32", 0, 0},      {27, "I64", 0, 0},      {28, "F64", 0, 0},      {29, "IQ1_M", 0, 0},
    {30, "BF16", 1, 2},     {34, "TQ1_0", 0, 0},    {35, "TQ2_0", 0, 0},    {39, "MXFP4", 0, 0},
    {40, "NVFP4", 0, 0},
};

const TypeInfo* find_type(uint32_t id) {
  for (const auto& t : kTypes)
    if (t.id == id) return &t;
  return nullptr;
}

const TypeInfo& supported_type(GgmlType t) {
  const TypeInfo* info = find_type(static_cast<uint32_t>(t));
  if (!info || info->block_elems == 0)
    throw Error("unsupported tensor type " + ggml_type_name(t), ExitCode::unsupported);
  return *info;
}

float f16(uint16_t h) { return f16_to_f32(h); }

// ---- dequantization, one block at a time -------------------------------------------

void dequant_q4_1(const BlockQ4_1& b, float* y) {
  const float d = f16(b.d), m = f16(b.m);
  for (int j = 0; j < 16; ++j) {
    y[j] = d * (b.qs[j] & 0x0f) + m;
    y[j + 16] = d * (b.qs[j] >> 4) + m;
  }
}

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Q5_0 / Q5_1: element j takes its fifth bit from bit j of qh (elements 0..31).
void dequant_q5(const uint8_t* qh_bytes, const uint8_t* qs, float d, float m, int offset, float* y) {
  const uint32_t qh = load_u32(qh_bytes);
  for (int j = 0; j < 16; ++j) {
    const int lo = (qs[j] & 0x0f) | (((qh >> j) & 1) << 4);
    const int hi = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
    y[j] = d * (lo - offset) + m;
    y[j + 16] = d * (hi - offset) + m;
  }
}

void dequant_q4_k(const BlockQ4_K& b, float* y) {
  const float d = f16(b.d), dmin = f16(b.dmin);
  const uint8_t* q = b.qs;
  // Each 64-weight chunk: 32 bytes, low nibbles = sub-block 2c, high nibbles = sub-block 2c+1.
  for (int c = 0; c < 4; ++c, q += 32, y += 64) {
    uint8_t sc0, m0, sc1, m1;
    unpack_k_scale_min(b.scales, 2 * c, &sc0, &m0);
    unpack_k_scale_min(b.scales, 2 * c + 1, &sc1, &m1);
    for (int l = 0; l < 32; ++l) y[l] = d * sc0 * (q[l] & 0x0f) - dmin * m0;
    for (int l = 0; l < 32; ++l) y[l + 32] = d * sc1 * (q[l] >> 4) - dmin * m1;
  }
}

void dequant_q5_k(const BlockQ5_K& b, float* y) {
  const float d = f16(b.d), dmin = f16(b.dmin);
  const uint8_t* q = b.qs;
  for (int c = 0; c < 4; ++c, q += 32, y += 64) {
    uint8_t sc0, m0, sc1, m1;
    unpack_k_scale_min(b.scales, 2 * c, &sc0, &m0);
    unpack_k_scale_min(b.scales, 2 * c + 1, &sc1, &m1);
    // qh bit 2c holds the fifth bit of sub-block 2c, bit 2c+1 that of sub-block 2c+1.
    for (int l = 0; l < 32; ++l) {
      const int hi0 = (b.qh[l] >> (2 * c)) & 1, hi1 = (b.qh[l] >> (2 * c + 1)) & 1;
      y[l] = d * sc0 * ((q[l] & 0x0f) + 16 * hi0) - dmin * m0;
      y[l + 32] = d * sc1 * ((q[l] >> 4) + 16 * hi1) - dmin * m1;
    }
  }
}

void dequant_q6_k(const BlockQ6_K& b, float* y) {
  const float d = f16(b.d);
  const uint8_t* ql = b.ql;
  const uint8_t* qh = b.qh;
  const int8_t* sc = b.scales;
  // Two halves of 128 weights; each uses 64 bytes of ql, 32 of qh and 8 scales.
  for (int half = 0; half < 2; ++half, ql += 64, qh += 32, sc += 8, y += 128) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * sc[is + 0] * q1;
      y[l + 32] = d * sc[is + 2] * q2;
      y[l + 64] = d * sc[is + 4] * q3;
      y[l + 96] = d * sc[is + 6] * q4;
    }
  }
}

template <typename Block, typename Fn>
void for_blocks(const void* src, float* dst, int64_t n, int64_t block_elems, Fn fn) {
  const auto* blocks = static_cast<const Block*>(src);
  for (int64_t b = 0; b < n / block_elems; ++b) {
    Block blk;
    std::memcpy(&blk, blocks + b, sizeof(Block));  // GGUF data is only 32-byte aligned as a whole
    fn(blk, dst + b * block_elems);
  }
}

// ---- quantization -------------------------------------------------------------------

// Packs 8 six-bit scales and mins as GGML's Q4_K/Q5_K do (inverse of unpack_k_scale_min).
void pack_k_scale_min(const uint8_t* sc, const uint8_t* mn, uint8_t* out) {
  std::memset(out, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      out[j] = sc[j];
      out[j + 4] = mn[j];
    } else {
      out[j + 4] = static_cast<uint8_t>((sc[j] & 0x0f) | ((mn[j] & 0x0f) << 4));
      out[j - 4] |= static_cast<uint8_t>((sc[j] >> 4) << 6);
      out[j] |= static_cast<uint8_t>((mn[j] >> 4) << 6);
    }
  }
}

// A simple asymmetric Q4_K quantizer: each 32-weight sub-block spans [min(0, lo), hi] in 15
// steps; the 8 step sizes and offsets are then stored as 6-bit multiples of two f16 scales.
void quantize_q4_k_block(const float* x, BlockQ4_K* out) {
  float step[8], offset[8];
  float max_step = 0.f, max_offset = 0.f;
  for (int s = 0; s < 8; ++s) {
    float lo = 0.f, hi = -INFINITY;
    for (int l = 0; l < 32; ++l) {
      lo = std::min(lo, x[32 * s + l]);
      hi = std::max(hi, x[32 * s + l]);
    }
    step[s] = std::max(0.f, hi - lo) / 15.f;
    offset[s] = -lo;
    max_step = std::max(max_step, step[s]);
    max_offset = std::max(max_offset, offset[s]);
  }
  out->d = f32_to_f16(max_step / 63.f);
  out->dmin = f32_to_f16(max_offset / 63.f);
  const float d = f16(out->d), dmin = f16(out->dmin);
  uint8_t ls[8], lm[8];
  for (int s = 0; s < 8; ++s) {
    ls[s] = static_cast<uint8_t>(d > 0 ? std::clamp<long>(std::lround(step[s] / d), 0, 63) : 0);
    // Round the offset up so the sub-block's minimum stays representable.
    lm[s] = static_cast<uint8_t>(dmin > 0 ? std::clamp<long>(std::lround(std::ceil(offset[s] / dmin)), 0, 63) : 0);
  }
  pack_k_scale_min(ls, lm, out->scales);
  uint8_t q[kQK_K];
  for (int s = 0; s < 8; ++s) {
    const float ds = d * ls[s], ms = dmin * lm[s];
    for (int l = 0; l < 32; ++l) {
      const float v = ds > 0 ? (x[32 * s + l] + ms) / ds : 0.f;
      q[32 * s + l] = static_cast<uint8_t>(std::clamp<long>(std::lround(v), 0, 15));
    }
  }
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l)
      out->qs[32 * c + l] = static_cast<uint8_t>(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
}

}  // namespace

void unpack_k_scale_min(const uint8_t* q, int j, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

std::string ggml_type_name(uint32_t id) {
  const TypeInfo* info = find_type(id);
  return info ? info->name : "type " + std::to_string(id);
}
std::string ggml_type_name(GgmlType t) { return ggml_type_name(static_cast<uint32_t>(t)); }

GgmlType ggml_type_from_name(const std::string& name) {
  std::string upper = name;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const auto& t : kTypes)
    if (upper == t.name && t.block_elems) return static_cast<GgmlType>(t.id);
  throw Error("unsupported tensor type " + name, ExitCode::unsupported);
}

bool ggml_type_supported(uint32_t id) {
  const TypeInfo* info = find_type(id);
  return info && info->block_elems > 0;
}

void require_supported_ggml_type(uint32_t id, const std::string& tensor_name) {
  if (!ggml_type_supported(id))
    throw Error("unsupported tensor type " + ggml_type_name(id) + " (tensor '" + tensor_name +
                    "'); supported: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K",
                ExitCode::unsupported);
}

int64_t ggml_block_elems(GgmlType t) { return supported_type(t).block_elems; }
size_t ggml_block_bytes(GgmlType t) { return supported_type(t).block_bytes; }

size_t ggml_row_bytes(GgmlType t, int64_t n) {
  const TypeInfo& info = supported_type(t);
  check(n >= 0 && n % info.block_elems == 0,
        "a row of " + std::to_string(n) + " elements is not a whole number of " + info.name + " blocks (" +
            std::to_string(info.block_elems) + ")");
  return static_cast<size_t>(n / info.block_elems) * info.block_bytes;
}

void dequantize_ggml(GgmlType t, const void* src, float* dst, int64_t n) {
  ggml_row_bytes(t, n);  // validates n
  const auto* bytes = static_cast<const uint8_t*>(src);
  switch (t) {
    case GgmlType::f32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return;
    case GgmlType::f16:
    case GgmlType::bf16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, bytes + 2 * i, 2);
        dst[i] = t == GgmlType::f16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
      return;
    case GgmlType::q8_0:
      return for_blocks<BlockQ8_0>(src, dst, n, 32, [](const BlockQ8_0& b, float* y) { dequantize_q8_0(&b, y, 32); });
    case GgmlType::q4_0:
      return for_blocks<BlockQ4_0>(src, dst, n, 32, [](const BlockQ4_0& b, float* y) { dequantize_q4_0(&b, y, 32); });
    case GgmlType::q4_1:
      return for_blocks<BlockQ4_1>(src, dst, n, 32, dequant_q4_1);
    case GgmlType::q5_0:
      return for_blocks<BlockQ5_0>(src, dst, n, 32,
                                   [](const BlockQ5_0& b, float* y) { dequant_q5(b.qh, b.qs, f16(b.d), 0.f, 16, y); });
    case GgmlType::q5_1:
      return for_blocks<BlockQ5_1>(src, dst, n, 32,
                                   [](const BlockQ5_1& b, float* y) { dequant_q5(b.qh, b.qs, f16(b.d), f16(b.m), 0, y); });
    case GgmlType::q4_k:
      return for_blocks<BlockQ4_K>(src, dst, n, kQK_K, dequant_q4_k);
    case GgmlType::q5_k:
      return for_blocks<BlockQ5_K>(src, dst, n, kQK_K, dequant_q5_k);
    case GgmlType::q6_k:
      return for_blocks<BlockQ6_K>(src, dst, n, kQK_K, dequant_q6_k);
    default:
      throw Error("unsupported tensor type " + ggml_type_name(t), ExitCode::unsupported);
  }
}

bool ggml_can_quantize_to(GgmlType t) {
  return t == GgmlType::f32 || t == GgmlType::f16 || t == GgmlType::bf16 || t == GgmlType::q8_0 ||
         t == GgmlType::q4_0 || t == GgmlType::q4_k;
}

std::vector<uint8_t> quantize_ggml(GgmlType t, const float* src, int64_t n) {
  std::vector<uint8_t> out(ggml_row_bytes(t, n));
  switch (t) {
    case GgmlType::f32:
      std::memcpy(out.data(), src, out.size());
      break;
    case GgmlType::f16:
    case GgmlType::bf16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = t == GgmlType::f16 ? f32_to_f16(src[i]) : f32_to_bf16(src[i]);
        std::memcpy(out.data() + 2 * i, &h, 2);
      }
      break;
    case GgmlType::q8_0:
      quantize_q8_0(src, reinterpret_cast<BlockQ8_0*>(out.data()), n);
      break;
    case GgmlType::q4_0:
      quantize_q4_0(src, reinterpret_cast<BlockQ4_0*>(out.data()), n);
      break;
    case GgmlType::q4_k:
      for (int64_t b = 0; b < n / kQK_K; ++b)
        quantize_q4_k_block(src + b * kQK_K, reinterpret_cast<BlockQ4_K*>(out.data()) + b);
      break;
    default:
      throw Error("cannot quantize to " + ggml_type_name(t) + " (supported: f32 f16 bf16 q8_0 q4_0 q4_k)",
                  ExitCode::unsupported);
  }
  return out;
}

}  // namespace gemma4
