// Audio encoder forward pass in plain C++; every linear goes through kernels::matmul (exact
// numerics) or the packed bf16 / int8 GEMMs (fast / int8 numerics, model/clipped_linear.h).
// Follows ../shared/spec/audio.md §4 block by block.
#include "model/audio_encoder.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "base/error.h"
#include "base/thread_pool.h"
#include "kernels/attention_long.h"  // softmax_rows
#include "kernels/batch_ops.h"
#include "kernels/matmul.h"
#include "kernels/vector_ops.h"

namespace gemma4 {
namespace {

// ---- small math helpers ----------------------------------------------------------------------

float silu(float x) { return x / (1.0f + std::exp(-x)); }
float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

// RMSNorm of each row: x · (mean(x²) + eps)^-½ · g (no "1 + g" offset in the audio tower).
// An empty `g` means no weight.
// Rows are independent: spread over the thread pool (the same numbers either way).
void rms_norm_rows(float* x, int64_t rows, int64_t width, const std::vector<float>& g, float eps) {
  parallel_ranges(rows, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* row = x + r * width;
      double sum = 0;
      for (int64_t i = 0; i < width; ++i) sum += static_cast<double>(row[i]) * row[i];
      const float inv = static_cast<float>(1.0 / std::sqrt(sum / static_cast<double>(width) + eps));
      for (int64_t i = 0; i < width; ++i) row[i] = row[i] * inv * (g.empty() ? 1.0f : g[i]);
    }
  });
}

// The same norm on the vectorized kernel (float32 sums) for the fast and int8 numerics.
void norm_rows(EncoderNumerics numerics, float* x, int64_t rows, int64_t width, const std::vector<float>& g,
               float eps) {
  if (numerics != EncoderNumerics::exact)
    kernels::rms_norm_rows(x, g.empty() ? nullptr : g.data(), rows, width, eps, x);
  else
    rms_norm_rows(x, rows, width, g, eps);
}

// LayerNorm over the last axis without bias, (x − mean)/sqrt(var + eps) · g, then ReLU.
void layer_norm_relu(float* row, int64_t width, const std::vector<float>& g, float eps) {
  double mean = 0, var = 0;
  for (int64_t i = 0; i < width; ++i) mean += row[i];
  mean /= static_cast<double>(width);
  for (int64_t i = 0; i < width; ++i) var += (row[i] - mean) * (row[i] - mean);
  var /= static_cast<double>(width);
  const double inv = 1.0 / std::sqrt(var + eps);
  for (int64_t i = 0; i < width; ++i) row[i] = std::max(static_cast<float>((row[i] - mean) * inv) * g[i], 0.0f);
}

std::vector<float> linear(const Weight& w, const std::vector<float>& x, int64_t n) {
  std::vector<float> y(static_cast<size_t>(n * w.rows));
  kernels::matmul(w, x.data(), n, y.data());
  return y;
}

// Without bounds (the layer's weight only), on the packed GEMM when packed.
std::vector<float> linear(const ClippedLinear& l, const std::vector<float>& x, int64_t n) {
  std::vector<float> y(static_cast<size_t>(n * l.weight.rows));
  apply_unclipped(l, x.data(), n, y.data());
  return y;
}

// One output time step t of a subsampling block over an input of Fq frequencies × C channels
// (channels fastest): a stride-2, 3x3, pad-1 convolution as im2col + matmul, then LayerNorm and
// ReLU per position (double sums for exact numerics, the vectorized float kernel otherwise);
// zeros when the step is not `valid`. in[a] is input time step 2t + a - 1 (null: padding). The
// kernel's columns are ordered (row, col, in) (conv_kernel_by_tap), so the three columns of a
// kernel row are 3·C consecutive inputs. out: [Fo, C_out]; patches: the caller's scratch.
void conv_step(EncoderNumerics numerics, const ClippedLinear& w, const std::vector<float>& norm, float eps, bool valid,
               const float* const (&in)[3], int64_t Fq, int64_t C, float* out, std::vector<float>& patches) {
  const int64_t Fo = (Fq - 1) / 2 + 1, C_out = w.weight.rows, patch = 9 * C;
  if (!valid) {
    std::fill_n(out, Fo * C_out, 0.0f);
    return;
  }
  patches.resize(static_cast<size_t>(Fo * patch));
  for (int64_t f = 0; f < Fo; ++f) {
    for (int64_t a = 0; a < 3; ++a) {
      for (int64_t b = 0; b < 3; ++b) {
        const int64_t fi = 2 * f + b - 1;
        float* dst = patches.data() + f * patch + (a * 3 + b) * C;
        if (!in[a] || fi < 0 || fi >= Fq)
          std::fill_n(dst, C, 0.0f);
        else
          std::copy_n(in[a] + fi * C, C, dst);
      }
    }
  }
  apply_unclipped(w, patches.data(), Fo, out);  // inside the pool: runs on this thread
  if (numerics == EncoderNumerics::exact)
    for (int64_t f = 0; f < Fo; ++f) layer_norm_relu(out + f * C_out, C_out, norm, eps);
  else
    kernels::layer_norm_relu_rows(out, Fo, C_out, norm.data(), eps);
}

std::vector<uint8_t> every_other(const std::vector<uint8_t>& mask) {
  std::vector<uint8_t> decimated;
  for (size_t t = 0; t < mask.size(); t += 2) decimated.push_back(mask[t]);
  return decimated;
}

// ---- weight binding --------------------------------------------------------------------------

// A PyTorch conv kernel [out, in, 3, 3] as the float32 matrix [out, 3·3·in] whose columns are
// ordered (row, col, in): the order conv_step gathers its patches in.
Weight conv_kernel_by_tap(const TensorInfo& t, int64_t out, int64_t in) {
  const std::vector<float> k = to_f32(t);
  auto m = std::make_shared<std::vector<float>>(static_cast<size_t>(out * 9 * in));
  for (int64_t o = 0; o < out; ++o)
    for (int64_t c = 0; c < in; ++c)
      for (int64_t tap = 0; tap < 9; ++tap) (*m)[(o * 9 + tap) * in + c] = k[(o * in + c) * 9 + tap];
  return f32_matrix_view(m->data(), out, 9 * in, t.name, m);
}

struct Binder {
  const TensorStore& store;
  const LoadOptions& options;
  Weight matrix(const std::string& name, int64_t rows, int64_t cols) const {
    return bind_weight(store, name, rows, cols, WeightRole::linear, options);
  }
  std::vector<float> vec(const std::string& name, std::vector<int64_t> shape) const {
    return to_f32(store.require(name, shape));
  }
  float scalar(const std::string& name) const {
    std::vector<float> v = to_f32(store.require(name));
    check(v.size() == 1, name + ": expected a scalar", ExitCode::bad_input);
    return v[0];
  }
  ClippedLinear clipped(const std::string& name, int64_t rows, int64_t cols, bool use_bounds) const {
    ClippedLinear l;
    l.weight = matrix(name + ".linear.weight", rows, cols);
    const float inf = std::numeric_limits<float>::infinity();
    l.input_min = use_bounds ? scalar(name + ".input_min") : -inf;
    l.input_max = use_bounds ? scalar(name + ".input_max") : inf;
    l.output_min = use_bounds ? scalar(name + ".output_min") : -inf;
    l.output_max = use_bounds ? scalar(name + ".output_max") : inf;
    return l;
  }
};

}  // namespace

// ---- config ----------------------------------------------------------------------------------

int AudioConfig::subsampled_mel_bins() const {
  int f = num_mel_bins;
  for (size_t i = 0; i < conv_channels.size(); ++i) f = (f - 1) / 2 + 1;
  return f;
}

bool AudioConfig::present(const nlohmann::json& config) {
  return config.contains("audio_config") && config["audio_config"].is_object();
}

AudioConfig AudioConfig::from_json(const nlohmann::json& config) {
  check(present(config), "config.json has no audio_config: this model does not accept audio", ExitCode::unsupported);
  const nlohmann::json& a = config["audio_config"];
  AudioConfig c;
  try {
    c.hidden_size = a.at("hidden_size").get<int>();
    c.num_layers = a.at("num_hidden_layers").get<int>();
    c.num_heads = a.at("num_attention_heads").get<int>();
    c.conv_channels = a.at("subsampling_conv_channels").get<std::vector<int>>();
    c.conv_kernel_size = a.at("conv_kernel_size").get<int>();
    c.residual_weight = a.value("residual_weight", 0.5f);
    c.attention_context_left = a.at("attention_context_left").get<int>();
    c.attention_context_right = a.value("attention_context_right", 0);
    c.attention_logit_cap = a.at("attention_logit_cap").get<float>();
    c.use_clipped_linears = a.value("use_clipped_linears", true);
    c.rms_norm_eps = a.value("rms_norm_eps", 1e-6f);
    c.gradient_clipping = a.value("gradient_clipping", 1e10f);
    c.output_proj_dims = a.at("output_proj_dims").get<int>();
    const nlohmann::json& text = config.contains("text_config") ? config["text_config"] : config;
    c.text_hidden_size = text.at("hidden_size").get<int>();
    c.boa_token_id = config.value("boa_token_id", int64_t{-1});
    c.audio_token_id = config.value("audio_token_id", int64_t{-1});
    c.eoa_token_id = config.value("eoa_token_id", int64_t{-1});
    const std::string act = a.value("hidden_act", "silu");
    check(act == "silu", "audio_config.hidden_act '" + act + "' is not supported", ExitCode::unsupported);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("config.json audio_config: ") + e.what(), ExitCode::bad_input);
  }
  check(c.hidden_size > 0 && c.num_heads > 0 && c.hidden_size % c.num_heads == 0 && c.num_layers >= 0 &&
            !c.conv_channels.empty() && c.conv_kernel_size > 0 && c.attention_context_left >= 2 &&
            c.attention_context_right >= 0 && c.attention_logit_cap > 0 && c.output_proj_dims > 0 &&
            c.text_hidden_size > 0 && c.hidden_size % 2 == 0,
        "config.json audio_config: inconsistent sizes");
  for (int ch : c.conv_channels) check(ch > 0, "config.json audio_config: bad subsampling_conv_channels");
  c.head_dim = c.hidden_size / c.num_heads;
  return c;
}

int64_t audio_soft_token_count(int64_t mel_frames, int num_convs) {
  int64_t t = mel_frames;
  for (int i = 0; i < num_convs; ++i) t = (t + 1) / 2;
  return t;
}

// ---- loading ---------------------------------------------------------------------------------

AudioEncoder AudioEncoder::load(const TensorStore& store, const AudioConfig& config, const LoadOptions& options,
                                EncoderNumerics numerics) {
  AudioEncoder e;
  e.store_ = store;
  AudioConfig& c = e.cfg_;
  c = config;
  const Binder b{e.store_, options};
  const std::string sscp = c.prefix + "subsample_conv_projection.";
  // The mel width (config.num_mel_bins, from the feature extractor) must match the projection.
  const TensorInfo& proj = e.store_.require(sscp + "input_proj_linear.weight");
  check(proj.shape.size() == 2 && proj.shape[1] % c.conv_channels.back() == 0,
        proj.name + ": unexpected shape " + proj.shape_str(), ExitCode::bad_input);
  check(c.conv_channels.size() == 2, "audio tower: expected two subsampling convolutions", ExitCode::unsupported);
  check(proj.shape[1] == c.input_proj_features(),
        proj.name + " has " + std::to_string(proj.shape[1]) + " inputs; " + std::to_string(c.num_mel_bins) +
            " mel bins and " + std::to_string(c.conv_channels.back()) + " channels give " +
            std::to_string(c.input_proj_features()),
        ExitCode::bad_input);
  e.numerics_ = numerics;
  e.conv0_.weight = conv_kernel_by_tap(e.store_.require(sscp + "layer0.conv.weight", {c.conv_channels[0], 1, 3, 3}),
                                      c.conv_channels[0], 1);
  e.conv1_.weight = conv_kernel_by_tap(
      e.store_.require(sscp + "layer1.conv.weight", {c.conv_channels[1], c.conv_channels[0], 3, 3}),
      c.conv_channels[1], c.conv_channels[0]);
  e.conv0_norm_ = b.vec(sscp + "layer0.norm.weight", {c.conv_channels[0]});
  e.conv1_norm_ = b.vec(sscp + "layer1.norm.weight", {c.conv_channels[1]});
  e.input_proj_.weight = b.matrix(sscp + "input_proj_linear.weight", c.hidden_size, proj.shape[1]);

  const int64_t d = c.hidden_size, ff = 4LL * d;  // the reference's FFN width is 4 x hidden (not in config)
  const bool clip = c.use_clipped_linears;
  for (int L = 0; L < c.num_layers; ++L) {
    const std::string p = c.prefix + "layers." + std::to_string(L) + ".";
    ConformerLayerWeights w;
    for (int i = 0; i < 2; ++i) {
      const std::string f = p + (i == 0 ? "feed_forward1." : "feed_forward2.");
      FeedForwardWeights& fw = i == 0 ? w.ffn1 : w.ffn2;
      fw.pre_norm = b.vec(f + "pre_layer_norm.weight", {d});
      fw.post_norm = b.vec(f + "post_layer_norm.weight", {d});
      fw.up = b.clipped(f + "ffw_layer_1", ff, d, clip);
      fw.down = b.clipped(f + "ffw_layer_2", d, ff, clip);
    }
    w.norm_pre_attn = b.vec(p + "norm_pre_attn.weight", {d});
    w.norm_post_attn = b.vec(p + "norm_post_attn.weight", {d});
    w.norm_out = b.vec(p + "norm_out.weight", {d});
    w.q = b.clipped(p + "self_attn.q_proj", d, d, clip);
    w.k = b.clipped(p + "self_attn.k_proj", d, d, clip);
    w.v = b.clipped(p + "self_attn.v_proj", d, d, clip);
    w.post = b.clipped(p + "self_attn.post", d, d, clip);
    w.relative_k = b.matrix(p + "self_attn.relative_k_proj.weight", d, d);
    w.per_dim_scale = b.vec(p + "self_attn.per_dim_scale", {c.head_dim});
    w.lconv_pre_norm = b.vec(p + "lconv1d.pre_layer_norm.weight", {d});
    w.lconv_conv_norm = b.vec(p + "lconv1d.conv_norm.weight", {d});
    w.linear_start = b.clipped(p + "lconv1d.linear_start", 2 * d, d, clip);
    w.linear_end = b.clipped(p + "lconv1d.linear_end", d, d, clip);
    w.depthwise = b.vec(p + "lconv1d.depthwise_conv1d.weight", {d, 1, c.conv_kernel_size});
    w.depthwise_by_tap.resize(w.depthwise.size());
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < c.conv_kernel_size; ++j)
        w.depthwise_by_tap[j * d + i] = w.depthwise[i * c.conv_kernel_size + j];
    w.relative_keys = e.relative_keys(w.relative_k);
    e.layers_.push_back(std::move(w));
  }
  e.output_proj_.weight = b.matrix(c.prefix + "output_proj.weight", c.output_proj_dims, d);
  e.output_proj_bias_ = b.vec(c.prefix + "output_proj.bias", {c.output_proj_dims});
  e.embedding_projection_.weight =
      b.matrix(c.embedder_prefix + "embedding_projection.weight", c.text_hidden_size, c.output_proj_dims);
  if (numerics != EncoderNumerics::exact) {
    // The subsampling convs and the projections at the ends: bf16 even for int8 numerics.
    for (ClippedLinear* l : {&e.conv0_, &e.conv1_, &e.input_proj_, &e.output_proj_, &e.embedding_projection_})
      l->pack_bf16();
    for (ConformerLayerWeights& w : e.layers_)
      for (ClippedLinear* l : {&w.ffn1.up, &w.ffn1.down, &w.ffn2.up, &w.ffn2.down, &w.q, &w.k, &w.v, &w.post,
                               &w.linear_start, &w.linear_end})
        l->pack(numerics);
  }
  return e;
}

// Relative keys for distances δ = t − s in [−right, max_past]: sinusoids [sin | cos] projected
// by relative_k. Row r is δ = max_past − r.
std::vector<float> AudioEncoder::relative_keys(const Weight& relative_k) const {
  const AudioConfig& c = cfg_;
  const int64_t d = c.hidden_size;
  const int64_t max_past = c.attention_context_left - 2, max_future = c.attention_context_right;
  const int64_t n_rel = max_past + max_future + 1;
  const int64_t half = d / 2;
  const double log_increment = std::log(10000.0) / std::max<int64_t>(half - 1, 1);
  std::vector<float> sinusoids(static_cast<size_t>(n_rel * d));
  for (int64_t r = 0; r < n_rel; ++r) {
    const double delta = static_cast<double>(max_past - r);
    for (int64_t i = 0; i < half; ++i) {
      const double angle = delta * std::exp(-static_cast<double>(i) * log_increment);
      sinusoids[r * d + i] = static_cast<float>(std::sin(angle));
      sinusoids[r * d + half + i] = static_cast<float>(std::cos(angle));
    }
  }
  return linear(relative_k, sinusoids, n_rel);
}

// ---- forward ---------------------------------------------------------------------------------

// Subsampling convs -> [tokens, hidden]. Time and frequency are both halved by each conv.
// The first conv's output is never stored whole ([T/2, F/2, channels]: 50 MB for 30 s, written
// once and read once): each range of second-conv steps computes the first-conv steps it reads
// (2t - 1 .. 2t + 1) into a ring of three, so they are made once and read from cache.
std::vector<float> AudioEncoder::subsample(const LogMel& mel, int64_t* tokens, std::vector<uint8_t>* token_mask) const {
  const AudioConfig& c = cfg_;
  const int64_t T = mel.frames, Fq = mel.num_mel_bins;
  std::vector<float> x(mel.features);
  for (int64_t t = 0; t < T; ++t)
    if (!mel.mask[t]) std::fill_n(x.begin() + t * Fq, Fq, 0.0f);
  const std::vector<uint8_t> mask0 = every_other(mel.mask), mask1 = every_other(mask0);
  const int64_t T0 = static_cast<int64_t>(mask0.size()), F0 = (Fq - 1) / 2 + 1, C0 = c.conv_channels[0];
  const int64_t T1 = static_cast<int64_t>(mask1.size()), F1 = (F0 - 1) / 2 + 1, C1 = c.conv_channels[1];
  // Input time step s of a conv whose input has `steps` steps, or null (padding).
  auto at = [](const float* base, int64_t s, int64_t steps, int64_t row) { return s >= 0 && s < steps ? base + s * row : nullptr; };

  std::vector<float> y(static_cast<size_t>(T1 * F1 * C1));
  parallel_ranges(T1, 1, [&](int64_t t0, int64_t t1) {
    std::vector<float> ring(static_cast<size_t>(3 * F0 * C0)), patches0, patches1;
    int64_t held[3] = {-1, -1, -1};  // the first-conv step in each ring slot
    auto first_conv_step = [&](int64_t s) -> const float* {
      if (s < 0 || s >= T0) return nullptr;
      float* slot = ring.data() + (s % 3) * F0 * C0;
      if (held[s % 3] != s) {
        const float* const in[3] = {at(x.data(), 2 * s - 1, T, Fq), at(x.data(), 2 * s, T, Fq),
                                    at(x.data(), 2 * s + 1, T, Fq)};
        conv_step(numerics_, conv0_, conv0_norm_, c.rms_norm_eps, mask0[s], in, Fq, 1, slot, patches0);
        held[s % 3] = s;
      }
      return slot;
    };
    for (int64_t t = t0; t < t1; ++t) {
      // Steps 2t - 1, 2t, 2t + 1 sit in distinct slots (consecutive, modulo 3).
      const float* const in[3] = {first_conv_step(2 * t - 1), first_conv_step(2 * t), first_conv_step(2 * t + 1)};
      conv_step(numerics_, conv1_, conv1_norm_, c.rms_norm_eps, mask1[t], in, F0, C0, y.data() + t * F1 * C1,
                patches1);
    }
  });
  // [T, Fq, C] is already the (freq-major, channel-fastest) flatten the projection expects.
  *tokens = T1;
  *token_mask = mask1;
  return linear(input_proj_, y, T1);
}

// y = rms_norm(clamp(x, lo, hi)) · g, row by row in one pass over the pool (y may be x).
void AudioEncoder::clamp_norm_rows(const float* x, float* y, int64_t rows, const std::vector<float>& g, float lo,
                                   float hi) const {
  const int64_t d = cfg_.hidden_size;
  parallel_ranges(rows, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      kernels::clamp_copy(x + r * d, y + r * d, d, lo, hi);
      norm_rows(numerics_, y + r * d, 1, d, g, cfg_.rms_norm_eps);
    }
  });
}

// A sub-block's output into the residual stream, row by row:
// h = rms_norm(clamp(h, ±gradient_clipping)) · g, then x += scale · h.
void AudioEncoder::add_clamped_norm(std::vector<float>& x, float* h, int64_t rows, const std::vector<float>& g,
                                    float scale) const {
  const int64_t d = cfg_.hidden_size;
  const float clip = cfg_.gradient_clipping;
  parallel_ranges(rows, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* hr = h + r * d;
      kernels::clamp_copy(hr, hr, d, -clip, clip);
      norm_rows(numerics_, hr, 1, d, g, cfg_.rms_norm_eps);
      kernels::add_scaled(x.data() + r * d, hr, scale, d);
    }
  });
}

// The buffers of one encode() call, shared by all layers: allocated (and zero-filled) once per
// clip instead of once per sub-block, which for a 30 s clip was megabytes of page faults and
// memset per matrix product.
struct AudioEncoder::Scratch {
  std::vector<float> in, out;         // [T, d]: a sub-block's normed input and its output
  std::vector<float> wide;            // the FFN's hidden layer [T, 4d]; the light conv's [T, 2d]
  std::vector<float> q, k, v, mixed;  // [T, d]: attention
  std::vector<float> glu, conv;       // [T, d]: light conv

  static float* sized(std::vector<float>& buffer, int64_t n) {
    if (static_cast<int64_t>(buffer.size()) < n) buffer.resize(static_cast<size_t>(n));
    return buffer.data();
  }
};

void AudioEncoder::feed_forward(const FeedForwardWeights& w, std::vector<float>& x, int64_t T, Scratch& s) const {
  const AudioConfig& c = cfg_;
  const int64_t d = c.hidden_size, ff = w.up.weight.rows;
  float* in = Scratch::sized(s.in, T * d);
  float* hidden = Scratch::sized(s.wide, T * ff);
  float* out = Scratch::sized(s.out, T * d);
  clamp_norm_rows(x.data(), in, T, w.pre_norm, -c.gradient_clipping, c.gradient_clipping);
  if (numerics_ != EncoderNumerics::exact) {
    apply(w.up, in, T, hidden, kernels::Activation::silu);  // SiLU as the GEMM stores
  } else {
    apply(w.up, in, T, hidden);
    for (int64_t i = 0; i < T * ff; ++i) hidden[i] = silu(hidden[i]);
  }
  apply(w.down, hidden, T, out);
  add_clamped_norm(x, out, T, w.post_norm, c.residual_weight);
}

// Local self-attention with relative-position keys. The reference computes it in blocks of
// `attention_chunk_size` queries; with its sliding mask that equals this dense band: query t
// sees keys t-(context_left-2) .. t+context_right that are valid frames (spec §4.3).
void AudioEncoder::attention(const ConformerLayerWeights& w, const float* x, int64_t T,
                             const std::vector<uint8_t>& mask, Scratch& s, float* result) const {
  const AudioConfig& c = cfg_;
  const int64_t d = c.hidden_size, H = c.num_heads, D = c.head_dim;
  float* q = Scratch::sized(s.q, T * d);
  float* k = Scratch::sized(s.k, T * d);
  float* v = Scratch::sized(s.v, T * d);
  float* out = Scratch::sized(s.mixed, T * d);
  apply_shared_input(x, T, {{&w.q, q}, {&w.k, k}, {&w.v, v}});

  // Query scale: 1/sqrt(D) / ln 2 · softplus(per_dim_scale); key scale softplus(1)/softplus(0).
  const float q_base = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)) / std::log(2.0));
  const float k_scale = static_cast<float>(std::log1p(std::exp(1.0)) / std::log(2.0));
  std::vector<float> q_scale(static_cast<size_t>(D));
  for (int64_t i = 0; i < D; ++i) q_scale[i] = q_base * softplus(w.per_dim_scale[i]);
  const bool fast = numerics_ != EncoderNumerics::exact;
  // Fast numerics scale each query head as it is used and apply the key scale to its dot
  // product instead: no pass over q and k.
  if (!fast)
    parallel_ranges(T, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t i = t0 * d; i < t1 * d; ++i) {
        q[i] *= q_scale[i % D];
        k[i] *= k_scale;
      }
    });

  const int64_t max_past = c.attention_context_left - 2, max_future = c.attention_context_right;
  const int64_t n_rel = max_past + max_future + 1;
  const std::vector<float>& rel_k = w.relative_keys;  // row r: δ = max_past − r
  const float cap = c.attention_logit_cap;
  // Queries are independent (each writes its own output row): spread over the pool.
  parallel_ranges(T, 1, [&](int64_t t0, int64_t t1) {
    std::vector<float> logits(static_cast<size_t>(n_rel)), scaled_query(static_cast<size_t>(D));
    std::fill(out + t0 * d, out + t1 * d, 0.0f);
    for (int64_t t = t0; t < t1; ++t) {
      for (int64_t h = 0; h < H; ++h) {
        const float* qt = q + t * d + h * D;
        if (fast) {
          for (int64_t i = 0; i < D; ++i) scaled_query[i] = qt[i] * q_scale[i];
          qt = scaled_query.data();
        }
        // Keys inside the clip: r in [r_begin, r_end); masked frames among them get −inf.
        const int64_t r_begin = std::max<int64_t>(0, max_past - t);
        const int64_t r_end = std::min<int64_t>(n_rel, T - t + max_past);
        std::fill(logits.begin(), logits.end(), -std::numeric_limits<float>::infinity());
        if (r_begin >= r_end) continue;
        for (int64_t r = r_begin; r < r_end; ++r) {
          const int64_t s_pos = t - (max_past - r);
          const float* ks = k + s_pos * d + h * D;
          const float* rk = rel_k.data() + r * d + h * D;
          float z = 0.0f;
          if (fast)  // q·(k + r) as two vectorized dots: the same sum in another order
            z = k_scale * kernels::dot(qt, ks, D) + kernels::dot(qt, rk, D);
          else
            for (int64_t i = 0; i < D; ++i) z += qt[i] * (ks[i] + rk[i]);
          logits[r] = z;
        }
        if (fast) {
          kernels::softcap(logits.data() + r_begin, r_end - r_begin, cap);
        } else {
          for (int64_t r = r_begin; r < r_end; ++r) logits[r] = cap * std::tanh(logits[r] / cap);
        }
        float max_logit = -std::numeric_limits<float>::infinity();
        for (int64_t r = r_begin; r < r_end; ++r) {
          if (!mask[t - (max_past - r)]) logits[r] = -std::numeric_limits<float>::infinity();
          max_logit = std::max(max_logit, logits[r]);
        }
        if (max_logit == -std::numeric_limits<float>::infinity()) continue;  // no valid key (padding)
        float sum = 1.0f;
        if (fast) {  // the vectorized softmax of the window; masked keys (-inf) get exactly 0
          kernels::softmax_rows(logits.data() + r_begin, 1, r_end - r_begin, 0, 1.0f, nullptr);
          for (int64_t r = r_begin; r < r_end; ++r)
            if (!mask[t - (max_past - r)]) logits[r] = 0.0f;
        } else {
          sum = 0.0f;
          for (float& z : logits) {
            z = std::exp(z - max_logit);
            sum += z;
          }
        }
        float* o = out + t * d + h * D;
        for (int64_t r = r_begin; r < r_end; ++r) {
          if (logits[r] == 0.0f) continue;
          const float p = logits[r] / sum;
          const float* vs = v + (t - (max_past - r)) * d + h * D;
          if (fast)
            kernels::axpy(p, vs, o, D);
          else
            for (int64_t i = 0; i < D; ++i) o[i] += p * vs[i];
        }
      }
    }
  });
  apply(w.post, out, T, result);
}

// Light convolution module: GLU, causal depthwise conv, norm, SiLU, projection.
void AudioEncoder::light_conv(const ConformerLayerWeights& w, const std::vector<float>& x, int64_t T, Scratch& s,
                              float* result) const {
  const AudioConfig& c = cfg_;
  const int64_t d = c.hidden_size, K = c.conv_kernel_size;
  const float inf = std::numeric_limits<float>::infinity();
  float* in = Scratch::sized(s.in, T * d);
  float* gl = Scratch::sized(s.wide, T * 2 * d);  // [T, 2d]
  float* glu = Scratch::sized(s.glu, T * d);
  float* conv = Scratch::sized(s.conv, T * d);
  clamp_norm_rows(x.data(), in, T, w.lconv_pre_norm, -inf, inf);
  apply(w.linear_start, in, T, gl);
  if (numerics_ != EncoderNumerics::exact)
    kernels::glu_sigmoid(gl, T, d, glu);
  else
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < d; ++i) glu[t * d + i] = gl[t * 2 * d + i] * sigmoid(gl[t * 2 * d + d + i]);
  // Causal depthwise conv (left zero padding of K−1), taps in order j = 0..K−1 for each output,
  // vectorized over the channels; then clamp, norm and SiLU while the row is in cache.
  const float clip = c.gradient_clipping;
  parallel_ranges(T, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      float* out = conv + t * d;
      std::fill_n(out, d, 0.0f);
      for (int64_t j = 0; j < K; ++j) {
        const int64_t s_pos = t - (K - 1) + j;
        if (s_pos < 0) continue;
        kernels::multiply_add(out, w.depthwise_by_tap.data() + j * d, glu + s_pos * d, d);
      }
      kernels::clamp_copy(out, out, d, -clip, clip);
      norm_rows(numerics_, out, 1, d, w.lconv_conv_norm, c.rms_norm_eps);
      if (numerics_ != EncoderNumerics::exact)
        kernels::silu(out, d);
      else
        for (int64_t i = 0; i < d; ++i) out[i] = silu(out[i]);
    }
  });
  apply(w.linear_end, conv, T, result);
}

void AudioEncoder::conformer_layer(const ConformerLayerWeights& w, std::vector<float>& x, int64_t T,
                                   const std::vector<uint8_t>& mask, Scratch& s) const {
  const AudioConfig& c = cfg_;
  const int64_t d = c.hidden_size;
  feed_forward(w.ffn1, x, T, s);

  float* in = Scratch::sized(s.in, T * d);
  float* out = Scratch::sized(s.out, T * d);
  clamp_norm_rows(x.data(), in, T, w.norm_pre_attn, -c.gradient_clipping, c.gradient_clipping);
  attention(w, in, T, mask, s, out);
  add_clamped_norm(x, out, T, w.norm_post_attn, 1.0f);
  light_conv(w, x, T, s, out);
  parallel_ranges(T * d, 16, [&](int64_t i0, int64_t i1) { kernels::add_scaled(x.data() + i0, out + i0, 1.0f, i1 - i0); });

  feed_forward(w.ffn2, x, T, s);
  clamp_norm_rows(x.data(), x.data(), T, w.norm_out, -c.gradient_clipping, c.gradient_clipping);
}

std::vector<float> AudioEncoder::encode(const LogMel& mel, AudioEncoderTrace* trace) const {
  const AudioConfig& c = cfg_;
  check(mel.num_mel_bins == c.num_mel_bins,
        "audio features have " + std::to_string(mel.num_mel_bins) + " mel bins; the audio tower expects " +
            std::to_string(c.num_mel_bins),
        ExitCode::bad_input);
  check(mel.frames > 0 && mel.valid_frames() > 0, "audio clip is too short: no complete feature frame",
        ExitCode::bad_input);
  int64_t T = 0;
  std::vector<uint8_t> mask;
  std::vector<float> x = subsample(mel, &T, &mask);
  if (trace) trace->subsample_output = x;
  Scratch scratch;
  for (const ConformerLayerWeights& w : layers_) conformer_layer(w, x, T, mask, scratch);

  std::vector<float> y = linear(output_proj_, x, T);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < c.output_proj_dims; ++i) y[t * c.output_proj_dims + i] += output_proj_bias_[i];
  if (trace) trace->audio_tower_output = y;

  // Keep the valid tokens only, then embed: RMSNorm without weight, then a linear.
  std::vector<float> valid;
  int64_t n = 0;
  for (int64_t t = 0; t < T; ++t) {
    if (!mask[t]) continue;
    valid.insert(valid.end(), y.begin() + t * c.output_proj_dims, y.begin() + (t + 1) * c.output_proj_dims);
    ++n;
  }
  norm_rows(numerics_, valid.data(), n, c.output_proj_dims, {}, c.rms_norm_eps);
  return linear(embedding_projection_, valid, n);
}

}  // namespace gemma4
