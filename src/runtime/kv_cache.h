// Key/value cache of one sequence.
//
// Layers that own K/V store one row per position: full-attention layers keep every
// position; sliding-window layers keep a ring of the last (window - 1 + slack) positions,
// so their memory does not grow with the context. KV-shared layers store nothing (they
// read their donor layer's rows). Rows are [num_kv_heads · head_dim] values each, stored as
// float32 (the reference path) or IEEE half (the quantized fast paths: decode of a long context
// is bound by reading these rows, and f16 halves the bytes; see KvPrecision).
//
// The decoder writes the rows of a new chunk after all layers ran (`write` then `advance`),
// so positions of the chunk itself are never read from here during that chunk.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/config.h"

namespace gemma4 {

// How a cache stores its rows. f16 rows are rounded to nearest even (f32_to_f16) from the
// float32 K/V the layer computed; the decoder rounds a forward's own rows the same way before
// attending to them, so a token sees the same K/V whether it was cached earlier or is in the
// same chunk. IEEE half rather than bfloat16: the same bytes with 3 more mantissa bits (8x
// finer rounding), and K/V leave RMS norms (|x| <= sqrt(head_dim) · norm scale), far inside
// f16's range. llama.cpp keeps F16 K/V by default too.
enum class KvPrecision { f32, f16 };

// Bytes one stored K or V value takes.
inline size_t kv_value_bytes(KvPrecision p) { return p == KvPrecision::f16 ? 2 : 4; }

class KVCache {
 public:
  // `sliding_slack`: extra ring entries kept on sliding layers so `truncate` can rewind a
  // little (e.g. to reuse a chat prefix) without recomputing.
  explicit KVCache(const TextConfig& config, int64_t sliding_slack = 64, KvPrecision precision = KvPrecision::f32);

  int64_t length() const { return length_; }  // tokens seen so far = position of the next token
  // Rewinds to the first n tokens. Returns false (and changes nothing) when n > length() or
  // a sliding layer has already dropped entries that positions < n would need.
  bool truncate(int64_t n);
  bool can_truncate(int64_t n) const;
  void clear();
  size_t bytes() const;  // memory held by stored rows
  KvPrecision precision() const { return precision_; }

  // For the decoder.
  bool stores(int64_t layer) const { return layers_[layer].capacity >= 0; }
  int64_t row_size(int64_t layer) const { return layers_[layer].row; }
  // Rows of `position` (< length()); the position must still be held (see oldest_held).
  // key / value: float32 caches only; key_f16 / value_f16 (raw IEEE half bits): f16 caches only.
  const float* key(int64_t layer, int64_t position) const;
  const float* value(int64_t layer, int64_t position) const;
  const uint16_t* key_f16(int64_t layer, int64_t position) const;
  const uint16_t* value_f16(int64_t layer, int64_t position) const;
  // The rows of positions first .. first + count - 1 (all still held), in order, into keys[i]
  // and values[i]: one slot computation for the run (attention lists every visible position
  // of every sequence on every layer). rows: float32 caches; rows_f16: f16 caches.
  void rows(int64_t layer, int64_t first, int64_t count, const float** keys, const float** values) const;
  void rows_f16(int64_t layer, int64_t first, int64_t count, const uint16_t** keys, const uint16_t** values) const;
  int64_t oldest_held(int64_t layer) const;
  // Stores `n` rows for positions length() .. length()+n-1 of `layer` (k, v: [n, row_size]),
  // rounded to f16 (f32_to_f16) in an f16 cache.
  void write(int64_t layer, const float* k, const float* v, int64_t n);
  void advance(int64_t n) { length_ += n; }

 private:
  struct LayerCache {
    int64_t row = 0;        // floats per row
    int64_t capacity = -1;  // ring size in rows (sliding), 0 = unbounded (full), -1 = stores nothing
    int64_t oldest = 0;     // oldest position still valid (sliding)
    std::vector<float> k, v;         // float32 rows (KvPrecision::f32)
    std::vector<uint16_t> k16, v16;  // IEEE half rows (KvPrecision::f16)
  };
  int64_t slot(const LayerCache& c, int64_t position) const;
  template <typename T>
  void list_rows(const LayerCache& c, const T* k, const T* v, int64_t first, int64_t count, const T** keys,
                 const T** values) const;
  void resize_rows(LayerCache& c, int64_t rows);

  KvPrecision precision_ = KvPrecision::f32;
  int64_t window_ = 0;
  int64_t length_ = 0;
  std::vector<LayerCache> layers_;
};

}  // namespace gemma4
