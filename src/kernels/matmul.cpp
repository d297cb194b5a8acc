// matmul(): picks the kernel for the weight format and the active ISA, quantizes the
// activations once when the format needs it, and spreads output rows over the threads.
#include "kernels/matmul.h"

#include <algorithm>
#include <cstring>
#include <atomic>
#include <cmath>
#include <memory>

#include "base/error.h"
#include "base/large_buffer.h"
#include "base/thread_pool.h"
#include "kernels/isa.h"
#include "kernels/matmul_internal.h"
#include "kernels/quantize_internal.h"
#include "tensor/dtype.h"

namespace gemma4::kernels {
namespace detail {
namespace {

// nearbyint() for |v| < 2^22 without a libm call: adding 1.5·2^23 leaves no fraction bits,
// so the float addition itself rounds (to nearest, ties to even). Exact IEEE semantics
// (no -ffast-math) keep the compiler from folding the two operations.
inline float round_half_even(float v) {
  constexpr float kMagic = 12582912.f;  // 1.5 * 2^23
  return (v + kMagic) - kMagic;
}

// Fills d1 and the offset sums of token t from d8 / sum8.
void copy_block_once(QuantizedActs& qa, int64_t t) {
  for (int64_t b = 0; b < qa.blocks; ++b) {
    qa.d1[static_cast<size_t>(t * qa.blocks + b)] = qa.d8[static_cast<size_t>((t * qa.blocks + b) * 8)];
    const int32_t sum = qa.sum8[static_cast<size_t>((t * qa.blocks + b) * 8)];
    qa.minus8_sum[static_cast<size_t>(t * qa.blocks + b)] = -8 * sum;
    qa.minus128_sum[static_cast<size_t>(t * qa.blocks + b)] = -128 * sum;
  }
}

}  // namespace

bool reads_lane_copies(WeightFormat f) {
  return f != WeightFormat::q4i && f != WeightFormat::q8i && f != WeightFormat::q4s;
}

void quantize_activations(const float* x, int64_t n, int64_t cols, QuantizedActs& qa, bool lane_copies) {
  qa.n = n;
  qa.cols = cols;
  qa.blocks = cols / kQK;
  qa.q_stride = (cols + 63) / 64 * 64 + 64;
  // Grown, never shrunk: matmul's buffers serve every width in turn (decode alternates 1536-
  // and 6144-column inputs), and each regrowth after a shrink zero-filled the difference:
  // a memset of ~150 KB per layer for 4 rows, serial, before every MLP down projection.
  const auto at_least = [](auto& v, int64_t size) {
    if (static_cast<int64_t>(v.size()) < size) v.resize(static_cast<size_t>(size));
  };
  at_least(qa.qs, n * qa.q_stride);
  at_least(qa.d8, n * qa.blocks * 8);
  at_least(qa.sum8, n * qa.blocks * 8);
  at_least(qa.d1, n * qa.blocks);
  at_least(qa.minus8_sum, n * qa.blocks);
  at_least(qa.minus128_sum, n * qa.blocks);
  const int64_t blocks = qa.blocks;
  const bool avx512 = active_isa() == Isa::avx512;
  auto quantize_token = [&](int64_t t) {
    if (avx512) {
      quantize_activation_row_avx512(x + t * cols, cols, qa.qs.data() + t * qa.q_stride,
                                     lane_copies ? qa.d8.data() + t * blocks * 8 : nullptr,
                                     lane_copies ? qa.sum8.data() + t * blocks * 8 : nullptr, qa.d1.data() + t * blocks,
                                     qa.minus8_sum.data() + t * blocks, qa.minus128_sum.data() + t * blocks);
      return;
    }
    for (int64_t b = 0; b < blocks; ++b) {
      const float* xb = x + t * cols + b * kQK;
      float amax = 0.f;
      for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(xb[j]));
      const float d = amax / 127.f;
      const float id = d != 0.f ? 127.f / amax : 0.f;
      int8_t* q = qa.qs.data() + t * qa.q_stride + b * kQK;
      int32_t sum = 0;
      for (int j = 0; j < kQK; ++j) {
        // |xb[j] * id| <= 127 up to rounding; clamp so an int8 never wraps.
        const float v = std::min(127.f, std::max(-127.f, round_half_even(xb[j] * id)));
        q[j] = static_cast<int8_t>(v);
        sum += q[j];
      }
      for (int k = 0; k < 8; ++k) {
        qa.d8[(t * blocks + b) * 8 + k] = d;
        qa.sum8[(t * blocks + b) * 8 + k] = sum;
      }
    }
    copy_block_once(qa, t);
  };
  if (n * cols >= (1 << 16)) {
    parallel_for(n, quantize_token);
  } else {
    for (int64_t t = 0; t < n; ++t) quantize_token(t);
  }
}

}  // namespace detail

namespace {

const detail::KernelTable& active_kernels() {
  switch (active_isa()) {
    case Isa::avx512: return detail::avx512_kernels();
    case Isa::avx2: return detail::avx2_kernels();
    case Isa::scalar: break;
  }
  return detail::scalar_kernels();
}

detail::RowsKernel kernel_for(const detail::KernelTable& k, WeightFormat f) {
  switch (f) {
    case WeightFormat::f32: return k.f32;
    case WeightFormat::bf16: return k.bf16;
    case WeightFormat::q8_0: return k.q8_0;
    case WeightFormat::q4_0: return k.q4_0;
    case WeightFormat::q4r: return k.q4r;
    case WeightFormat::q4i: return k.q4i;
    case WeightFormat::q8i: return k.q8i;
    case WeightFormat::q4s: return k.q4s;
    case WeightFormat::f16: return nullptr;  // not a compute format: the reference serves it
  }
  return nullptr;
}

std::atomic<int> g_bf16_mode{static_cast<int>(Bf16Mode::exact)};

// Below this many multiply-adds one thread is faster than waking the others.
constexpr int64_t kMinParallelWork = 1 << 15;

}  // namespace

void set_bf16_mode(Bf16Mode mode) { g_bf16_mode.store(static_cast<int>(mode)); }
Bf16Mode bf16_mode() { return static_cast<Bf16Mode>(g_bf16_mode.load()); }

namespace {

// How a weight meets the activations: the kernel, and which form of x it reads.
struct Plan {
  detail::RowsKernel kernel = nullptr;  // null: the reference
  bool quantized_x = false;             // int8 blocks (block formats)
  bool bf16_x = false;                  // rounded to bf16 (Bf16Mode::fast)
};

Plan plan_for(const Weight& w, int64_t n) {
  check(!w.empty(), "matmul: weight " + w.name + " has no data", ExitCode::failure);
  const detail::KernelTable& kernels = active_kernels();
  Plan p;
  p.kernel = kernel_for(kernels, w.format);
  if (w.format == WeightFormat::bf16 && kernels.bf16_dot && n >= kBf16FastMinTokens && bf16_mode() == Bf16Mode::fast) {
    p.kernel = kernels.bf16_dot;
    p.bf16_x = true;
  }
  if (p.kernel && is_block_quantized(w.format)) {
    check(weight_format_fits(w.format, w.rows, w.cols),
          "matmul: " + w.name + " has a shape " + weight_format_name(w.format) + " cannot hold", ExitCode::failure);
    p.quantized_x = true;
  }
  return p;
}

}  // namespace

void matmul(const Weight& w, const float* x, int64_t n, float* y) {
  if (w.rows == 0) return;
  const MatmulTarget target{&w, y};
  matmul_shared_input(x, n, &target, 1);
}

void matmul_shared_input(const float* x, int64_t n, const MatmulTarget* targets, int count) {
  if (n <= 0 || count <= 0) return;
  std::vector<Plan> plans;
  plans.reserve(static_cast<size_t>(count));
  int64_t work = 0;
  for (int i = 0; i < count; ++i) {
    const Weight& w = *targets[i].w;
    check(w.cols == targets[0].w->cols, "matmul: " + w.name + " does not take the same input width as " +
                                            targets[0].w->name, ExitCode::failure);
    plans.push_back(plan_for(w, n));
    const Plan& p = plans.back();
    // One pass needs one form of x: otherwise (or for the reference path) one call per weight.
    if (count > 1 && (!p.kernel || p.quantized_x != plans[0].quantized_x || p.bf16_x != plans[0].bf16_x)) {
      for (int j = 0; j < count; ++j) matmul_shared_input(x, n, targets + j, 1);
      return;
    }
    work += w.rows * w.cols * n;
  }
  if (!plans[0].kernel) {
    matmul_reference(*targets[0].w, x, n, targets[0].y);
    return;
  }
  // Reused per thread: decode calls matmul hundreds of times per token.
  thread_local detail::QuantizedActs xq;
  thread_local std::vector<uint16_t> xb;
  const int64_t cols = targets[0].w->cols;
  if (plans[0].quantized_x) {
    bool lane_copies = false;
    for (int i = 0; i < count; ++i) lane_copies = lane_copies || detail::reads_lane_copies(targets[i].w->format);
    detail::quantize_activations(x, n, cols, xq, lane_copies);
  }
  if (plans[0].bf16_x) {
    if (xb.size() < static_cast<size_t>(n * cols)) xb.resize(static_cast<size_t>(n * cols));  // as quantize_activations
    for (int64_t i = 0; i < n * cols; ++i) xb[static_cast<size_t>(i)] = f32_to_bf16(x[i]);
  }
  // Taken here: inside the pool's threads, xq and xb would name those threads' own copies.
  const detail::QuantizedActs* quantized = &xq;
  const uint16_t* rounded = xb.data();
  auto job_of = [=](int i) { return detail::MatmulJob{targets[i].w, x, quantized, rounded, n, targets[i].y}; };
  if (work < kMinParallelWork) {
    for (int i = 0; i < count; ++i) plans[i].kernel(job_of(i), 0, targets[i].w->rows);
    return;
  }
  if (count == 1) {
    const detail::MatmulJob job = job_of(0);
    parallel_ranges_tapering(targets[0].w->rows, detail::kRowTile,
                             [&](int64_t r0, int64_t r1) { plans[0].kernel(job, r0, r1); });
    return;
  }
  // All weights' rows in one parallel pass (one wake-up of the pool instead of `count`):
  // virtual rows [offset_i, offset_i + rows_i) belong to target i; ranges are cut at the
  // boundaries, which are multiples of the row tile where the kernels need it.
  std::vector<int64_t> offsets(static_cast<size_t>(count) + 1, 0);
  for (int i = 0; i < count; ++i) {
    const int64_t rows = targets[i].w->rows;
    offsets[i + 1] = offsets[i] + (rows + detail::kRowTile - 1) / detail::kRowTile * detail::kRowTile;
  }
  parallel_ranges_tapering(offsets[count], detail::kRowTile, [&](int64_t v0, int64_t v1) {
    for (int i = 0; i < count; ++i) {
      const int64_t r0 = std::max(v0, offsets[i]) - offsets[i];
      const int64_t r1 = std::min({v1, offsets[i + 1], offsets[i] + targets[i].w->rows}) - offsets[i];
      if (r0 < r1) plans[i].kernel(job_of(i), r0, r1);
    }
  });
}

WeightFormat runtime_format(WeightFormat requested, int64_t rows, int64_t cols) {
  const bool avx512 = active_isa() == Isa::avx512;
  switch (requested) {
    case WeightFormat::q4_0:
      // Quantizing from floats: the leaner Q4S where its kernel runs.
      if (avx512 && weight_format_fits(WeightFormat::q4s, rows, cols)) return WeightFormat::q4s;
      return repacked_format(WeightFormat::q4_0, rows, cols);
    case WeightFormat::q4r:
    case WeightFormat::q4i:
    case WeightFormat::q8_0:
    case WeightFormat::q8i: return repacked_format(requested, rows, cols);
    default: return requested;
  }
}

WeightFormat repacked_format(WeightFormat stored, int64_t rows, int64_t cols) {
  const bool avx512 = active_isa() == Isa::avx512;
  const auto fits = [&](WeightFormat f) { return weight_format_fits(f, rows, cols); };
  switch (stored) {
    case WeightFormat::q4_0:
    case WeightFormat::q4r:
    case WeightFormat::q4i:
      if (avx512 && fits(WeightFormat::q4i)) return WeightFormat::q4i;
      if (fits(WeightFormat::q4r)) return WeightFormat::q4r;
      return fits(WeightFormat::q4_0) ? WeightFormat::q4_0 : WeightFormat::bf16;
    case WeightFormat::q8_0:
    case WeightFormat::q8i:
      if (avx512 && fits(WeightFormat::q8i)) return WeightFormat::q8i;
      return fits(WeightFormat::q8_0) ? WeightFormat::q8_0 : WeightFormat::bf16;
    default: return stored;
  }
}

void dequantize_row(const Weight& w, int64_t row, float* out) {
  // Not check(): its message would be built on every call (an encoder looks up thousands of rows).
  if (row < 0 || row >= w.rows) throw Error("dequantize_row: row out of range in " + w.name, ExitCode::failure);
  dequantize_row_reference(w, row, out);
}

namespace {

// The GGML block format a runtime layout holds the numbers of.
WeightFormat blocks_format_of(WeightFormat f) {
  switch (f) {
    case WeightFormat::q4r:
    case WeightFormat::q4i:
    case WeightFormat::q4s: return WeightFormat::q4_0;
    case WeightFormat::q8i: return WeightFormat::q8_0;
    default: return f;
  }
}

// Row r of w (float formats, or already in `blocks` = q8_0 / q4_0) as `blocks` into out.
void quantize_row(const Weight& w, int64_t r, WeightFormat blocks, void* out, std::vector<float>& scratch) {
  const int64_t row_bytes = weight_row_bytes(blocks, w.cols);
  if (w.format == blocks) {
    std::memcpy(out, static_cast<const uint8_t*>(w.data) + r * row_bytes, static_cast<size_t>(row_bytes));
    return;
  }
  // bf16 -> blocks (loading a checkpoint) has a SIMD path; the rest goes through floats.
  if (w.format == WeightFormat::bf16 && active_isa() == Isa::avx512 &&
      detail::quantize_bf16_row_avx512(static_cast<const uint16_t*>(w.data) + r * w.cols, w.cols, blocks, out))
    return;
  scratch.resize(static_cast<size_t>(w.cols));
  dequantize_row_reference(w, r, scratch.data());
  if (blocks == WeightFormat::q8_0) quantize_q8_0(scratch.data(), static_cast<BlockQ8_0*>(out), w.cols);
  if (blocks == WeightFormat::q4_0) quantize_q4_0(scratch.data(), static_cast<BlockQ4_0*>(out), w.cols);
}

// Writes row r (or, for interleaved layouts, the 16-row group starting at r) of `target`.
void convert_rows(const Weight& w, int64_t r, WeightFormat target, uint8_t* out, std::vector<float>& scratch,
                  std::vector<uint8_t>& blocks) {
  const WeightFormat blocks_format = blocks_format_of(target);
  const int64_t block_row_bytes = weight_row_bytes(blocks_format, w.cols);
  switch (target) {
    case WeightFormat::f32:
    case WeightFormat::bf16:
    case WeightFormat::f16: {
      scratch.resize(static_cast<size_t>(w.cols));
      dequantize_row_reference(w, r, scratch.data());
      for (int64_t i = 0; i < w.cols; ++i) {
        if (target == WeightFormat::f32) reinterpret_cast<float*>(out)[i] = scratch[i];
        if (target == WeightFormat::bf16) reinterpret_cast<uint16_t*>(out)[i] = f32_to_bf16(scratch[i]);
        if (target == WeightFormat::f16) reinterpret_cast<uint16_t*>(out)[i] = f32_to_f16(scratch[i]);
      }
      return;
    }
    case WeightFormat::q8_0:
    case WeightFormat::q4_0: quantize_row(w, r, target, out, scratch); return;
    case WeightFormat::q4r:
      blocks.resize(static_cast<size_t>(block_row_bytes));
      quantize_row(w, r, blocks_format, blocks.data(), scratch);
      repack_q4_0_to_q4r(reinterpret_cast<const BlockQ4_0*>(blocks.data()), out, w.cols);
      return;
    case WeightFormat::q4i:
    case WeightFormat::q8i:
      blocks.resize(static_cast<size_t>(kQ4iRows * block_row_bytes));
      for (int lane = 0; lane < kQ4iRows; ++lane)
        quantize_row(w, r + lane, blocks_format, blocks.data() + lane * block_row_bytes, scratch);
      if (target == WeightFormat::q4i) interleave_q4_0_to_q4i(reinterpret_cast<const BlockQ4_0*>(blocks.data()), out, w.cols);
      if (target == WeightFormat::q8i) interleave_q8_0_to_q8i(reinterpret_cast<const BlockQ8_0*>(blocks.data()), out, w.cols);
      return;
    case WeightFormat::q4s:  // from the float rows: its scales are chosen with the nibbles
      if (w.format == WeightFormat::bf16 && active_isa() == Isa::avx512) {
        detail::quantize_bf16_group_q4s_avx512(static_cast<const uint16_t*>(w.data) + r * w.cols, w.cols, out);
        return;
      }
      scratch.resize(static_cast<size_t>(kQ4iRows * w.cols));
      for (int lane = 0; lane < kQ4iRows; ++lane) dequantize_row_reference(w, r + lane, scratch.data() + lane * w.cols);
      quantize_q4s_group(scratch.data(), out, w.cols);
      return;
  }
}

}  // namespace

Weight convert_weight(const Weight& w, WeightFormat target) {
  check(!w.empty(), "convert_weight: weight " + w.name + " has no data", ExitCode::failure);
  if (w.format == target) return w;
  check(!is_block_quantized(w.format) ||
            (w.format == WeightFormat::q4_0 && (target == WeightFormat::q4r || target == WeightFormat::q4i)) ||
            (w.format == WeightFormat::q8_0 && target == WeightFormat::q8i),
        std::string("convert_weight: cannot convert from ") + weight_format_name(w.format) + " to " +
            weight_format_name(target) + " (" + w.name + ")",
        ExitCode::unsupported);
  const int64_t multiple = weight_col_multiple(target);
  check(w.cols % multiple == 0,
        "convert_weight: " + w.name + " has " + std::to_string(w.cols) + " columns, not a multiple of " +
            std::to_string(multiple) + " as " + weight_format_name(target) + " needs",
        ExitCode::unsupported);
  check(w.rows % weight_row_multiple(target) == 0,
        "convert_weight: " + w.name + " has " + std::to_string(w.rows) + " rows, not a multiple of " +
            std::to_string(weight_row_multiple(target)) + " as " + weight_format_name(target) + " needs",
        ExitCode::unsupported);
  const int64_t row_bytes = weight_row_bytes(target, w.cols);
  const std::shared_ptr<uint8_t> storage = allocate_large_buffer(static_cast<size_t>(w.rows * row_bytes));
  uint8_t* dst = storage.get();
  // Interleaved layouts are written a 16-row group at a time.
  const int64_t step = weight_row_multiple(target);
  parallel_ranges(w.rows / step, 1, [&](int64_t u0, int64_t u1) {
    std::vector<float> scratch;
    std::vector<uint8_t> blocks;
    for (int64_t u = u0; u < u1; ++u) convert_rows(w, u * step, target, dst + u * step * row_bytes, scratch, blocks);
  });
  Weight out;
  out.format = target;
  out.rows = w.rows;
  out.cols = w.cols;
  out.data = dst;
  out.owner = std::shared_ptr<const void>(storage, storage.get());
  out.name = w.name;
  return out;
}

}  // namespace gemma4::kernels
