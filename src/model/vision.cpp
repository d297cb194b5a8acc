// The Gemma 4 vision tower (patch embedder, encoder layers, pooler) and the multimodal
// embedder, written to read like shared/spec/vision.md section 3.2. Linears go through
// kernels::matmul (exact numerics) or the packed bf16 / int8 GEMMs (fast / int8), attention
// through plain per-head products (exact), kernels::attention_bidirectional (fast) or
// kernels::attention_bidirectional_int8 (int8).
#include "model/vision.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/error.h"
#include "base/mapped_file.h"
#include "base/thread_pool.h"
#include "base/uninitialized_vector.h"
#include "kernels/attention_long.h"
#include "kernels/batch_ops.h"
#include "kernels/vector_ops.h"
#include "kernels/matmul.h"
#include "kernels/reference_ops.h"
#include "model/weights.h"

namespace gemma4 {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// ---- Weight binding

Weight bind_weight(const TensorInfo& t) {
  check(t.shape.size() == 2, t.name + ": expected a 2-D weight, got " + t.shape_str(), ExitCode::bad_input);
  Weight w;
  w.format = weight_format_of(t);
  w.rows = t.shape[0];
  w.cols = t.shape[1];
  w.data = t.data;
  w.name = t.name;
  return w;
}

Weight require_weight(const TensorStore& store, const std::string& name, int64_t rows, int64_t cols) {
  return bind_weight(store.require(name, {rows, cols}));
}

std::vector<float> require_vector(const TensorStore& store, const std::string& name, int64_t size) {
  return to_f32(store.require(name, {size}));
}

// A clip bound is a 0-d tensor (or [1]); an absent one does not clip.
float optional_scalar(const TensorStore& store, const std::string& name, float absent) {
  const TensorInfo* t = store.find(name);
  if (!t) return absent;
  check(t->numel() == 1, name + ": expected a scalar, got " + t->shape_str());
  return to_f32(*t)[0];
}

ClippedLinear unclipped(Weight w) {
  ClippedLinear l;
  l.weight = std::move(w);
  return l;
}

ClippedLinear bind_linear(const TensorStore& store, const std::string& prefix, int64_t rows, int64_t cols,
                          bool clipped) {
  ClippedLinear l = unclipped(require_weight(store, prefix + ".linear.weight", rows, cols));
  if (clipped) {
    l.input_min = optional_scalar(store, prefix + ".input_min", -kInf);
    l.input_max = optional_scalar(store, prefix + ".input_max", kInf);
    l.output_min = optional_scalar(store, prefix + ".output_min", -kInf);
    l.output_max = optional_scalar(store, prefix + ".output_max", kInf);
  }
  return l;
}

// ---- Building blocks (spec 3.1)

// x * (mean(x²) + eps)^-½ * w over each row of `width` values; no weight when w is null.
// Rows are independent, so they are spread over the thread pool (same numbers either way).
// vectorized: the kernel (float32 sums) for the fast and int8 numerics.
void rms_norm_rows(float* x, int64_t rows, int width, const float* w, double eps, bool vectorized) {
  if (vectorized) return kernels::rms_norm_rows(x, w, rows, width, eps, x);
  parallel_ranges(rows, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* row = x + r * width;
      double sum_sq = 0;
      for (int i = 0; i < width; ++i) sum_sq += static_cast<double>(row[i]) * row[i];
      const float inv = static_cast<float>(1.0 / std::sqrt(sum_sq / width + eps));
      for (int i = 0; i < width; ++i) row[i] = w ? row[i] * inv * w[i] : row[i] * inv;
    }
  });
}

// y = rms_norm(x) · w into y (sized like x; reused storage when it already is).
template <class Vector>
void rms_norm_into(const std::vector<float>& x, int width, const std::vector<float>& w, double eps, bool vectorized,
                   Vector& y) {
  const int64_t rows = static_cast<int64_t>(x.size() / width);
  if (vectorized) {
    y.resize(x.size());
    kernels::rms_norm_rows(x.data(), w.empty() ? nullptr : w.data(), rows, width, eps, y.data());
    return;
  }
  y.assign(x.begin(), x.end());
  rms_norm_rows(y.data(), rows, width, w.empty() ? nullptr : w.data(), eps, vectorized);
}

std::vector<float> rms_norm(const std::vector<float>& x, int width, const std::vector<float>& w, double eps,
                            bool vectorized) {
  std::vector<float> y;
  rms_norm_into(x, width, w, eps, vectorized, y);
  return y;
}

// The residual step of a sandwich-normed block: h += rms_norm(a) · w, row by row (a is
// overwritten), then, when next_w is given, next = rms_norm(h) · next_w (the input of the next
// block), in one pass per row range over the thread pool while the rows are in cache.
// h, a and next hold rows × width floats.
void add_normed(float* h, float* a, int64_t rows, int width, const std::vector<float>& w, double eps, bool vectorized,
                const std::vector<float>* next_w = nullptr, float* next = nullptr) {
  parallel_ranges(rows, 1, [&](int64_t r0, int64_t r1) {
    float* ar = a + r0 * width;
    float* hr = h + r0 * width;
    const int64_t count = (r1 - r0) * width;
    rms_norm_rows(ar, r1 - r0, width, w.data(), eps, vectorized);  // nested calls run on this thread
    kernels::add_scaled(hr, ar, 1.f, count);                        // h += a, 16 at a time (1·a is exact)
    if (!next) return;
    float* nr = next + r0 * width;
    if (vectorized) {  // the kernel writes the normed rows straight into next
      kernels::rms_norm_rows(hr, next_w->data(), r1 - r0, width, eps, nr);
      return;
    }
    std::copy_n(hr, count, nr);
    rms_norm_rows(nr, r1 - r0, width, next_w->data(), eps, vectorized);
  });
}

float gelu_tanh(float x) {
  const float k = 0.7978845608028654f;  // sqrt(2/pi)
  return 0.5f * x * (1.f + std::tanh(k * (x + 0.044715f * x * x * x)));
}

// Copies head `head` of rows [n, heads*head_dim] into a contiguous [n, head_dim] block.
std::vector<float> gather_head(const float* x, int64_t n, int heads, int head_dim, int head) {
  std::vector<float> out(static_cast<size_t>(n * head_dim));
  for (int64_t t = 0; t < n; ++t)
    std::copy_n(&x[(t * heads + head) * head_dim], head_dim, &out[t * head_dim]);
  return out;
}

Weight f32_matrix(const std::vector<float>& data, int64_t rows, int64_t cols) {
  return f32_matrix_view(data.data(), rows, cols, "activations");
}

}  // namespace

// ---- Configuration

bool VisionConfig::present(const nlohmann::json& config) {
  return config.contains("vision_config") && config["vision_config"].is_object();
}

VisionConfig VisionConfig::from_json(const nlohmann::json& config) {
  check(present(config), "config.json has no vision_config: this model does not take images", ExitCode::unsupported);
  const nlohmann::json& v = config["vision_config"];
  VisionConfig c;
  try {
    c.hidden_size = v.at("hidden_size").get<int>();
    c.intermediate_size = v.at("intermediate_size").get<int>();
    c.num_layers = v.at("num_hidden_layers").get<int>();
    c.num_heads = v.at("num_attention_heads").get<int>();
    c.num_kv_heads = v.value("num_key_value_heads", c.num_heads);
    c.head_dim = v.value("head_dim", c.num_heads > 0 ? c.hidden_size / c.num_heads : 0);
    c.patch_size = v.value("patch_size", 16);
    c.pooling_kernel_size = v.value("pooling_kernel_size", 3);
    c.position_embedding_size = v.value("position_embedding_size", 10240);
    c.rms_norm_eps = v.value("rms_norm_eps", 1e-6);
    if (v.contains("rope_parameters") && v["rope_parameters"].is_object())
      c.rope_theta = v["rope_parameters"].value("rope_theta", 100.0);
    c.use_clipped_linears = v.value("use_clipped_linears", false);
    c.standardize = v.value("standardize", false);
    const nlohmann::json& text = config.contains("text_config") ? config["text_config"] : config;
    c.text_hidden_size = text.at("hidden_size").get<int>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("config.json vision_config: ") + e.what(), ExitCode::bad_input);
  }
  check(c.hidden_size > 0 && c.intermediate_size > 0 && c.num_layers > 0 && c.num_heads > 0 && c.num_kv_heads > 0 &&
            c.head_dim > 0 && c.patch_size > 0 && c.pooling_kernel_size > 0 && c.position_embedding_size > 0 &&
            c.text_hidden_size > 0,
        "config.json vision_config: sizes must be positive");
  check(c.num_heads % c.num_kv_heads == 0, "config.json vision_config: heads must be a multiple of kv heads");
  check(c.head_dim % 4 == 0, "config.json vision_config: head_dim must be a multiple of 4 for 2-D RoPE");
  return c;
}

// ---- Loading

VisionModel VisionModel::load(std::shared_ptr<const TensorStore> store, const nlohmann::json& config_json,
                              EncoderNumerics numerics) {
  VisionModel m;
  m.numerics_ = numerics;
  m.store_ = std::move(store);
  m.config_ = VisionConfig::from_json(config_json);
  const TensorStore& s = *m.store_;
  const VisionConfig& c = m.config_;
  const int64_t D = c.hidden_size, F = c.intermediate_size;
  const int64_t q_width = int64_t{c.num_heads} * c.head_dim, kv_width = int64_t{c.num_kv_heads} * c.head_dim;
  const std::string tower = "model.vision_tower.";

  m.patch_projection_ = unclipped(
      require_weight(s, tower + "patch_embedder.input_proj.weight", D, int64_t{c.patch_size} * c.patch_size * 3));
  const TensorInfo& table = s.require(tower + "patch_embedder.position_embedding_table", {2, c.position_embedding_size, D});
  m.position_table_ = bind_weight(TensorInfo{table.name, table.file, table.dtype, {2 * c.position_embedding_size, D},
                                             table.data, table.nbytes});

  for (int i = 0; i < c.num_layers; ++i) {
    const std::string p = tower + "encoder.layers." + std::to_string(i) + ".";
    check(!s.find(p + "layer_scalar"), p + "layer_scalar: not part of the reference vision layer", ExitCode::unsupported);
    VisionLayer l;
    l.input_norm = require_vector(s, p + "input_layernorm.weight", D);
    l.post_attention_norm = require_vector(s, p + "post_attention_layernorm.weight", D);
    l.pre_feedforward_norm = require_vector(s, p + "pre_feedforward_layernorm.weight", D);
    l.post_feedforward_norm = require_vector(s, p + "post_feedforward_layernorm.weight", D);
    l.q_norm = require_vector(s, p + "self_attn.q_norm.weight", c.head_dim);
    l.k_norm = require_vector(s, p + "self_attn.k_norm.weight", c.head_dim);
    const bool clip = c.use_clipped_linears;
    l.q = bind_linear(s, p + "self_attn.q_proj", q_width, D, clip);
    l.k = bind_linear(s, p + "self_attn.k_proj", kv_width, D, clip);
    l.v = bind_linear(s, p + "self_attn.v_proj", kv_width, D, clip);
    l.o = bind_linear(s, p + "self_attn.o_proj", D, q_width, clip);
    l.gate = bind_linear(s, p + "mlp.gate_proj", F, D, clip);
    l.up = bind_linear(s, p + "mlp.up_proj", F, D, clip);
    l.down = bind_linear(s, p + "mlp.down_proj", D, F, clip);
    m.layers_.push_back(std::move(l));
  }
  if (c.standardize) {
    m.std_bias_ = require_vector(s, tower + "std_bias", D);
    m.std_scale_ = require_vector(s, tower + "std_scale", D);
  }
  m.embedding_projection_ =
      unclipped(require_weight(s, "model.embed_vision.embedding_projection.weight", c.text_hidden_size, D));
  if (numerics != EncoderNumerics::exact) {
    // The two projections at the ends are ~1% of the work: bf16 even for int8 numerics.
    m.patch_projection_.pack_bf16();
    m.embedding_projection_.pack_bf16();
    for (VisionLayer& l : m.layers_)
      for (ClippedLinear* lin : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down}) lin->pack(numerics);
  }
  return m;
}

VisionModel VisionModel::load_folder(const std::string& model_dir, EncoderNumerics numerics) {
  const std::string config_path = model_dir + "/config.json";
  check(file_exists(config_path), "no config.json in " + model_dir, ExitCode::not_found);
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(read_file(config_path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(config_path + ": invalid JSON (" + e.what() + ")", ExitCode::bad_input);
  }
  return load(std::make_shared<const TensorStore>(TensorStore::open(model_dir)), config, numerics);
}

// ---- Forward pass (spec 3.2)

// Fresh multi-megabyte vectors in every layer cost page faults and zero fills (~7% of an
// encode); these are allocated once per image, and not zero-filled (~100 MB at 280 tokens took
// 50-70 ms on one thread): every layer writes each of them in full before reading it.
struct VisionModel::LayerBuffers {
  UninitializedVector<float> normed, q, k, v, heads, branch, gate, up;

  LayerBuffers(const VisionConfig& c, int64_t n) {
    const auto floats = [n](int64_t width) { return UninitializedVector<float>(static_cast<size_t>(n * width)); };
    normed = floats(c.hidden_size);
    q = floats(int64_t{c.num_heads} * c.head_dim);
    k = floats(int64_t{c.num_kv_heads} * c.head_dim);
    v = floats(int64_t{c.num_kv_heads} * c.head_dim);
    heads = floats(int64_t{c.num_heads} * c.head_dim);
    branch = floats(c.hidden_size);
    gate = floats(c.intermediate_size);
    up = floats(c.intermediate_size);
  }
};


std::vector<float> VisionModel::embed(const ImagePatches& patches, VisionTrace* trace) const {
  const VisionConfig& c = config_;
  check(patches.num_patches > 0, "image has no patches");
  check(patches.patch_values == c.patch_size * c.patch_size * 3,
        "image patches do not match the vision tower's patch size", ExitCode::usage);
  const int k = c.pooling_kernel_size;
  check(patches.grid_width % k == 0 && patches.grid_height % k == 0,
        "the patch grid must be a multiple of the pooling kernel", ExitCode::usage);
  check(patches.grid_width <= c.position_embedding_size && patches.grid_height <= c.position_embedding_size,
        "image patch grid exceeds the position table", ExitCode::usage);

  std::vector<float> h = embed_patches(patches);
  if (trace) trace->patch_embeddings = h;
  const RopeTable rope = rope_table(patches);
  LayerBuffers buffers(c, patches.num_patches);
  rms_norm_into(h, c.hidden_size, layers_[0].input_norm, c.rms_norm_eps, numerics_ != EncoderNumerics::exact,
                buffers.normed);
  for (size_t i = 0; i < layers_.size(); ++i)
    encoder_layer(layers_[i], i + 1 < layers_.size() ? &layers_[i + 1] : nullptr, patches, rope, h, buffers);
  if (trace) trace->encoder_output = h;
  std::vector<float> pooled = pool(patches, h);
  if (trace) trace->pooled = pooled;
  return project(pooled);
}

// h = (2·patch − 1) · W_patchᵀ + T_x[px] + T_y[py]
std::vector<float> VisionModel::embed_patches(const ImagePatches& patches) const {
  const int64_t N = patches.num_patches, D = config_.hidden_size;
  UninitializedVector<float> u(patches.pixel_values.size());
  parallel_ranges(static_cast<int64_t>(u.size()), 16, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) u[i] = 2.f * (patches.pixel_values[i] - 0.5f);
  });
  std::vector<float> h(static_cast<size_t>(N * D));
  apply_unclipped(patch_projection_, u.data(), N, h.data());
  parallel_ranges(N, 1, [&](int64_t n0, int64_t n1) {
    std::vector<float> row_x(D), row_y(D);
    for (int64_t n = n0; n < n1; ++n) {
      const int32_t px = patches.position_ids[n * 2], py = patches.position_ids[n * 2 + 1];
      kernels::dequantize_row(position_table_, px, row_x.data());
      kernels::dequantize_row(position_table_, config_.position_embedding_size + py, row_y.data());
      for (int64_t d = 0; d < D; ++d) h[n * D + d] += row_x[d] + row_y[d];
    }
  });
  return h;
}

// Sandwich-normed residual blocks: h += norm(attn(norm(h))); h += norm(mlp(norm(h))).
VisionModel::RopeTable VisionModel::rope_table(const ImagePatches& patches) const {
  const int half = config_.head_dim / 2, pairs = half / 2;
  std::vector<float> inv_freq(pairs);
  for (int i = 0; i < pairs; ++i) inv_freq[i] = static_cast<float>(1.0 / std::pow(config_.rope_theta, (2.0 * i) / half));
  RopeTable t;
  t.cos.resize(static_cast<size_t>(patches.num_patches * 2 * pairs));
  t.sin.resize(t.cos.size());
  for (int64_t n = 0; n < patches.num_patches; ++n)
    for (int axis = 0; axis < 2; ++axis)
      for (int i = 0; i < pairs; ++i) {
        const float angle = static_cast<float>(patches.position_ids[n * 2 + axis]) * inv_freq[i];
        t.cos[(n * 2 + axis) * pairs + i] = std::cos(angle);
        t.sin[(n * 2 + axis) * pairs + i] = std::sin(angle);
      }
  return t;
}

// b.normed holds rms_norm(h) · layer.input_norm on entry; on return, when next is given, it
// holds the next layer's input (rms_norm(h) · next->input_norm, computed in the last pass).
void VisionModel::encoder_layer(const VisionLayer& layer, const VisionLayer* next, const ImagePatches& patches,
                                const RopeTable& rope, std::vector<float>& h, LayerBuffers& b) const {
  const int D = config_.hidden_size;
  const double eps = config_.rms_norm_eps;
  const bool fast = numerics_ != EncoderNumerics::exact;
  attention(layer, patches, rope, b);
  const int64_t rows = static_cast<int64_t>(h.size()) / D;
  add_normed(h.data(), b.branch.data(), rows, D, layer.post_attention_norm, eps, fast, &layer.pre_feedforward_norm,
             b.normed.data());
  mlp(layer, b);
  add_normed(h.data(), b.branch.data(), rows, D, layer.post_feedforward_norm, eps, fast,
             next ? &next->input_norm : nullptr, next ? b.normed.data() : nullptr);
}

// Bidirectional multi-head attention over all patches: q/k RMS-normed with weights, v without,
// 2-D RoPE on q and k, softmax(q·kᵀ) with scale 1 (the norms already fix the magnitude).
void VisionModel::attention(const VisionLayer& layer, const ImagePatches& patches, const RopeTable& rope,
                            LayerBuffers& b) const {
  const VisionConfig& c = config_;
  const int64_t N = patches.num_patches;
  const int hd = c.head_dim;
  UninitializedVector<float>& q = b.q;
  UninitializedVector<float>& k = b.k;
  UninitializedVector<float>& v = b.v;
  apply_shared_input(b.normed.data(), N, {{&layer.q, q.data()}, {&layer.k, k.data()}, {&layer.v, v.data()}});
  const bool fast = numerics_ != EncoderNumerics::exact;
  rms_norm_rows(q.data(), N * c.num_heads, hd, layer.q_norm.data(), c.rms_norm_eps, fast);
  rms_norm_rows(k.data(), N * c.num_kv_heads, hd, layer.k_norm.data(), c.rms_norm_eps, fast);
  rms_norm_rows(v.data(), N * c.num_kv_heads, hd, nullptr, c.rms_norm_eps, fast);
  // 2-D RoPE: the first half of each head vector rotates with the patch's column x, the second
  // half with its row y; inside each half, channel i pairs with i + hd/4 (NeoX style). So each
  // head is two rotate-half vectors of hd/2, with this patch's two angle sets [axis][hd/4].
  const int rope_stride = hd / 2;
  parallel_ranges(N, 1, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const float* cos = &rope.cos[n * rope_stride];
      const float* sin = &rope.sin[n * rope_stride];
      kernels::rope_apply_vectors(&q[n * c.num_heads * hd], 2 * c.num_heads, hd / 2, 2, cos, sin);
      kernels::rope_apply_vectors(&k[n * c.num_kv_heads * hd], 2 * c.num_kv_heads, hd / 2, 2, cos, sin);
    }
  });

  if (fast) {
    kernels::LongAttentionShape shape;
    shape.queries = shape.keys = N;
    shape.heads = c.num_heads;
    shape.kv_heads = c.num_kv_heads;
    shape.head_dim = hd;
    shape.q_stride = shape.out_stride = int64_t{c.num_heads} * hd;
    shape.kv_stride = int64_t{c.num_kv_heads} * hd;
    shape.scale = 1.f;
    // int8 products where the linears are int8 (the CPU has VNNI), else bf16.
    if (layer.q.packed_int8.rows > 0)
      kernels::attention_bidirectional_int8(shape, q.data(), k.data(), v.data(), nullptr, b.heads.data());
    else
      kernels::attention_bidirectional(shape, q.data(), k.data(), v.data(), nullptr, b.heads.data());
    apply(layer.o, b.heads.data(), N, b.branch.data());
    return;
  }

  // Per head, in blocks of queries so the score matrix stays small: S = Q·Kᵀ, P = softmax(S),
  // O = P·V. Both products go through the matmul kernel, with K and Vᵀ as the "weights".
  constexpr int64_t kQueryBlock = 256;
  UninitializedVector<float>& out = b.heads;
  std::vector<float> scores(static_cast<size_t>(std::min(N, kQueryBlock) * N));
  std::vector<float> head_out(static_cast<size_t>(std::min(N, kQueryBlock) * hd));
  const int group = c.num_heads / c.num_kv_heads;
  for (int head = 0; head < c.num_heads; ++head) {
    const std::vector<float> qh = gather_head(q.data(), N, c.num_heads, hd, head);
    const std::vector<float> kh = gather_head(k.data(), N, c.num_kv_heads, hd, head / group);
    const std::vector<float> vh = gather_head(v.data(), N, c.num_kv_heads, hd, head / group);
    std::vector<float> vh_t(vh.size());
    for (int64_t t = 0; t < N; ++t)
      for (int d = 0; d < hd; ++d) vh_t[d * N + t] = vh[t * hd + d];
    const Weight k_matrix = f32_matrix(kh, N, hd), v_transposed = f32_matrix(vh_t, hd, N);
    for (int64_t q0 = 0; q0 < N; q0 += kQueryBlock) {
      const int64_t rows = std::min(kQueryBlock, N - q0);
      kernels::matmul(k_matrix, &qh[q0 * hd], rows, scores.data());
      for (int64_t r = 0; r < rows; ++r) kernels::softmax_inplace(&scores[r * N], N);
      kernels::matmul(v_transposed, scores.data(), rows, head_out.data());
      for (int64_t r = 0; r < rows; ++r)
        std::copy_n(&head_out[r * hd], hd, &out[((q0 + r) * c.num_heads + head) * hd]);
    }
  }
  apply(layer.o, out.data(), N, b.branch.data());
}

// GeGLU: down(gelu_tanh(gate(x)) * up(x)).
void VisionModel::mlp(const VisionLayer& layer, LayerBuffers& b) const {
  const int64_t N = static_cast<int64_t>(b.normed.size()) / config_.hidden_size;
  UninitializedVector<float>& gate = b.gate;
  if (numerics_ != EncoderNumerics::exact) {
    apply_geglu(layer.gate, layer.up, b.normed.data(), N, gate.data(), b.up.data());
  } else {
    apply(layer.gate, b.normed.data(), N, gate.data());
    apply(layer.up, b.normed.data(), N, b.up.data());
    for (size_t i = 0; i < gate.size(); ++i) gate[i] = gelu_tanh(gate[i]) * b.up[i];
  }
  apply(layer.down, gate.data(), N, b.branch.data());
}

// k×k average pooling of the patch grid (row-major output, x fastest), then ×sqrt(hidden).
std::vector<float> VisionModel::pool(const ImagePatches& patches, const std::vector<float>& h) const {
  const int k = config_.pooling_kernel_size, D = config_.hidden_size;
  const int tokens_x = patches.grid_width / k, tokens_y = patches.grid_height / k;
  const float scale = std::sqrt(static_cast<float>(D));
  std::vector<float> pooled(static_cast<size_t>(tokens_x) * tokens_y * D, 0.f);
  for (int ty = 0; ty < tokens_y; ++ty)
    for (int tx = 0; tx < tokens_x; ++tx) {
      float* out = &pooled[(static_cast<size_t>(ty) * tokens_x + tx) * D];
      for (int dy = 0; dy < k; ++dy)
        for (int dx = 0; dx < k; ++dx) {
          const float* in = &h[(static_cast<size_t>(ty * k + dy) * patches.grid_width + (tx * k + dx)) * D];
          for (int d = 0; d < D; ++d) out[d] += in[d];
        }
      for (int d = 0; d < D; ++d) out[d] = out[d] / static_cast<float>(k * k) * scale;
    }
  if (config_.standardize)
    for (size_t i = 0; i < pooled.size(); ++i) pooled[i] = (pooled[i] - std_bias_[i % D]) * std_scale_[i % D];
  return pooled;
}

// The multimodal embedder: scale-free RMSNorm, then the projection into the text width.
std::vector<float> VisionModel::project(const std::vector<float>& pooled) const {
  const int D = config_.hidden_size;
  const std::vector<float> normed = rms_norm(pooled, D, {}, config_.rms_norm_eps, numerics_ != EncoderNumerics::exact);
  const int64_t T = static_cast<int64_t>(pooled.size()) / D;
  std::vector<float> out(static_cast<size_t>(T * config_.text_hidden_size));
  apply_unclipped(embedding_projection_, normed.data(), T, out.data());
  return out;
}

}  // namespace gemma4
