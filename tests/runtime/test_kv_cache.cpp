// KV cache behaviour: chunked prefill and decode equal one long prefill, batching equals
// separate runs, rewinding, and the memory rules (sliding rings, shared layers store nothing).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>

#include "../kernels/kernel_test_util.h"
#include "../model/golden_util.h"
#include "base/error.h"
#include "kernels/matmul.h"
#include "runtime/session.h"

using namespace gemma4;
using namespace gemma4::test;

namespace {

std::vector<int64_t> prompt45() { return golden_i64("text_prefill_45.input_ids"); }

std::vector<float> row(const std::vector<float>& m, int64_t r, int64_t V) {
  return std::vector<float>(m.begin() + r * V, m.begin() + (r + 1) * V);
}

std::vector<float> all_logits(const std::vector<int64_t>& ids) {
  auto d = tiny_decoder();
  KVCache cache = d->new_cache();
  Chunk chunk{&cache, ids, {}};
  return d->forward(std::span<Chunk>(&chunk, 1), LogitsMode::all);
}

std::vector<float> all_logits(const std::vector<int64_t>& ids, KvPrecision precision) {
  auto d = tiny_decoder();
  KVCache cache(d->config(), 64, precision);
  Chunk chunk{&cache, ids, {}};
  return d->forward(std::span<Chunk>(&chunk, 1), LogitsMode::all);
}

// Feeds `ids` in chunks of `chunk_size`, returns the logits of every position.
std::vector<float> chunked_logits(const std::vector<int64_t>& ids, int64_t chunk_size, int64_t slack,
                                  KvPrecision precision = KvPrecision::f32) {
  auto d = tiny_decoder();
  KVCache cache(d->config(), slack, precision);
  std::vector<float> out;
  for (size_t i = 0; i < ids.size(); i += chunk_size) {
    const size_t n = std::min<size_t>(chunk_size, ids.size() - i);
    Chunk chunk{&cache, std::span<const int64_t>(ids.data() + i, n), {}};
    auto l = d->forward(std::span<Chunk>(&chunk, 1), LogitsMode::all);
    out.insert(out.end(), l.begin(), l.end());
  }
  EXPECT_EQ(cache.length(), static_cast<int64_t>(ids.size()));
  return out;
}

}  // namespace

TEST(KVCache, ChunkedPrefillAndDecodeEqualOneLongPrefill) {
  const auto ids = prompt45();
  ASSERT_GT(static_cast<int64_t>(ids.size()), 2 * tiny_decoder()->config().sliding_window);
  const auto want = all_logits(ids);
  for (int64_t chunk : {1, 7, 20}) {
    for (int64_t slack : {0, 64}) {
      SCOPED_TRACE("chunk " + std::to_string(chunk) + " slack " + std::to_string(slack));
      EXPECT_TRUE(all_close(chunked_logits(ids, chunk, slack), want, 1e-4));
    }
  }
}

// An f16 cache: a forward's own rows are rounded to f16 before its queries read them, so a
// token sees the same K/V whether it came from the cache or from its own chunk. Chunks of 1 and
// 2 rows attend row by row (decode's kernel), longer ones in blocks (prefill's kernel), whose
// float32 sums run in another order: a last-bit difference in a K or V value can then round to
// the neighbouring f16 value (2^-11 relative) in a later layer. So chunked and one-shot prefill
// agree to f16 rounding, far inside what the f16 cache itself changes against float32.
TEST(KVCache, F16ChunkedPrefillAndDecodeEqualOneLongPrefill) {
  const auto ids = prompt45();
  const auto want = all_logits(ids, KvPrecision::f16);
  const double f16_effect = test::relative_l2(all_logits(ids, KvPrecision::f32), want);
  for (int64_t chunk : {1, 2, 7, 20}) {
    SCOPED_TRACE("chunk " + std::to_string(chunk));
    const auto got = chunked_logits(ids, chunk, 0, KvPrecision::f16);
    const double difference = test::relative_l2(got, want);
    std::printf("chunk %ld: logits rel. L2 %.2e against one prefill (f16 vs f32 cache: %.2e)\n", long(chunk),
                difference, f16_effect);
    EXPECT_LT(difference, f16_effect / 4);
  }
}

// The float32 reference path keeps float32 K/V (the goldens hold it bit for bit); quantized
// matrices get an f16 cache, which holds half the bytes.
TEST(KVCache, QuantizedModelsGetAnF16CacheOfHalfTheBytes) {
  auto reference = tiny_decoder();
  EXPECT_EQ(reference->new_cache().precision(), KvPrecision::f32);
  LoadOptions q4;
  q4.weights = WeightFormat::q4_0;
  EXPECT_EQ(TextDecoder::load(tiny_dir(), q4)->new_cache().precision(), KvPrecision::f16);

  const auto ids = prompt45();
  KVCache f32(reference->config(), 8, KvPrecision::f32), f16(reference->config(), 8, KvPrecision::f16);
  for (KVCache* c : {&f32, &f16}) {
    Chunk chunk{c, ids, {}};
    reference->forward(std::span<Chunk>(&chunk, 1), LogitsMode::none);
  }
  EXPECT_GT(f16.bytes(), 0u);
  EXPECT_EQ(2 * f16.bytes(), f32.bytes());
}

TEST(KVCache, BatchedChunksEqualSeparateRuns) {
  auto d = tiny_decoder();
  const int64_t V = d->vocab_size();
  const auto ids = prompt45();
  const std::vector<int64_t> a(ids.begin(), ids.begin() + 30), b(ids.begin() + 5, ids.begin() + 13);
  const auto want_a = all_logits(a), want_b = all_logits(b);

  // Prefill both in one call, then decode one token each in one call.
  KVCache ca = d->new_cache(), cb = d->new_cache();
  std::vector<int64_t> pa(a.begin(), a.end() - 1), pb(b.begin(), b.end() - 1);
  std::vector<Chunk> chunks = {{&ca, pa, {}}, {&cb, pb, {}}};
  auto logits = d->forward(chunks, LogitsMode::last);
  ASSERT_EQ(static_cast<int64_t>(logits.size()), 2 * V);
  EXPECT_TRUE(all_close(row(logits, 0, V), row(want_a, pa.size() - 1, V), 1e-4));
  EXPECT_TRUE(all_close(row(logits, 1, V), row(want_b, pb.size() - 1, V), 1e-4));

  const int64_t ta[1] = {a.back()}, tb[1] = {b.back()};
  std::vector<Chunk> step = {{&ca, ta, {}}, {&cb, tb, {}}};
  logits = d->forward(step, LogitsMode::last);
  EXPECT_TRUE(all_close(row(logits, 0, V), row(want_a, a.size() - 1, V), 1e-4));
  EXPECT_TRUE(all_close(row(logits, 1, V), row(want_b, b.size() - 1, V), 1e-4));
}

TEST(KVCache, RejectsTwoChunksOnOneCache) {
  auto d = tiny_decoder();
  KVCache c = d->new_cache();
  const int64_t t[1] = {2};
  std::vector<Chunk> chunks = {{&c, t, {}}, {&c, t, {}}};
  EXPECT_THROW(d->forward(chunks, LogitsMode::last), Error);
}

TEST(KVCache, TruncateThenRefeedGivesTheSameLogits) {
  auto d = tiny_decoder();
  const int64_t V = d->vocab_size();
  const auto ids = prompt45();
  const auto want = all_logits(ids);
  Session s(d, /*sliding_slack=*/64);
  s.prefill(std::span<const int64_t>(ids.data(), 40));
  ASSERT_TRUE(s.rewind(25));
  EXPECT_EQ(s.length(), 25);
  for (size_t i = 25; i < ids.size(); ++i) {
    auto l = s.decode(ids[i]);
    EXPECT_TRUE(all_close(l, row(want, i, V), 1e-4)) << "position " << i;
  }
}

TEST(KVCache, TruncateFailsWhenTheRingDroppedNeededEntries) {
  auto d = tiny_decoder();
  const auto ids = prompt45();
  KVCache c = d->new_cache(/*sliding_slack=*/0);
  Chunk chunk{&c, ids, {}};
  d->forward(std::span<Chunk>(&chunk, 1), LogitsMode::none);
  EXPECT_FALSE(c.truncate(20));  // needs position 5, long gone from a 15-entry ring
  EXPECT_EQ(c.length(), 45);
  EXPECT_FALSE(c.truncate(46));
  EXPECT_TRUE(c.truncate(45));
  KVCache roomy = d->new_cache(/*sliding_slack=*/64);
  Chunk chunk2{&roomy, ids, {}};
  d->forward(std::span<Chunk>(&chunk2, 1), LogitsMode::none);
  EXPECT_TRUE(roomy.truncate(20));
  EXPECT_EQ(roomy.length(), 20);
}

TEST(KVCache, SlidingLayersDoNotGrowAndSharedLayersStoreNothing) {
  auto d = tiny_decoder();
  const TextConfig& cfg = d->config();
  KVCache c = d->new_cache(8);
  int64_t full_row_bytes = 0;
  for (int64_t l = 0; l < cfg.num_layers; ++l) {
    EXPECT_EQ(c.stores(l), !cfg.is_kv_shared(l)) << l;
    if (c.stores(l) && cfg.layer_types[l] == LayerType::full) full_row_bytes += 2 * c.row_size(l) * 4;
  }
  const auto ids = prompt45();
  auto feed = [&](size_t from, size_t to) {
    Chunk chunk{&c, std::span<const int64_t>(ids.data() + from, to - from), {}};
    d->forward(std::span<Chunk>(&chunk, 1), LogitsMode::none);
  };
  feed(0, 25);
  const size_t at25 = c.bytes();
  feed(25, 45);
  EXPECT_EQ(c.bytes() - at25, static_cast<size_t>(20 * full_row_bytes));  // only full layers grew
}

TEST(KVCache, SoftTokensReplaceEmbeddingsAndUsePadForPerLayerInputs) {
  auto d = tiny_decoder();
  const int64_t H = d->config().hidden_size;
  const auto ids = prompt45();
  std::vector<int64_t> a(ids.begin(), ids.begin() + 6);
  // A soft token equal to the scaled embedding of the pad id at a position holding the pad id
  // must give exactly what the pad id itself gives.
  std::vector<float> pad_row(H);
  kernels::dequantize_row(d->weights().embed_tokens, d->config().pad_token_id, pad_row.data());
  for (float& v : pad_row) v *= std::sqrt(static_cast<float>(H));
  std::vector<int64_t> with_pad = a;
  with_pad[3] = d->config().pad_token_id;
  std::vector<int64_t> with_placeholder = a;
  with_placeholder[3] = 1010;  // any id: the soft token replaces it
  KVCache c1 = d->new_cache(), c2 = d->new_cache();
  Chunk plain{&c1, with_pad, {}};
  Chunk soft{&c2, with_placeholder, {{3, pad_row.data()}}};
  auto l1 = d->forward(std::span<Chunk>(&plain, 1), LogitsMode::all);
  auto l2 = d->forward(std::span<Chunk>(&soft, 1), LogitsMode::all);
  EXPECT_TRUE(all_close(l2, l1, 1e-5));
}

// Rows whose logits nobody asked for stop at the first KV-shared layer (nothing after it
// writes K/V): the caches and the logits that are returned must be exactly what running every
// row through every layer gives (LogitsMode::all runs them all).
TEST(KVCache, RowsWithoutLogitsSkipTheSharedLayersExactly) {
  auto d = tiny_decoder();
  const TextConfig& cfg = d->config();
  ASSERT_GT(cfg.num_kv_shared_layers, 0);
  const int64_t V = d->vocab_size();
  const auto ids = prompt45();
  const std::vector<int64_t> a(ids.begin(), ids.begin() + 30), b(ids.begin() + 7, ids.begin() + 12);

  KVCache full_a = d->new_cache(), full_b = d->new_cache();
  std::vector<Chunk> every_row = {{&full_a, a, {}}, {&full_b, b, {}}};
  const auto want = d->forward(every_row, LogitsMode::all);

  KVCache last_a = d->new_cache(), last_b = d->new_cache();
  std::vector<Chunk> last_rows = {{&last_a, a, {}}, {&last_b, b, {}}};
  const auto got = d->forward(last_rows, LogitsMode::last);
  ASSERT_EQ(static_cast<int64_t>(got.size()), 2 * V);
  EXPECT_EQ(row(got, 0, V), row(want, a.size() - 1, V));
  EXPECT_EQ(row(got, 1, V), row(want, a.size() + b.size() - 1, V));

  KVCache none_a = d->new_cache();
  Chunk no_rows{&none_a, a, {}};
  EXPECT_TRUE(d->forward(std::span<Chunk>(&no_rows, 1), LogitsMode::none).empty());

  for (int64_t l = 0; l < cfg.num_layers; ++l) {
    if (!full_a.stores(l)) continue;
    const size_t bytes = full_a.row_size(l) * sizeof(float);
    for (int64_t p = 0; p < static_cast<int64_t>(a.size()); ++p) {
      for (const KVCache* c : {&last_a, &none_a}) {
        EXPECT_EQ(std::memcmp(c->key(l, p), full_a.key(l, p), bytes), 0) << "layer " << l << " position " << p;
        EXPECT_EQ(std::memcmp(c->value(l, p), full_a.value(l, p), bytes), 0) << "layer " << l << " position " << p;
      }
    }
  }
}

// rows / rows_f16 list the same rows as key / value position by position, across the ring's
// wrap of a sliding layer and on a full layer, for both precisions.
TEST(KVCache, RowListsEqualPerPositionRows) {
  auto d = tiny_decoder();
  const TextConfig& cfg = d->config();
  for (KvPrecision precision : {KvPrecision::f32, KvPrecision::f16}) {
    KVCache c(cfg, 3, precision);
    for (int64_t t = 0; t < 3 * cfg.sliding_window; ++t) {  // well past a ring's capacity
      for (int64_t l = 0; l < cfg.num_layers; ++l) {
        if (!c.stores(l)) continue;
        const std::vector<float> row(static_cast<size_t>(c.row_size(l)), static_cast<float>(t));
        c.write(l, row.data(), row.data(), 1);
      }
      c.advance(1);
    }
    for (int64_t l = 0; l < cfg.num_layers; ++l) {
      if (!c.stores(l)) continue;
      SCOPED_TRACE("layer " + std::to_string(l));
      const int64_t first = c.oldest_held(l), count = c.length() - first;
      ASSERT_GT(count, 0);
      if (precision == KvPrecision::f32) {
        std::vector<const float*> k(count), v(count);
        c.rows(l, first, count, k.data(), v.data());
        for (int64_t i = 0; i < count; ++i) {
          EXPECT_EQ(k[i], c.key(l, first + i));
          EXPECT_EQ(v[i], c.value(l, first + i));
          EXPECT_EQ(k[i][0], static_cast<float>(first + i));
        }
      } else {
        std::vector<const uint16_t*> k(count), v(count);
        c.rows_f16(l, first, count, k.data(), v.data());
        for (int64_t i = 0; i < count; ++i) {
          EXPECT_EQ(k[i], c.key_f16(l, first + i));
          EXPECT_EQ(v[i], c.value_f16(l, first + i));
        }
      }
    }
  }
}
