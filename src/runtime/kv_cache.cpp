#include "runtime/kv_cache.h"

#include <algorithm>
#include <cstring>

#include "base/error.h"
#include "kernels/vector_ops.h"

namespace gemma4 {

KVCache::KVCache(const TextConfig& config, int64_t sliding_slack, KvPrecision precision)
    : precision_(precision), window_(config.sliding_window) {
  layers_.resize(config.num_layers);
  for (int64_t l = 0; l < config.num_layers; ++l) {
    if (config.is_kv_shared(l)) continue;
    LayerCache& c = layers_[l];
    c.row = config.num_kv_heads * config.head_dim_of(l);
    if (config.layer_types[l] == LayerType::sliding) {
      // A new token sees itself and window - 1 earlier positions.
      c.capacity = config.sliding_window - 1 + std::max<int64_t>(0, sliding_slack);
      if (c.capacity < 1) c.capacity = 1;
      resize_rows(c, c.capacity);
    } else {
      c.capacity = 0;
    }
  }
}

// Room for `rows` rows in the storage of this cache's precision.
void KVCache::resize_rows(LayerCache& c, int64_t rows) {
  const size_t values = static_cast<size_t>(rows * c.row);
  if (precision_ == KvPrecision::f16) {
    c.k16.resize(values);
    c.v16.resize(values);
  } else {
    c.k.resize(values);
    c.v.resize(values);
  }
}

int64_t KVCache::slot(const LayerCache& c, int64_t position) const {
  return c.capacity > 0 ? position % c.capacity : position;
}

int64_t KVCache::oldest_held(int64_t layer) const { return layers_[layer].oldest; }

const float* KVCache::key(int64_t layer, int64_t position) const {
  const LayerCache& c = layers_[layer];
  return c.k.data() + slot(c, position) * c.row;
}

const float* KVCache::value(int64_t layer, int64_t position) const {
  const LayerCache& c = layers_[layer];
  return c.v.data() + slot(c, position) * c.row;
}

const uint16_t* KVCache::key_f16(int64_t layer, int64_t position) const {
  const LayerCache& c = layers_[layer];
  return c.k16.data() + slot(c, position) * c.row;
}

const uint16_t* KVCache::value_f16(int64_t layer, int64_t position) const {
  const LayerCache& c = layers_[layer];
  return c.v16.data() + slot(c, position) * c.row;
}

template <typename T>
void KVCache::list_rows(const LayerCache& c, const T* k, const T* v, int64_t first, int64_t count, const T** keys,
                        const T** values) const {
  if (count <= 0) return;
  for (int64_t i = 0, s = slot(c, first); i < count; ++i) {
    keys[i] = k + s * c.row;
    values[i] = v + s * c.row;
    if (++s == c.capacity) s = 0;  // the ring wraps (capacity 0: no ring)
  }
}

void KVCache::rows(int64_t layer, int64_t first, int64_t count, const float** keys, const float** values) const {
  const LayerCache& c = layers_[layer];
  list_rows(c, c.k.data(), c.v.data(), first, count, keys, values);
}

void KVCache::rows_f16(int64_t layer, int64_t first, int64_t count, const uint16_t** keys,
                       const uint16_t** values) const {
  const LayerCache& c = layers_[layer];
  list_rows(c, c.k16.data(), c.v16.data(), first, count, keys, values);
}

void KVCache::write(int64_t layer, const float* k, const float* v, int64_t n) {
  LayerCache& c = layers_[layer];
  if (c.capacity == 0) resize_rows(c, length_ + n);
  // A chunk longer than the ring only needs its last `capacity` rows kept.
  const int64_t first = c.capacity > 0 ? std::max<int64_t>(0, n - c.capacity) : 0;
  for (int64_t i = first; i < n; ++i) {
    const int64_t s = slot(c, length_ + i);
    const float* ki = k + i * c.row;
    const float* vi = v + i * c.row;
    if (precision_ == KvPrecision::f16) {
      kernels::round_to_f16(ki, c.k16.data() + s * c.row, c.row);
      kernels::round_to_f16(vi, c.v16.data() + s * c.row, c.row);
    } else {
      std::memcpy(c.k.data() + s * c.row, ki, c.row * sizeof(float));
      std::memcpy(c.v.data() + s * c.row, vi, c.row * sizeof(float));
    }
  }
  if (c.capacity > 0) c.oldest = std::max(c.oldest, length_ + n - c.capacity);
}

bool KVCache::can_truncate(int64_t n) const {
  if (n < 0 || n > length_) return false;
  // Positions >= n will be recomputed; position n needs [n - window + 1, n) from the rings.
  const int64_t needed = std::max<int64_t>(0, n - (window_ - 1));
  for (const LayerCache& c : layers_)
    if (c.capacity > 0 && c.oldest > needed) return false;
  return true;
}

bool KVCache::truncate(int64_t n) {
  if (!can_truncate(n)) return false;
  for (LayerCache& c : layers_)
    if (c.capacity == 0) resize_rows(c, n);
  length_ = n;
  return true;
}

void KVCache::clear() {
  for (LayerCache& c : layers_) {
    if (c.capacity == 0) resize_rows(c, 0);
    c.oldest = 0;
  }
  length_ = 0;
}

size_t KVCache::bytes() const {
  size_t total = 0;
  for (const LayerCache& c : layers_)
    total += (c.k.size() + c.v.size()) * sizeof(float) + (c.k16.size() + c.v16.size()) * sizeof(uint16_t);
  return total;
}

}  // namespace gemma4
