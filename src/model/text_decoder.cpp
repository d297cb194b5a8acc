#include "model/text_decoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "base/error.h"
#include "base/thread_pool.h"
#include "kernels/attention_prefill.h"
#include "kernels/batch_ops.h"
#include "kernels/matmul.h"
#include "kernels/reference_ops.h"
#include "kernels/vector_ops.h"
#include "model/gguf_loader.h"
#include "tensor/dtype.h"

namespace gemma4 {

namespace ops = kernels;

// Per-forward working memory. Rows are the live rows of all chunks, in order: at first every
// token of every chunk; once only KV-shared layers remain, only the rows whose logits are
// wanted (keep_output_rows).
struct TextDecoder::Scratch {
  int64_t n = 0;                    // live rows
  std::vector<int64_t> positions;   // absolute position of each live row
  std::vector<int64_t> chunk_row0;  // first live row of each chunk
  std::vector<int64_t> chunk_live;  // live rows of each chunk (its last ones)
  std::vector<int64_t> chunk_kv_row0;  // first row of each chunk in fresh_k / fresh_v (every token)
  std::vector<float> x;             // residual stream [n, H]
  std::vector<float> ple;           // per-layer inputs [n, L·P]
  std::vector<float> normed, q, attn, proj;  // temporaries
  std::vector<float> gate, up;
  std::vector<float> ple_gate;      // [n, P]: apart from gate, whose MLP size it would shrink every layer
  // K/V of this forward's rows for each KV-owning layer ([n, kv_row]); written to the caches at the end.
  std::vector<std::vector<float>> fresh_k, fresh_v;
  // The same rounded to f16, when some chunk's cache is f16: its queries attend to these, so
  // they see exactly what the cache will hold (chunked prefill stays equal to one prefill).
  std::vector<std::vector<uint16_t>> fresh_k16, fresh_v16;
  // RoPE cos / sin of every row ([n, head_dim / 2]) for sliding [0] and full [1] layers,
  // computed at the first layer of the kind (every layer of a kind rotates by the same angles).
  std::vector<float> rope_cos[2], rope_sin[2];
  // Flash-decoding of lone decode rows (attend): each key part's outputs [row][part][head][hd]
  // and log normalizers [row][part][head], merged into attn.
  std::vector<float> part_out, part_lse;
};

namespace {

using kernels::rms_norm_rows;

// Chunks with at least this many rows (prefill) attend in blocks when their cache is f16: a
// block pads its rows × heads queries to whole 32-query tiles, which fewer rows would waste.
constexpr int64_t kMinBlockRows = 4;
// A decode row's keys are split across threads only into parts of at least this many keys:
// each part pays for a copy of the queries, a softmax pass and a merge.
constexpr int64_t kMinKeysPerPart = 32;

// x += y, 16 floats at a time (the same sums: add_scaled rounds 1·y, which is y, before adding).
void add_inplace(float* x, const float* y, int64_t n) { kernels::add_scaled(x, y, 1.f, n); }

void round_to_f16(const std::vector<float>& x, std::vector<uint16_t>& y) {
  y.resize(x.size());
  kernels::round_to_f16(x.data(), y.data(), static_cast<int64_t>(x.size()));
}

bool any_f16_cache(std::span<Chunk> chunks) {
  for (const Chunk& ch : chunks)
    if (ch.cache->precision() == KvPrecision::f16) return true;
  return false;
}

}  // namespace

std::vector<float> rope_inverse_frequencies(const RopeParams& rope, int64_t head_dim) {
  const int64_t pairs = head_dim / 2;
  const int64_t rotated =
      rope.type == "proportional" ? static_cast<int64_t>(rope.partial_rotary_factor * head_dim / 2) : pairs;
  std::vector<float> inv_freq(pairs, 0.f);
  for (int64_t i = 0; i < rotated; ++i)
    inv_freq[i] = static_cast<float>(1.0 / std::pow(rope.theta, static_cast<double>(2 * i) / head_dim));
  return inv_freq;
}

TextDecoder::TextDecoder(ModelConfig config, TextWeights weights)
    : config_(std::move(config)), weights_(std::move(weights)) {
  inv_freq_sliding_ = rope_inverse_frequencies(config_.text.rope_sliding, config_.text.head_dim);
  inv_freq_full_ = rope_inverse_frequencies(config_.text.rope_full, config_.text.global_head_dim);
}

KvPrecision TextDecoder::kv_precision() const {
  for (const DecoderLayerWeights& w : weights_.layers)
    for (const Weight* m : {&w.q_proj, &w.o_proj, &w.gate_proj, &w.up_proj, &w.down_proj})
      if (is_block_quantized(m->format)) return KvPrecision::f16;
  return KvPrecision::f32;
}

std::shared_ptr<TextDecoder> TextDecoder::load(const std::string& model_dir, const LoadOptions& options) {
  if (is_gguf_file(model_dir)) return load_gguf(model_dir, options);
  ModelConfig config = load_model_config(model_dir);
  auto store = std::make_shared<TensorStore>(TensorStore::open(model_dir));
  // A text-only checkpoint saved by a multimodal class (or the reverse) still loads.
  const std::string probe = "embed_tokens.weight";
  if (!store->find(config.text_tensor_prefix + probe)) {
    for (const char* prefix : {"model.language_model.", "model.", "language_model.model.", ""})
      if (store->find(prefix + probe)) config.text_tensor_prefix = prefix;
  }
  TextWeights weights = bind_text_weights(*store, config, options);
  auto decoder = std::make_shared<TextDecoder>(std::move(config), std::move(weights));
  decoder->storage_ = std::move(store);
  return decoder;
}

std::shared_ptr<TextDecoder> TextDecoder::load_gguf(const std::string& path, const LoadOptions& options) {
  GgufTextModel model = open_gguf_text_model(path);
  LoadOptions gguf_options = options;
  if (!gguf_options.converter) gguf_options.converter = gguf_converter(options.weights);
  TextWeights weights = bind_text_weights(*model.source, model.config, gguf_options);
  auto decoder = std::make_shared<TextDecoder>(std::move(model.config), std::move(weights));
  decoder->storage_ = std::move(model.source);
  return decoder;
}

// Rotates `heads` consecutive head vectors of row `row` (at s.positions[row]).
void TextDecoder::rope(float* heads, int64_t count, int64_t layer, int64_t row, Scratch& s) const {
  const int kind = config_.text.layer_types[layer] == LayerType::full ? 1 : 0;
  const int64_t hd = config_.text.head_dim_of(layer), half = hd / 2;
  std::vector<float>& cos = s.rope_cos[kind];
  std::vector<float>& sin = s.rope_sin[kind];
  if (cos.empty()) {
    cos.resize(s.n * half);
    sin.resize(s.n * half);
    const float* inv_freq = kind == 1 ? inv_freq_full_.data() : inv_freq_sliding_.data();
    for (int64_t r = 0; r < s.n; ++r)
      ops::rope_angles(hd, inv_freq, s.positions[r], cos.data() + r * half, sin.data() + r * half);
  }
  kernels::rope_apply_vectors(heads, count, hd, 1, cos.data() + row * half, sin.data() + row * half);
}

// h = E[id] · sqrt(H), or the soft token's row as is.
void TextDecoder::embed(std::span<Chunk> chunks, Scratch& s, const DebugTap& tap) const {
  const TextConfig& c = config_.text;
  const int64_t H = c.hidden_size;
  const float scale = static_cast<float>(std::sqrt(static_cast<double>(H)));
  s.x.assign(s.n * H, 0.f);
  for (size_t ci = 0; ci < chunks.size(); ++ci) {
    const Chunk& ch = chunks[ci];
    for (size_t i = 0; i < ch.ids.size(); ++i) {
      float* row = s.x.data() + (s.chunk_row0[ci] + i) * H;
      kernels::dequantize_row(weights_.embed_tokens, ch.ids[i], row);
      for (int64_t d = 0; d < H; ++d) row[d] *= scale;
    }
    for (const SoftToken& st : ch.soft_tokens)
      std::memcpy(s.x.data() + (s.chunk_row0[ci] + st.index) * H, st.row, H * sizeof(float));
  }
  if (tap) tap("embeddings", s.x.data(), {s.n, H});
}

// ple[l] = (rms_norm((W_plm · h) / sqrt(H)) + T_ple[id][l] · sqrt(P)) / sqrt(2)
void TextDecoder::per_layer_inputs(std::span<Chunk> chunks, Scratch& s, const DebugTap& tap) const {
  const TextConfig& c = config_.text;
  const int64_t H = c.hidden_size, P = c.hidden_size_per_layer_input, L = c.num_layers, LP = L * P;
  s.ple.assign(s.n * LP, 0.f);
  kernels::matmul(weights_.per_layer_model_projection, s.x.data(), s.n, s.ple.data());
  const float projection_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(H)));
  for (float& v : s.ple) v *= projection_scale;
  rms_norm_rows(s.ple.data(), weights_.per_layer_projection_norm.data(), s.n * L, P, c.rms_norm_eps, s.ple.data());

  const float token_scale = static_cast<float>(std::sqrt(static_cast<double>(P)));
  const float mix = static_cast<float>(1.0 / std::sqrt(2.0));
  std::vector<float> token_row(LP);
  for (size_t ci = 0; ci < chunks.size(); ++ci) {
    const Chunk& ch = chunks[ci];
    std::vector<bool> soft(ch.ids.size(), false);
    for (const SoftToken& st : ch.soft_tokens) soft[st.index] = true;
    for (size_t i = 0; i < ch.ids.size(); ++i) {
      // Soft-token positions and ids beyond the per-layer table use the pad row.
      int64_t id = ch.ids[i];
      if (soft[i] || id >= c.vocab_size_per_layer_input) id = c.pad_token_id;
      kernels::dequantize_row(weights_.embed_tokens_per_layer, id, token_row.data());
      float* row = s.ple.data() + (s.chunk_row0[ci] + i) * LP;
      for (int64_t j = 0; j < LP; ++j) row[j] = (row[j] + token_row[j] * token_scale) * mix;
    }
  }
  if (tap) tap("per_layer_inputs", s.ple.data(), {s.n, L, P});
}

void TextDecoder::attention_block(int64_t layer, std::span<Chunk> chunks, Scratch& s) const {
  const TextConfig& c = config_.text;
  const DecoderLayerWeights& w = weights_.layers[layer];
  const int64_t H = c.hidden_size, hd = c.head_dim_of(layer), nh = c.num_heads, nkv = c.num_kv_heads;
  const int64_t q_row = nh * hd, kv_row = nkv * hd;

  s.normed.resize(s.n * H);
  rms_norm_rows(s.x.data(), w.input_norm.data(), s.n, H, c.rms_norm_eps, s.normed.data());

  s.q.resize(s.n * q_row);
  const bool fresh_kv = !c.is_kv_shared(layer);
  if (fresh_kv) {  // q, k and v in one pass over the same input
    s.fresh_k[layer].resize(s.n * kv_row);
    s.fresh_v[layer].resize(s.n * kv_row);
    const kernels::MatmulTarget qkv[] = {
        {&w.q_proj, s.q.data()}, {&w.k_proj, s.fresh_k[layer].data()}, {&w.v_proj, s.fresh_v[layer].data()}};
    kernels::matmul_shared_input(s.normed.data(), s.n, qkv, 3);
  } else {
    kernels::matmul(w.q_proj, s.normed.data(), s.n, s.q.data());
  }
  rms_norm_rows(s.q.data(), w.q_norm.data(), s.n * nh, hd, c.rms_norm_eps, s.q.data());  // per head
  for (int64_t r = 0; r < s.n; ++r) rope(s.q.data() + r * q_row, nh, layer, r, s);

  if (fresh_kv) {
    std::vector<float>& k = s.fresh_k[layer];
    std::vector<float>& v = s.fresh_v[layer];
    rms_norm_rows(k.data(), w.k_norm.data(), s.n * nkv, hd, c.rms_norm_eps, k.data());
    for (int64_t r = 0; r < s.n; ++r) rope(k.data() + r * kv_row, nkv, layer, r, s);
    rms_norm_rows(v.data(), nullptr, s.n * nkv, hd, c.rms_norm_eps, v.data());  // v_norm has no scale; V gets no RoPE
    if (any_f16_cache(chunks)) {
      round_to_f16(k, s.fresh_k16[layer]);
      round_to_f16(v, s.fresh_v16[layer]);
    }
  }

  s.attn.assign(s.n * q_row, 0.f);
  attend(layer, chunks, s);

  s.proj.resize(s.n * H);
  kernels::matmul(w.o_proj, s.attn.data(), s.n, s.proj.data());
  rms_norm_rows(s.proj.data(), w.post_attention_norm.data(), s.n, H, c.rms_norm_eps, s.proj.data());
  add_inplace(s.x.data(), s.proj.data(), s.n * H);
}

// Causal (and, on sliding layers, windowed) attention of every chunk's queries against the
// K/V source layer: earlier positions from the chunk's cache, this forward's from s.fresh_*.
// Scale 1: the q/k norms set the temperature.
void TextDecoder::attend(int64_t layer, std::span<Chunk> chunks, Scratch& s) const {
  const TextConfig& c = config_.text;
  const int64_t hd = c.head_dim_of(layer), nh = c.num_heads, nkv = c.num_kv_heads;
  const int64_t q_row = nh * hd, kv_row = nkv * hd, group = nh / nkv;
  const int64_t src = c.kv_source_layer(layer);
  const bool sliding = c.layer_types[layer] == LayerType::sliding;
  auto first_visible = [&](int64_t pos) { return sliding ? std::max<int64_t>(0, pos - c.sliding_window + 1) : 0; };

  // Per chunk, row pointers of every visible position, per KV head: earlier ones in the
  // cache, this chunk's in s.fresh_* (float32 or f16, as the chunk's cache stores them).
  struct Visible {
    int64_t start = 0, first = 0, span = 0;  // cache length, first visible position, positions
    bool f16 = false;
    std::vector<const float*> keys, values;         // [nkv][span], float32 caches
    std::vector<const uint16_t*> keys16, values16;  // [nkv][span], f16 caches
  };
  // Points `keys` / `values` at the rows of positions first .. start + rows - 1: the cache's
  // (cached_rows lists them), then this forward's; per KV head, head h's at offset h·hd.
  auto gather = [&](auto& keys, auto& values, const auto* fresh_k, const auto* fresh_v, auto cached_rows,
                    const Visible& v, int64_t rows) {
    keys.resize(nkv * v.span);
    values.resize(nkv * v.span);
    const int64_t cached = v.start - v.first;
    cached_rows(v.first, cached, keys.data(), values.data());  // head 0's slots first
    for (int64_t i = cached; i < cached + rows; ++i) {
      keys[i] = fresh_k + (i - cached) * kv_row;
      values[i] = fresh_v + (i - cached) * kv_row;
    }
    for (int64_t h = 1; h < nkv; ++h)
      for (int64_t i = 0; i < v.span; ++i) {
        keys[h * v.span + i] = keys[i] + h * hd;
        values[h * v.span + i] = values[i] + h * hd;
      }
  };
  std::vector<Visible> visible(chunks.size());
  std::vector<size_t> chunk_of_row(static_cast<size_t>(s.n));
  int64_t macs = 0;
  for (size_t ci = 0; ci < chunks.size(); ++ci) {
    const KVCache& cache = *chunks[ci].cache;
    Visible& v = visible[ci];
    const int64_t rows = static_cast<int64_t>(chunks[ci].ids.size()), kv_row0 = s.chunk_kv_row0[ci];
    v.start = cache.length();
    check(first_visible(v.start) >= std::min(v.start, cache.oldest_held(src)),
          "KV cache no longer holds the sliding-window entries this chunk needs", ExitCode::failure);
    v.first = first_visible(v.start);
    v.span = v.start + rows - v.first;
    v.f16 = cache.precision() == KvPrecision::f16;
    if (v.f16) {
      gather(v.keys16, v.values16, s.fresh_k16[src].data() + kv_row0 * kv_row,
             s.fresh_v16[src].data() + kv_row0 * kv_row,
             [&](int64_t first, int64_t count, const uint16_t** k, const uint16_t** val) {
               cache.rows_f16(src, first, count, k, val);
             },
             v, rows);
    } else {
      gather(v.keys, v.values, s.fresh_k[src].data() + kv_row0 * kv_row, s.fresh_v[src].data() + kv_row0 * kv_row,
             [&](int64_t first, int64_t count, const float** k, const float** val) {
               cache.rows(src, first, count, k, val);
             },
             v, rows);
    }
    for (int64_t i = 0; i < s.chunk_live[ci]; ++i) chunk_of_row[s.chunk_row0[ci] + i] = ci;
    macs += s.chunk_live[ci] * nh * v.span * hd;
  }
  // Prefill rows of a chunk with an f16 cache attend in blocks (kernels/attention_prefill.h):
  // the block's rows and the `group` query heads of a KV head share every key it reads.
  struct BlockTask {
    size_t chunk;
    int64_t row0, rows, kvh;
  };
  std::vector<BlockTask> blocks;
  std::vector<int64_t> single_rows;
  const int64_t block_rows = std::max<int64_t>(1, kernels::kPrefillBlockQueries / group);
  for (size_t ci = 0; ci < chunks.size(); ++ci) {
    const int64_t row0 = s.chunk_row0[ci], live = s.chunk_live[ci];
    if (visible[ci].f16 && live >= kMinBlockRows) {
      for (int64_t r0 = row0; r0 < row0 + live; r0 += block_rows)
        for (int64_t kvh = 0; kvh < nkv; ++kvh) blocks.push_back({ci, r0, std::min(block_rows, row0 + live - r0), kvh});
    } else {
      for (int64_t r = row0; r < row0 + live; ++r) single_rows.push_back(r);
    }
  }
  auto block_task = [&](const BlockTask& t) {
    const Visible& v = visible[t.chunk];
    thread_local std::vector<int64_t> first, end;
    first.resize(static_cast<size_t>(t.rows));
    end.resize(static_cast<size_t>(t.rows));
    for (int64_t r = 0; r < t.rows; ++r) {
      const int64_t pos = s.positions[t.row0 + r];
      first[r] = first_visible(pos) - v.first;
      end[r] = pos + 1 - v.first;
    }
    const int64_t head0 = t.row0 * q_row + t.kvh * group * hd;
    kernels::PrefillAttentionBlock b;
    b.q = s.q.data() + head0;
    b.q_stride = q_row;
    b.rows = t.rows;
    b.heads = static_cast<int>(group);
    b.dim = hd;
    b.keys = v.keys16.data() + t.kvh * v.span;
    b.values = v.values16.data() + t.kvh * v.span;
    b.count = v.span;
    b.first = first.data();
    b.end = end.data();
    b.out = s.attn.data() + head0;
    b.out_stride = q_row;
    kernels::attend_prefill_block_f16(b);
  };
  // Every other (query row, KV head) pair is a task of its own; the `group` query heads of a KV
  // head read its keys and values together. All chunks' pairs form one parallel pass (batched
  // decode: one row per chunk, and the pool wakes once per layer, not once per sequence).
  // While there are too few pairs to give every thread two (a lone decode row), f16 caches
  // split each pair's keys into parts (flash-decoding): every part still scores all the heads,
  // so each key is widened and read once, and the parts merge by their softmax normalizers.
  // Float32 caches (the reference path) split the heads instead, which keeps its arithmetic.
  const int64_t n_single = static_cast<int64_t>(single_rows.size());
  const bool all_f16 = std::all_of(single_rows.begin(), single_rows.end(),
                                   [&](int64_t r) { return visible[chunk_of_row[r]].f16; });
  int64_t heads_per_task = group, key_parts = 1;
  if (n_single > 0 && all_f16) {
    while (n_single * nkv * key_parts < 2 * num_threads()) key_parts *= 2;
  } else {
    while (n_single * nh / heads_per_task < 2 * num_threads() && heads_per_task % 2 == 0) heads_per_task /= 2;
  }
  const int64_t tasks_per_row = nh / heads_per_task * key_parts;
  if (key_parts > 1) {
    s.part_out.resize(static_cast<size_t>(n_single * key_parts * q_row));
    s.part_lse.resize(static_cast<size_t>(n_single * key_parts * nh));
  }
  auto row_task = [&](int64_t task) {
    const int64_t i = task / tasks_per_row, part = task % key_parts;
    const int64_t row = single_rows[i], h0 = task % tasks_per_row / key_parts * heads_per_task;
    const int64_t kvh = h0 / group;
    const Visible& v = visible[chunk_of_row[row]];
    const int64_t pos = s.positions[row];
    const int64_t lo = first_visible(pos), count = pos - lo + 1;
    // Part p of the row's keys: [count·p/n, count·(p+1)/n) of n parts, fewer (and the rest
    // left empty) when parts would get under kMinKeysPerPart keys.
    const int64_t parts = std::clamp<int64_t>(count / kMinKeysPerPart, 1, key_parts);
    const int64_t k0 = count * part / parts, k1 = part < parts ? count * (part + 1) / parts : k0;
    const int heads = static_cast<int>(heads_per_task);
    float* out = s.attn.data() + row * q_row + h0 * hd;
    float* lse = nullptr;
    if (key_parts > 1) {
      out = s.part_out.data() + ((i * key_parts + part) * nh + h0) * hd;
      lse = s.part_lse.data() + (i * key_parts + part) * nh + h0;
      if (k1 == k0) {  // an empty part weighs nothing in the merge (its zeros, not a reused buffer's values)
        std::fill(lse, lse + heads, -INFINITY);
        std::fill(out, out + heads * hd, 0.f);
        return;
      }
    }
    thread_local std::vector<float> scores;
    scores.resize(heads_per_task * (k1 - k0));
    const int64_t offset = kvh * v.span + (lo - v.first) + k0;
    const float* q = s.q.data() + row * q_row + h0 * hd;
    if (v.f16) {
      kernels::attend_heads_f16(q, hd, heads, v.keys16.data() + offset, v.values16.data() + offset, k1 - k0, hd, 1.f,
                                 out, hd, scores.data(), lse);
    } else {
      kernels::attend_heads(q, hd, heads, v.keys.data() + offset, v.values.data() + offset, k1 - k0, hd, 1.f, out, hd,
                            scores.data());
    }
  };
  // Blocks first (the longest tasks), then rows.
  const int64_t n_blocks = static_cast<int64_t>(blocks.size()), tasks = n_blocks + n_single * tasks_per_row;
  auto attend_task = [&](int64_t task) {
    if (task < n_blocks)
      block_task(blocks[task]);
    else
      row_task(task - n_blocks);
  };
  // A short step runs on the calling thread: waking the others would cost more.
  constexpr int64_t kMinParallelMacs = 1 << 16;
  if (macs < kMinParallelMacs) {
    for (int64_t task = 0; task < tasks; ++task) attend_task(task);
  } else {
    parallel_for(tasks, attend_task);
  }
  if (key_parts > 1) {
    for (int64_t i = 0; i < n_single; ++i)
      for (int64_t h = 0; h < nh; ++h)
        kernels::merge_attention_parts(s.part_out.data() + (i * key_parts * nh + h) * hd, nh * hd,
                                       s.part_lse.data() + i * key_parts * nh + h, nh, static_cast<int>(key_parts), hd,
                                       s.attn.data() + single_rows[i] * q_row + h * hd);
  }
}

// GeGLU MLP with sandwich norms: x += norm(down(gelu(gate·m) ⊙ up·m)), m = norm(x).
void TextDecoder::mlp_block(int64_t layer, Scratch& s) const {
  const TextConfig& c = config_.text;
  const DecoderLayerWeights& w = weights_.layers[layer];
  const int64_t H = c.hidden_size, F = c.mlp_width_of(layer);
  rms_norm_rows(s.x.data(), w.pre_feedforward_norm.data(), s.n, H, c.rms_norm_eps, s.normed.data());
  s.gate.resize(s.n * F);
  s.up.resize(s.n * F);
  const kernels::MatmulTarget gate_up[] = {{&w.gate_proj, s.gate.data()}, {&w.up_proj, s.up.data()}};
  kernels::matmul_shared_input(s.normed.data(), s.n, gate_up, 2);
  kernels::gelu_tanh_mul(s.gate.data(), s.up.data(), s.n * F);
  kernels::matmul(w.down_proj, s.gate.data(), s.n, s.proj.data());
  rms_norm_rows(s.proj.data(), w.post_feedforward_norm.data(), s.n, H, c.rms_norm_eps, s.proj.data());
  add_inplace(s.x.data(), s.proj.data(), s.n * H);
}

// x += norm(W_proj · (gelu(W_gate · x) ⊙ ple[layer])); then the whole stream is scaled by layer_scalar.
void TextDecoder::per_layer_input_block(int64_t layer, Scratch& s) const {
  const TextConfig& c = config_.text;
  const DecoderLayerWeights& w = weights_.layers[layer];
  const int64_t H = c.hidden_size, P = c.hidden_size_per_layer_input, LP = c.num_layers * P;
  s.ple_gate.resize(s.n * P);
  kernels::matmul(w.per_layer_input_gate, s.x.data(), s.n, s.ple_gate.data());
  for (int64_t r = 0; r < s.n; ++r)
    kernels::gelu_tanh_mul(s.ple_gate.data() + r * P, s.ple.data() + r * LP + layer * P, P);
  kernels::matmul(w.per_layer_projection, s.ple_gate.data(), s.n, s.proj.data());
  rms_norm_rows(s.proj.data(), w.post_per_layer_input_norm.data(), s.n, H, c.rms_norm_eps, s.proj.data());
  add_inplace(s.x.data(), s.proj.data(), s.n * H);
  float* x = s.x.data();
  const float layer_scalar = w.layer_scalar;  // a local: the loop vectorizes
  for (int64_t i = 0; i < s.n * H; ++i) x[i] *= layer_scalar;
}

// Keeps the last row of each chunk (LogitsMode::last) or none (LogitsMode::none): the residual
// stream, the per-layer inputs and the positions shrink to those rows.
void TextDecoder::keep_output_rows(LogitsMode mode, Scratch& s) const {
  const TextConfig& c = config_.text;
  const int64_t H = c.hidden_size, LP = c.num_layers * c.hidden_size_per_layer_input;
  int64_t kept = 0;
  for (size_t ci = 0; ci < s.chunk_row0.size(); ++ci) {
    const int64_t live = mode == LogitsMode::last ? 1 : 0;
    const int64_t from = s.chunk_row0[ci] + s.chunk_live[ci] - live;
    if (live > 0 && from != kept) {
      std::memmove(s.x.data() + kept * H, s.x.data() + from * H, live * H * sizeof(float));
      std::memmove(s.ple.data() + kept * LP, s.ple.data() + from * LP, live * LP * sizeof(float));
      s.positions[kept] = s.positions[from];
    }
    s.chunk_row0[ci] = kept;
    s.chunk_live[ci] = live;
    kept += live;
  }
  s.n = kept;
  for (int kind = 0; kind < 2; ++kind) {  // rows renumbered: recomputed for the kept ones
    s.rope_cos[kind].clear();
    s.rope_sin[kind].clear();
  }
  s.x.resize(kept * H);
  s.ple.resize(kept * LP);
  s.positions.resize(kept);
}

std::vector<float> TextDecoder::output_logits(std::span<Chunk> chunks, LogitsMode mode, Scratch& s,
                                              const DebugTap& tap) const {
  const TextConfig& c = config_.text;
  const int64_t H = c.hidden_size, V = c.vocab_size;
  std::vector<int64_t> rows;
  if (mode == LogitsMode::all || tap) {
    for (int64_t r = 0; r < s.n; ++r) rows.push_back(r);
  } else if (mode == LogitsMode::last) {
    for (size_t ci = 0; ci < chunks.size(); ++ci) rows.push_back(s.chunk_row0[ci] + s.chunk_live[ci] - 1);
  }
  std::vector<float> y(rows.size() * H);
  for (size_t i = 0; i < rows.size(); ++i)
    kernels::rms_norm_rows(s.x.data() + rows[i] * H, weights_.final_norm.data(), 1, H, c.rms_norm_eps, y.data() + i * H);
  if (tap) {
    tap("final_norm", y.data(), {s.n, H});
    if (mode == LogitsMode::last) {  // keep only each chunk's last row
      std::vector<float> last;
      for (size_t ci = 0; ci < chunks.size(); ++ci) {
        const float* r = y.data() + (s.chunk_row0[ci] + chunks[ci].ids.size() - 1) * H;
        last.insert(last.end(), r, r + H);
      }
      y.swap(last);
    }
  }
  if (mode == LogitsMode::none) return {};
  const int64_t m = static_cast<int64_t>(y.size()) / H;
  std::vector<float> logits(m * V);
  const Weight& head = weights_.lm_head.empty() ? weights_.embed_tokens : weights_.lm_head;
  kernels::matmul(head, y.data(), m, logits.data());  // tied LM head, unscaled
  if (c.final_logit_softcapping > 0)
    kernels::softcap(logits.data(), m * V, static_cast<float>(c.final_logit_softcapping));
  return logits;
}

std::vector<float> TextDecoder::forward(std::span<Chunk> chunks, LogitsMode mode, const DebugTap& tap) const {
  const TextConfig& c = config_.text;
  Scratch s;
  std::set<const KVCache*> seen;
  for (const Chunk& ch : chunks) {
    check(ch.cache != nullptr, "forward: a chunk has no KV cache", ExitCode::failure);
    check(seen.insert(ch.cache).second, "forward: two chunks share one KV cache", ExitCode::failure);
    check(!ch.ids.empty(), "forward: a chunk has no tokens", ExitCode::usage);
    for (int64_t id : ch.ids)
      check(id >= 0 && id < c.vocab_size, "token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                                              std::to_string(c.vocab_size) + ")",
            ExitCode::usage);
    for (const SoftToken& st : ch.soft_tokens)
      check(st.index >= 0 && st.index < static_cast<int64_t>(ch.ids.size()) && st.row != nullptr,
            "forward: soft token index " + std::to_string(st.index) + " is outside its chunk", ExitCode::usage);
    s.chunk_row0.push_back(s.n);
    s.chunk_kv_row0.push_back(s.n);
    s.chunk_live.push_back(static_cast<int64_t>(ch.ids.size()));
    for (size_t i = 0; i < ch.ids.size(); ++i) s.positions.push_back(ch.cache->length() + static_cast<int64_t>(i));
    s.n += static_cast<int64_t>(ch.ids.size());
  }
  if (s.n == 0) return {};
  s.fresh_k.resize(c.num_layers);
  s.fresh_v.resize(c.num_layers);
  s.fresh_k16.resize(c.num_layers);
  s.fresh_v16.resize(c.num_layers);

  embed(chunks, s, tap);
  per_layer_inputs(chunks, s, tap);
  // Past the last layer that writes K/V, a row's hidden state reaches nothing but its own
  // logits: rows whose logits are not wanted stop there (exact; the caches are complete).
  const bool prune = mode != LogitsMode::all && !tap;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    if (prune && l == c.first_kv_shared_layer()) keep_output_rows(mode, s);
    if (s.n == 0) break;
    attention_block(l, chunks, s);
    mlp_block(l, s);
    per_layer_input_block(l, s);
    if (tap) tap("layer_output." + std::to_string(l), s.x.data(), {s.n, c.hidden_size});
  }

  // Only now do the caches take this forward's rows: shared layers read them from s.fresh_*.
  for (size_t ci = 0; ci < chunks.size(); ++ci) {
    Chunk& ch = chunks[ci];
    const int64_t n = static_cast<int64_t>(ch.ids.size());
    for (int64_t l = 0; l < c.num_layers; ++l) {
      if (!ch.cache->stores(l)) continue;
      const int64_t row = ch.cache->row_size(l);
      ch.cache->write(l, s.fresh_k[l].data() + s.chunk_kv_row0[ci] * row,
                      s.fresh_v[l].data() + s.chunk_kv_row0[ci] * row, n);
    }
    ch.cache->advance(n);
  }
  return output_logits(chunks, mode, s, tap);
}

}  // namespace gemma4
