// Scalar kernels: plain C++ for any CPU, and the model of what the SIMD kernels compute
// (same int8 block arithmetic, same float scaling per block).
#include "kernels/matmul_internal.h"
#include "tensor/dtype.h"

namespace gemma4::kernels::detail {
namespace {

void rows_f32(const MatmulJob& job, int64_t r0, int64_t r1) {
  const Weight& w = *job.w;
  for (int64_t r = r0; r < r1; ++r) {
    const float* wr = static_cast<const float*>(w.data) + r * w.cols;
    for (int64_t t = 0; t < job.n; ++t) {
      const float* xt = job.x + t * w.cols;
      float acc = 0.f;
      for (int64_t i = 0; i < w.cols; ++i) acc += wr[i] * xt[i];
      job.y[t * w.rows + r] = acc;
    }
  }
}

void rows_bf16(const MatmulJob& job, int64_t r0, int64_t r1) {
  const Weight& w = *job.w;
  for (int64_t r = r0; r < r1; ++r) {
    const uint16_t* wr = static_cast<const uint16_t*>(w.data) + r * w.cols;
    for (int64_t t = 0; t < job.n; ++t) {
      const float* xt = job.x + t * w.cols;
      float acc = 0.f;
      for (int64_t i = 0; i < w.cols; ++i) acc += bf16_to_f32(wr[i]) * xt[i];
      job.y[t * w.rows + r] = acc;
    }
  }
}

void rows_q8_0(const MatmulJob& job, int64_t r0, int64_t r1) {
  const Weight& w = *job.w;
  const QuantizedActs& xq = *job.xq;
  for (int64_t r = r0; r < r1; ++r) {
    const BlockQ8_0* wr = static_cast<const BlockQ8_0*>(w.data) + r * xq.blocks;
    for (int64_t t = 0; t < job.n; ++t) {
      const int8_t* q = xq.q(t);
      const float* d = xq.d(t);
      float acc = 0.f;
      for (int64_t b = 0; b < xq.blocks; ++b) {
        int32_t dot = 0;
        for (int j = 0; j < kQK; ++j) dot += int32_t{wr[b].qs[j]} * q[b * kQK + j];
        acc += f16_to_f32(wr[b].d) * d[b * 8] * static_cast<float>(dot);
      }
      job.y[t * w.rows + r] = acc;
    }
  }
}

void rows_q4_0(const MatmulJob& job, int64_t r0, int64_t r1) {
  const Weight& w = *job.w;
  const QuantizedActs& xq = *job.xq;
  for (int64_t r = r0; r < r1; ++r) {
    const BlockQ4_0* wr = static_cast<const BlockQ4_0*>(w.data) + r * xq.blocks;
    for (int64_t t = 0; t < job.n; ++t) {
      const int8_t* q = xq.q(t) ;
      const float* d = xq.d(t);
      const int32_t* sum = xq.sum(t);
      float acc = 0.f;
      for (int64_t b = 0; b < xq.blocks; ++b) {
        int32_t dot = 0;
        for (int j = 0; j < kQK / 2; ++j) {
          dot += int32_t{wr[b].qs[j] & 0x0f} * q[b * kQK + j];
          dot += int32_t{wr[b].qs[j] >> 4} * q[b * kQK + j + kQK / 2];
        }
        dot -= 8 * sum[b * 8];
        acc += f16_to_f32(wr[b].d) * d[b * 8] * static_cast<float>(dot);
      }
      job.y[t * w.rows + r] = acc;
    }
  }
}

void rows_q4r(const MatmulJob& job, int64_t r0, int64_t r1) {
  const Weight& w = *job.w;
  const QuantizedActs& xq = *job.xq;
  const int64_t row_bytes = w.row_bytes();
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = static_cast<const uint8_t*>(w.data) + r * row_bytes;
    const uint16_t* scales = reinterpret_cast<const uint16_t*>(row + w.cols / 2);
    for (int64_t t = 0; t < job.n; ++t) {
      const int8_t* q = xq.q(t);
      const float* d = xq.d(t);
      const int32_t* sum = xq.sum(t);
      float acc = 0.f;
      for (int64_t b = 0; b < xq.blocks; ++b) {
        const uint8_t* group = row + (b / 2) * 32;
        const int shift = (b % 2) * 4;
        int32_t dot = 0;
        for (int j = 0; j < kQK; ++j) dot += int32_t{(group[j] >> shift) & 0x0f} * q[b * kQK + j];
        dot -= 8 * sum[b * 8];
        acc += f16_to_f32(scales[b]) * d[b * 8] * static_cast<float>(dot);
      }
      job.y[t * w.rows + r] = acc;
    }
  }
}

// Q4I and Q4S: the same nibbles and integer block dots; Layout says where a block starts, its
// scale for row `lane`, and the row's own scale (1 for Q4I). r0, r1: multiples of 16.
template <class Layout>
void rows_interleaved_q4(const MatmulJob& job, int64_t r0, int64_t r1) {
  const Weight& w = *job.w;
  const QuantizedActs& xq = *job.xq;
  const int64_t group_bytes = kQ4iRows * w.row_bytes();
  for (int64_t g = r0 / kQ4iRows; g < (r1 + kQ4iRows - 1) / kQ4iRows; ++g) {
    const uint8_t* group = static_cast<const uint8_t*>(w.data) + g * group_bytes;
    for (int64_t t = 0; t < job.n; ++t) {
      const int8_t* q = xq.q(t);
      const float* d = xq.d(t);
      const int32_t* sum = xq.sum(t);
      for (int lane = 0; lane < kQ4iRows; ++lane) {
        float acc = 0.f;
        for (int64_t b = 0; b < xq.blocks; ++b) {
          const uint8_t* block = Layout::block(group, b);
          const uint8_t* nibbles = block + Layout::kScaleBytes;
          int32_t dot = 0;
          for (int j = 0; j < 4; ++j)
            for (int i = 0; i < 4; ++i) {
              const uint8_t v = nibbles[64 * j + 4 * lane + i];
              dot += int32_t{v & 0x0f} * q[b * kQK + 4 * j + i] + int32_t{v >> 4} * q[b * kQK + 16 + 4 * j + i];
            }
          dot -= 8 * sum[b * 8];
          acc += Layout::block_scale(block, lane) * d[b * 8] * static_cast<float>(dot);
        }
        job.y[t * w.rows + g * kQ4iRows + lane] = Layout::row_scale(group, lane) * acc;
      }
    }
  }
}

struct Q4iLayout {
  static constexpr int64_t kScaleBytes = kQ4iRows * 2;
  static const uint8_t* block(const uint8_t* group, int64_t b) { return group + b * kQ4iBlockBytes; }
  static float block_scale(const uint8_t* block, int lane) {
    return f16_to_f32(reinterpret_cast<const uint16_t*>(block)[lane]);
  }
  static float row_scale(const uint8_t*, int) { return 1.f; }
};
struct Q4sLayout {
  static constexpr int64_t kScaleBytes = kQ4iRows;
  static const uint8_t* block(const uint8_t* group, int64_t b) { return group + kQ4sHeaderBytes + b * kQ4sBlockBytes; }
  static float block_scale(const uint8_t* block, int lane) {
    return static_cast<float>(reinterpret_cast<const int8_t*>(block)[lane]);
  }
  static float row_scale(const uint8_t* group, int lane) { return reinterpret_cast<const float*>(group)[lane]; }
};

void rows_q4i(const MatmulJob& job, int64_t r0, int64_t r1) { rows_interleaved_q4<Q4iLayout>(job, r0, r1); }
void rows_q4s(const MatmulJob& job, int64_t r0, int64_t r1) { rows_interleaved_q4<Q4sLayout>(job, r0, r1); }

void rows_q8i(const MatmulJob& job, int64_t r0, int64_t r1) {
  const Weight& w = *job.w;
  const QuantizedActs& xq = *job.xq;
  const int64_t group_bytes = kQ4iRows * w.row_bytes();
  for (int64_t g = r0 / kQ4iRows; g < (r1 + kQ4iRows - 1) / kQ4iRows; ++g) {
    const uint8_t* group = static_cast<const uint8_t*>(w.data) + g * group_bytes;
    for (int64_t t = 0; t < job.n; ++t) {
      const int8_t* q = xq.q(t);
      const float* d = xq.d(t);
      for (int lane = 0; lane < kQ4iRows; ++lane) {
        float acc = 0.f;
        for (int64_t b = 0; b < xq.blocks; ++b) {
          const uint8_t* src = group + b * kQ8iBlockBytes;
          const int8_t* values = reinterpret_cast<const int8_t*>(src + kQ4iRows * 2);
          int32_t dot = 0;
          for (int k = 0; k < 8; ++k)
            for (int i = 0; i < 4; ++i) dot += int32_t{values[64 * k + 4 * lane + i]} * q[b * kQK + 4 * k + i];
          acc += f16_to_f32(reinterpret_cast<const uint16_t*>(src)[lane]) * d[b * 8] * static_cast<float>(dot);
        }
        job.y[t * w.rows + g * kQ4iRows + lane] = acc;
      }
    }
  }
}

}  // namespace

const KernelTable& scalar_kernels() {
  static const KernelTable table{rows_f32, rows_bf16, rows_q8_0, rows_q4_0, rows_q4r, rows_q4i, rows_q8i, rows_q4s};
  return table;
}

}  // namespace gemma4::kernels::detail
