// Int8 long attention (attention_long.h): quantization and packing of Q, K, V, the (head,
// query block) tasks on the pool, and the portable loops; the VNNI arithmetic is in
// attention_int8_avx512.cpp. The portable loops do the same integer sums and the same float
// steps (exp() as one polynomial), so both give identical numbers.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "base/error.h"
#include "base/thread_pool.h"
#include "kernels/attention_int8_internal.h"
#include "kernels/attention_long.h"
#include "kernels/isa.h"

namespace gemma4::kernels {
namespace detail {

void quantize_rows_scalar(const float* x, int64_t rows, int64_t x_stride, int64_t n, uint8_t flip, uint8_t* out,
                          int64_t out_stride, float* absmax, int32_t* sums) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * x_stride;
    float m = 0.f;
    for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(row[i]));
    const float inv = m > 0.f ? 127.f / m : 0.f;
    int32_t total = 0;
    for (int64_t i = 0; i < n; ++i) {
      const int q = static_cast<int>(std::clamp(std::nearbyint(row[i] * inv), -127.f, 127.f));
      out[r * out_stride + i] = static_cast<uint8_t>(static_cast<uint8_t>(static_cast<int8_t>(q)) ^ flip);
      total += q;
    }
    absmax[r] = m;
    if (sums) sums[r] = total;
  }
}

void column_absmax_scalar(const float* x, int64_t rows, int64_t cols, int64_t stride, float* absmax) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) absmax[c] = std::max(absmax[c], std::fabs(x[r * stride + c]));
}

void quantize_channels_scalar(const float* x, int64_t n, const float* inv, int8_t* out) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = static_cast<int8_t>(std::clamp(std::nearbyint(x[i] * inv[i]), -127.f, 127.f));
}

void scores_tile_scalar(const uint8_t* qa, int64_t qa_stride, int rows, int64_t hd_quads, const int8_t* kq,
                        const float* k_scale, const int32_t* k_corr, float* s, int64_t s_stride) {
  for (int r = 0; r < rows; ++r) {
    int32_t acc[kAttnPanel] = {};
    const uint8_t* a = qa + r * qa_stride;
    for (int64_t c = 0; c < hd_quads; ++c)
      for (int j = 0; j < kAttnPanel; ++j)
        for (int i = 0; i < 4; ++i) acc[j] += int32_t{a[4 * c + i]} * int32_t{kq[(c * kAttnPanel + j) * 4 + i]};
    for (int j = 0; j < kAttnPanel; ++j)
      s[r * s_stride + j] = static_cast<float>(acc[j] - k_corr[j]) * k_scale[j];
  }
}

// 255 · 2^t for t ≤ 0 as ExpBytesFn defines it (NaN, from -inf − -inf, counts as -127).
float byte_exp2(float t) {
  t = t >= -127.f ? t : -127.f;
  const float n = std::nearbyint(t), f = t - n;
  const float poly = std::fma(std::fma(std::fma(kByteExp2[3], f, kByteExp2[2]), f, kByteExp2[1]), f, kByteExp2[0]);
  return std::ldexp(poly, static_cast<int>(n));
}

int32_t exp_bytes_scalar(const float* s, float q_scale, int64_t keys, int64_t keys_padded, uint8_t* p,
                         uint64_t* nonzero, bool /*sparse*/) {
  float max = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < keys; ++j) max = std::max(max, s[j]);
  const float neg_max = -(max * q_scale);
  std::fill_n(nonzero, key_group_words(keys), uint64_t{0});
  int32_t sum = 0;
  for (int64_t j = 0; j < keys; ++j) {
    p[j] = static_cast<uint8_t>(std::nearbyint(byte_exp2(std::fma(s[j], q_scale, neg_max))));
    sum += p[j];
    if (p[j] != 0) nonzero[j / kKeyGroup / 64] |= uint64_t{1} << (j / kKeyGroup % 64);
  }
  std::fill(p + keys, p + keys_padded, uint8_t{0});
  return sum;
}

// Every key, marked or not: the dense sum the VNNI kernel's skipping must reproduce.
void values_tile_scalar(const uint8_t* p, int rows, int64_t key_quads, const uint64_t* /*groups*/, const int8_t* vq,
                        const float* v_scale, const float* row_factor, float* o, int64_t o_stride, int cols_valid) {
  for (int r = 0; r < rows; ++r) {
    int32_t acc[kAttnPanel] = {};
    const uint8_t* a = p + r * 4 * key_quads;
    for (int64_t c = 0; c < key_quads; ++c)
      for (int d = 0; d < kAttnPanel; ++d)
        for (int i = 0; i < 4; ++i) acc[d] += int32_t{a[4 * c + i]} * int32_t{vq[(c * kAttnPanel + d) * 4 + i]};
    for (int d = 0; d < cols_valid; ++d)
      o[r * o_stride + d] = static_cast<float>(acc[d]) * v_scale[d] * row_factor[r];
  }
}

}  // namespace detail

namespace {

using namespace detail;

constexpr int kTileRows = 12;         // query rows per Q·Kᵀ micro-kernel call (24 accumulators)
constexpr int64_t kQueryBlock = 36;   // query rows per task: scores (36 × keys × 4 B) stay in L2
// vpdpbusd sums without saturation: 255 · 127 per key must not overflow int32.
constexpr int64_t kMaxKeys = std::numeric_limits<int32_t>::max() / (255 * 127);

struct Kernels {
  QuantizeRowsFn quantize_rows;
  QuantizeChannelsFn quantize_channels;
  ColumnAbsmaxFn column_absmax;
  ScoresTileFn scores_tile;
  ExpBytesFn exp_bytes;
  ValuesTileFn values_tile;
};

Kernels kernels_for_isa() {
  if (active_isa() == Isa::avx512)
    return {quantize_rows_avx512, quantize_channels_avx512, column_absmax_avx512, scores_tile_avx512,
            exp_bytes_avx512,    values_tile_avx512};
  return {quantize_rows_scalar, quantize_channels_scalar, column_absmax_scalar, scores_tile_scalar,
          exp_bytes_scalar,    values_tile_scalar};
}

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

int64_t popcount(const uint64_t* words, int64_t count) {
  int64_t n = 0;
  for (int64_t w = 0; w < count; ++w) n += __builtin_popcountll(words[w]);
  return n;
}

// One kv head's keys in panels of 32: kq[(panel · hd_quads + c) · 128 + (j % 32) · 4 + i] is
// quantized k[j][4c + i]; per key its scale and 128 · Σ kq (the unsigned query offset).
struct QuantKeys {
  std::vector<int8_t> q;
  std::vector<float> scale;
  std::vector<int32_t> corr;
};

// One kv head's values, transposed into panels of 32 channels: vq[(panel · key_quads + c) ·
// 128 + (d % 32) · 4 + i] is quantized v[4c + i][d], one scale per channel d.
struct QuantValues {
  std::vector<int8_t> q;
  std::vector<float> scale;
};

// The quantized queries, keys and values of one call.
struct Scratch {
  std::vector<uint8_t> qa;
  std::vector<float> q_scale;
  std::vector<QuantKeys> keys;
  std::vector<QuantValues> values;
};

void quantize_keys(const Kernels& kn, const float* k, int64_t keys, int hd, int64_t stride, int64_t hd_quads,
                   QuantKeys& out) {
  const int64_t panels = round_up(keys, kAttnPanel) / kAttnPanel;
  out.q.assign(static_cast<size_t>(panels * hd_quads * kAttnPanel * 4), 0);
  out.scale.assign(static_cast<size_t>(panels * kAttnPanel), 0.f);
  out.corr.assign(out.scale.size(), 0);
  // A panel's keys at a time: quantized rows (zero-padded to whole quads), then scattered quad
  // by quad into the panel.
  const int64_t row_bytes = hd_quads * 4;
  std::vector<uint8_t> rows(static_cast<size_t>(kAttnPanel * row_bytes), 0);
  std::vector<float> absmax(kAttnPanel);
  std::vector<int32_t> sums(kAttnPanel);
  for (int64_t j0 = 0; j0 < keys; j0 += kAttnPanel) {
    const int64_t count = std::min<int64_t>(kAttnPanel, keys - j0);
    kn.quantize_rows(k + j0 * stride, count, stride, hd, 0, rows.data(), row_bytes, absmax.data(), sums.data());
    int8_t* panel = out.q.data() + (j0 / kAttnPanel) * hd_quads * kAttnPanel * 4;
    for (int64_t j = 0; j < count; ++j) {
      out.scale[j0 + j] = absmax[j] / 127.f;
      out.corr[j0 + j] = 128 * sums[j];
      for (int64_t c = 0; c < hd_quads; ++c)
        std::memcpy(panel + (c * kAttnPanel + j) * 4, rows.data() + j * row_bytes + 4 * c, 4);
    }
  }
}

void quantize_values(const Kernels& kn, const float* v, int64_t keys, int hd, int64_t stride, int64_t key_quads,
                     QuantValues& out) {
  const int64_t panels = round_up(hd, kAttnPanel) / kAttnPanel;
  std::vector<float> absmax(static_cast<size_t>(hd), 0.f), inv(static_cast<size_t>(hd));
  kn.column_absmax(v, keys, hd, stride, absmax.data());
  out.scale.assign(static_cast<size_t>(panels * kAttnPanel), 0.f);
  for (int d = 0; d < hd; ++d) {
    out.scale[d] = absmax[d] / 127.f;
    inv[d] = absmax[d] > 0.f ? 127.f / absmax[d] : 0.f;
  }
  out.q.assign(static_cast<size_t>(panels * key_quads * kAttnPanel * 4), 0);
  // Four keys at a time: channel d's four bytes form one 32-bit word of the panel's quad row.
  std::vector<uint8_t> rows(static_cast<size_t>(4 * hd), 0);
  for (int64_t j0 = 0; j0 < keys; j0 += 4) {
    const int64_t count = std::min<int64_t>(4, keys - j0);
    for (int64_t i = 0; i < 4; ++i) {
      int8_t* row = reinterpret_cast<int8_t*>(rows.data() + i * hd);
      if (i < count)
        kn.quantize_channels(v + (j0 + i) * stride, hd, inv.data(), row);
      else
        std::fill_n(row, hd, int8_t{0});
    }
    int8_t* quad = out.q.data() + (j0 / 4) * kAttnPanel * 4;
    for (int d = 0; d < hd; ++d) {
      const uint32_t word = uint32_t{rows[d]} | uint32_t{rows[hd + d]} << 8 | uint32_t{rows[2 * hd + d]} << 16 |
                            uint32_t{rows[3 * hd + d]} << 24;  // little-endian: key j0 + i in byte i
      std::memcpy(quad + ((d / kAttnPanel) * key_quads * kAttnPanel + d % kAttnPanel) * 4, &word, 4);
    }
  }
}

// The sizes of one call, derived from its shape.
struct Layout {
  int hd = 0, group = 0;
  int64_t hd_quads = 0, q_width = 0;         // a query (or key) row in quads and bytes
  int64_t key_quads = 0, keys_padded = 0;    // a softmax row of bytes, in quads and bytes
  int64_t key_panels = 0, scores_stride = 0; // Q·Kᵀ panels of 32 keys; a row of scores
  int64_t value_panels = 0;                  // P·V panels of 32 value channels
  int64_t group_words = 0, group_count = 0;  // a row's nonzero marks (kKeyGroup)

  explicit Layout(const LongAttentionShape& a)
      : hd(a.head_dim),
        group(a.heads / a.kv_heads),
        hd_quads((a.head_dim + 3) / 4),
        q_width(hd_quads * 4),
        key_quads((a.keys + 3) / 4),
        keys_padded(key_quads * 4),
        key_panels(round_up(a.keys, kAttnPanel) / kAttnPanel),
        scores_stride(key_panels * kAttnPanel),
        value_panels(round_up(a.head_dim, kAttnPanel) / kAttnPanel),
        group_words(key_group_words(a.keys)),
        group_count((a.keys + kKeyGroup - 1) / kKeyGroup) {}
};

// One task's rows: their scores, softmax bytes with nonzero marks and row factors, and the
// marks' unions per sparse tile. Per thread, reused.
struct BlockScratch {
  std::vector<float> scores, row_factor;
  std::vector<uint8_t> p;
  std::vector<uint64_t> nonzero, tile_groups;

  void size_for(const Layout& l, int64_t rows) {
    scores.resize(static_cast<size_t>(rows * l.scores_stride));
    row_factor.resize(static_cast<size_t>(rows));
    p.resize(static_cast<size_t>(rows * l.keys_padded));
    nonzero.resize(static_cast<size_t>(rows * l.group_words));
    tile_groups.resize(static_cast<size_t>(kDenseTileRows / kSparseTileRows * l.group_words));
  }
};

// Scores of `rows` query rows (quantized, qa_stride bytes apart) against every key panel.
void score_rows(const Kernels& kn, const Layout& l, const uint8_t* qa, int64_t qa_stride, int64_t rows,
                const QuantKeys& keys, BlockScratch& b) {
  for (int64_t panel = 0; panel < l.key_panels; ++panel) {
    const int8_t* panel_q = keys.q.data() + panel * l.hd_quads * kAttnPanel * 4;
    for (int64_t t = 0; t < rows; t += kTileRows)
      kn.scores_tile(qa + t * qa_stride, qa_stride, static_cast<int>(std::min<int64_t>(kTileRows, rows - t)), l.hd_quads,
                     panel_q, keys.scale.data() + panel * kAttnPanel, keys.corr.data() + panel * kAttnPanel,
                     b.scores.data() + t * l.scores_stride + panel * kAttnPanel, l.scores_stride);
  }
}

// Softmax bytes, nonzero marks and 1 / Σ bytes of each row; q_scale[r · q_scale_stride] is
// row r's scale. A row whose neighbour above had few nonzero groups is taken as sparse (rows of
// nearby queries look alike): the hint changes the speed, not the bytes.
void softmax_rows(const Kernels& kn, const Layout& l, int64_t keys, const uint8_t* key_valid, const float* q_scale,
                  int64_t q_scale_stride, int64_t rows, BlockScratch& b) {
  int64_t marked_above = l.group_count;
  for (int64_t r = 0; r < rows; ++r) {
    float* s = b.scores.data() + r * l.scores_stride;
    if (key_valid)
      for (int64_t j = 0; j < keys; ++j)
        if (!key_valid[j]) s[j] = -std::numeric_limits<float>::infinity();
    uint64_t* marks = b.nonzero.data() + r * l.group_words;
    const bool sparse = 8 * marked_above < l.group_count;
    const int32_t sum =
        kn.exp_bytes(s, q_scale[r * q_scale_stride], keys, l.keys_padded, b.p.data() + r * l.keys_padded, marks, sparse);
    b.row_factor[r] = 1.f / static_cast<float>(sum);
    marked_above = popcount(marks, l.group_words);
  }
}

// o[r] = Σ_j p[r][j] · v[j] / Σ_j p[r][j] for the block's rows, in blocks of 12 rows: one dense
// tile over every key, or tiles of 4 rows over the groups their marks cover where those cover at
// most kSparseCover of the groups.
void weigh_values(const Kernels& kn, const Layout& l, const QuantValues& values, int64_t rows, BlockScratch& b,
                  float* o, int64_t o_stride) {
  const auto tile = [&](int64_t t, int64_t tile_rows, const uint64_t* groups) {
    for (int64_t panel = 0; panel < l.value_panels; ++panel)
      kn.values_tile(b.p.data() + t * l.keys_padded, static_cast<int>(tile_rows), l.key_quads, groups,
                     values.q.data() + panel * l.key_quads * kAttnPanel * 4, values.scale.data() + panel * kAttnPanel,
                     b.row_factor.data() + t, o + t * o_stride + panel * kAttnPanel, o_stride,
                     static_cast<int>(std::min<int64_t>(kAttnPanel, l.hd - panel * kAttnPanel)));
  };
  for (int64_t t0 = 0; t0 < rows; t0 += kDenseTileRows) {
    const int64_t block_rows = std::min<int64_t>(kDenseTileRows, rows - t0);
    int64_t covered = 0;  // by the marks of each sparse tile, summed over the tiles
    for (int64_t t = t0; t < t0 + block_rows; t += kSparseTileRows) {
      uint64_t* groups = b.tile_groups.data() + (t - t0) / kSparseTileRows * l.group_words;
      std::fill_n(groups, l.group_words, uint64_t{0});
      for (int64_t r = t; r < std::min(t + kSparseTileRows, t0 + block_rows); ++r)
        for (int64_t w = 0; w < l.group_words; ++w) groups[w] |= b.nonzero[r * l.group_words + w];
      covered += popcount(groups, l.group_words);
    }
    const int64_t tiles = (block_rows + kSparseTileRows - 1) / kSparseTileRows;
    if (static_cast<double>(covered) > kSparseCover * static_cast<double>(tiles * l.group_count)) {
      tile(t0, block_rows, nullptr);
      continue;
    }
    for (int64_t t = t0; t < t0 + block_rows; t += kSparseTileRows)
      tile(t, std::min<int64_t>(kSparseTileRows, t0 + block_rows - t),
           b.tile_groups.data() + (t - t0) / kSparseTileRows * l.group_words);
  }
}

}  // namespace

void attention_bidirectional_int8(const LongAttentionShape& a, const float* q, const float* k, const float* v,
                                  const uint8_t* key_valid, float* out) {
  check(a.queries >= 0 && a.keys > 0 && a.heads > 0 && a.kv_heads > 0 && a.head_dim > 0 && a.heads % a.kv_heads == 0,
        "attention: bad shape");
  check(a.q_stride >= int64_t{a.heads} * a.head_dim && a.out_stride >= int64_t{a.heads} * a.head_dim &&
            a.kv_stride >= int64_t{a.kv_heads} * a.head_dim,
        "attention: row strides smaller than the heads they hold");
  if (a.keys > kMaxKeys) return attention_bidirectional(a, q, k, v, key_valid, out);
  if (a.queries == 0) return;
  const Kernels kn = kernels_for_isa();
  const Layout l(a);

  // Queries: unsigned bytes (q + 128) per row and head, scale · absmax / 127 per row and head,
  // times log2 e: the scores come out in base 2, exp(x) = 2^(x · log2 e).
  const float q_factor = a.scale / 127.f * 1.4426950408889634f;
  // Reused from call to call (an encoder calls this once per layer): fresh megabytes cost page
  // faults and zero fills every time. References, so the pool's threads see this thread's copy.
  thread_local Scratch scratch;
  std::vector<uint8_t>& qa = scratch.qa;
  std::vector<float>& q_scale = scratch.q_scale;
  std::vector<QuantKeys>& kq = scratch.keys;
  std::vector<QuantValues>& vq = scratch.values;
  qa.assign(static_cast<size_t>(a.queries * a.heads * l.q_width), 128);
  q_scale.resize(static_cast<size_t>(a.queries * a.heads));
  parallel_ranges(a.queries, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {  // a row's heads side by side: `heads` rows of hd
      const int64_t i = t * a.heads;
      kn.quantize_rows(q + t * a.q_stride, a.heads, l.hd, l.hd, 0x80, qa.data() + i * l.q_width, l.q_width,
                       q_scale.data() + i, nullptr);
      for (int h = 0; h < a.heads; ++h) q_scale[i + h] *= q_factor;
    }
  });
  kq.resize(static_cast<size_t>(a.kv_heads));
  vq.resize(static_cast<size_t>(a.kv_heads));
  parallel_for(2 * a.kv_heads, [&](int64_t task) {
    const int g = static_cast<int>(task / 2);
    if (task % 2 == 0)
      quantize_keys(kn, k + g * l.hd, a.keys, l.hd, a.kv_stride, l.hd_quads, kq[g]);
    else
      quantize_values(kn, v + g * l.hd, a.keys, l.hd, a.kv_stride, l.key_quads, vq[g]);
  });

  const bool any_valid = !key_valid || std::any_of(key_valid, key_valid + a.keys, [](uint8_t f) { return f != 0; });
  const int64_t blocks = (a.queries + kQueryBlock - 1) / kQueryBlock;
  parallel_for(a.heads * blocks, [&](int64_t task) {
    const int h = static_cast<int>(task / blocks);
    const int64_t q0 = (task % blocks) * kQueryBlock, rows = std::min(kQueryBlock, a.queries - q0);
    float* o = out + q0 * a.out_stride + h * l.hd;
    if (!any_valid) {
      for (int64_t r = 0; r < rows; ++r) std::fill_n(o + r * a.out_stride, l.hd, 0.f);
      return;
    }
    thread_local BlockScratch b;
    b.size_for(l, rows);
    const int64_t first = q0 * a.heads + h;  // the block's first (row, head) in qa and q_scale
    score_rows(kn, l, qa.data() + first * l.q_width, a.heads * l.q_width, rows, kq[h / l.group], b);
    softmax_rows(kn, l, a.keys, key_valid, q_scale.data() + first, a.heads, rows, b);
    weigh_values(kn, l, vq[h / l.group], rows, b, o, a.out_stride);
  });
}

}  // namespace gemma4::kernels
