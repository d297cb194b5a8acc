// Our engine running a llama.cpp `gemma4` GGUF: the tiny goldens model written with
// `gemma4 quantize` (write_text_gguf) and loaded back must give the logits of the safetensors
// path (and so of the goldens), with the configuration, stop ids and tokenizer from the file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

#include "base/error.h"
#include "io/hf_to_gguf.h"
#include "io/npy.h"
#include "kernels/matmul.h"
#include "model/gguf_loader.h"
#include "model/text_decoder.h"
#include "golden_util.h"
#include "test_util.h"

using namespace gemma4;
using test::all_close;

namespace {

// The tiny model as a text GGUF of `type` (written once per type).
const std::string& tiny_gguf(const std::string& type) {
  static std::map<std::string, std::string> paths;
  std::string& p = paths[type];
  if (p.empty()) {
    GgufConvertOptions o;
    o.type = ggml_type_from_name(type);
    p = test::temp_dir("gguf-loader") + "/tiny-" + type + ".gguf";
    write_text_gguf(test::tiny_dir(), p, o);
  }
  return p;
}

LoadOptions as_stored() {
  LoadOptions o;
  o.converter = [](const Weight& w, WeightRole) { return w; };
  return o;
}

std::vector<float> logits_of(const TextDecoder& d, const std::vector<int64_t>& ids) {
  KVCache cache = d.new_cache();
  Chunk chunk{&cache, ids, {}};
  return d.forward(std::span<Chunk>(&chunk, 1), LogitsMode::all);
}

// The prompt of the goldens' text_prefill_20 case and its float32 logits.
std::vector<int64_t> golden_prompt() { return test::golden_i64("text_prefill_20.input_ids"); }

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
  return m;
}

double top1_agreement(const std::vector<float>& a, const std::vector<float>& b, int64_t vocab) {
  const int64_t rows = static_cast<int64_t>(a.size()) / vocab;
  int64_t same = 0;
  for (int64_t r = 0; r < rows; ++r) {
    auto arg = [&](const std::vector<float>& x) {
      return std::max_element(x.begin() + r * vocab, x.begin() + (r + 1) * vocab) - (x.begin() + r * vocab);
    };
    same += arg(a) == arg(b);
  }
  return static_cast<double>(same) / static_cast<double>(rows);
}

}  // namespace

// The configuration rebuilt from the metadata is the one config.json gives.
TEST(GgufLoader, ConfigAndStopIdsFromMetadata) {
  const GgufTextModel m = open_gguf_text_model(tiny_gguf("bf16"));
  const TextConfig& got = m.config.text;
  const TextConfig& want = test::tiny_decoder()->config();
  EXPECT_EQ(got.hidden_size, want.hidden_size);
  EXPECT_EQ(got.num_layers, want.num_layers);
  EXPECT_EQ(got.num_heads, want.num_heads);
  EXPECT_EQ(got.num_kv_heads, want.num_kv_heads);
  EXPECT_EQ(got.head_dim, want.head_dim);
  EXPECT_EQ(got.global_head_dim, want.global_head_dim);
  EXPECT_EQ(got.intermediate_size, want.intermediate_size);
  EXPECT_EQ(got.use_double_wide_mlp, want.use_double_wide_mlp);
  EXPECT_EQ(got.layer_types, want.layer_types);
  EXPECT_EQ(got.sliding_window, want.sliding_window);
  EXPECT_EQ(got.rope_full.type, want.rope_full.type);
  EXPECT_DOUBLE_EQ(got.rope_full.theta, want.rope_full.theta);
  EXPECT_DOUBLE_EQ(got.rope_full.partial_rotary_factor, want.rope_full.partial_rotary_factor);
  EXPECT_DOUBLE_EQ(got.rope_sliding.theta, want.rope_sliding.theta);
  EXPECT_EQ(got.vocab_size, want.vocab_size);
  EXPECT_EQ(got.vocab_size_per_layer_input, want.vocab_size_per_layer_input);
  EXPECT_EQ(got.hidden_size_per_layer_input, want.hidden_size_per_layer_input);
  EXPECT_EQ(got.num_kv_shared_layers, want.num_kv_shared_layers);
  EXPECT_DOUBLE_EQ(got.final_logit_softcapping, want.final_logit_softcapping);
  EXPECT_EQ(got.pad_token_id, want.pad_token_id);
  EXPECT_EQ(got.bos_token_id, want.bos_token_id);
  // Stop ids and media ids come from the stored vocabulary (config.json: eos [1, 106]).
  const ModelConfig& mc = test::tiny_decoder()->model_config();
  EXPECT_EQ(m.config.stop_ids, mc.stop_ids);
  EXPECT_EQ(m.config.image_token_id, mc.image_token_id);
  EXPECT_EQ(m.config.audio_token_id, mc.audio_token_id);
  EXPECT_EQ(m.config.boi_token_id, mc.boi_token_id);
  EXPECT_EQ(m.config.eoa_token_id, mc.eoa_token_id);
  EXPECT_EQ(m.vocab.tokens.size(), 1024u);
}

// F32 and BF16 files hold exactly the checkpoint's bf16 values, so the float32 path gives
// exactly the safetensors path's logits (the same numbers through the same kernels).
TEST(GgufLoader, FloatFilesGiveTheSafetensorsLogits) {
  const auto ids = golden_prompt();
  const auto want = logits_of(*test::tiny_decoder(), ids);
  for (const char* type : {"f32", "bf16"}) {
    auto d = TextDecoder::load(tiny_gguf(type));
    EXPECT_EQ(d->weights().layers[0].q_proj.format, std::string(type) == "f32" ? WeightFormat::f32 : WeightFormat::bf16);
    EXPECT_TRUE(all_close(logits_of(*d, ids), want, 0.0)) << type;
  }
  // And the goldens, within the manifest's float32 tolerance.
  const double atol = test::manifest_case("text_prefill_20")["outputs"]["logits"]["atol"].get<double>();
  EXPECT_TRUE(all_close(logits_of(*TextDecoder::load(tiny_gguf("bf16")), ids),
                        test::golden_f32("text_prefill_20.logits"), atol));
}

// Q8_0 blocks are bound as stored (pointers into the file), and they are the very blocks that
// converting the safetensors weights to Q8_0 at load gives.
TEST(GgufLoader, Q8FileIsZeroCopyAndMatchesQ8Conversion) {
  const auto ids = golden_prompt();
  auto d = TextDecoder::load(tiny_gguf("q8_0"), as_stored());
  const Weight& q = d->weights().layers[0].q_proj;
  EXPECT_EQ(q.format, WeightFormat::q8_0);
  EXPECT_EQ(q.owner, nullptr);  // no copy: it points into the mapped file
  const GgufFile file = GgufFile::open(tiny_gguf("q8_0"));
  const GgufTensor& t = file.require_tensor("blk.0.attn_q.weight");
  EXPECT_EQ(std::memcmp(q.data, t.data, t.nbytes), 0);

  // The GGUF keeps matrices whose rows are not whole 32-blocks (per_layer_projection, 16
  // columns) as F16; the reference conversion does the same, so both decoders hold the same
  // weights in the same formats and run the same kernels: identical logits.
  LoadOptions like_gguf;
  like_gguf.converter = [](const Weight& w, WeightRole) {
    return kernels::convert_weight(w, w.cols % 32 == 0 ? WeightFormat::q8_0 : WeightFormat::f16);
  };
  auto reference = TextDecoder::load(test::tiny_dir(), like_gguf);
  // Every matrix the layers multiply by, and the LM head, holds the very same bytes. (The logits
  // differ slightly: the safetensors path looks token embeddings up in the stored bf16 rows,
  // the GGUF in its Q8_0 rows; that difference is bounded against float32 below.)
  auto same_bytes = [](const Weight& a, const Weight& b) {
    ASSERT_EQ(a.format, b.format) << a.name;
    ASSERT_EQ(weight_row_bytes(a.format, a.cols), weight_row_bytes(b.format, b.cols)) << a.name;
    EXPECT_EQ(std::memcmp(a.data, b.data, weight_row_bytes(a.format, a.cols) * a.rows), 0) << a.name;
  };
  for (int64_t l = 0; l < d->config().num_layers; ++l) {
    const DecoderLayerWeights &a = d->weights().layers[l], &b = reference->weights().layers[l];
    for (auto m : {&DecoderLayerWeights::q_proj, &DecoderLayerWeights::o_proj, &DecoderLayerWeights::gate_proj,
                   &DecoderLayerWeights::up_proj, &DecoderLayerWeights::down_proj})
      same_bytes(a.*m, b.*m);
  }
  const TextWeights& dw = d->weights();
  same_bytes(dw.lm_head.empty() ? dw.embed_tokens : dw.lm_head, reference->weights().lm_head);
  const auto got = logits_of(*d, ids);

  // Against the float32 path: Q8_0 weights and int8 activations, each a relative step of about
  // 1/254 of the block maximum (twice bf16's 2^-9 rounding); on this random-weight model a
  // rounding flip early on grows through the layers. Bound: twice the largest error of the
  // goldens' bf16-activation study over the text cases (tolerance_study: 0.86 to 2.80).
  const auto f32 = logits_of(*test::tiny_decoder(), ids);
  double bf16_study = 0, min_top1 = 1;
  for (const char* c : {"text_prefill_5", "text_prefill_20", "text_prefill_45", "text_decode"}) {
    const auto& study = test::manifest()["tolerance_study"][c];
    const auto& logits = study.contains("logits") ? study["logits"] : study["step_logits"];
    bf16_study = std::max(bf16_study, logits["bf16_vs_f32_max_abs"].get<double>());
    min_top1 = std::min(min_top1, logits["bf16_argmax_agreement"].get<double>());
  }
  EXPECT_LE(max_abs_diff(got, f32), 2 * bf16_study);
  EXPECT_GE(top1_agreement(got, f32, d->vocab_size()), min_top1);
  std::printf("q8_0 GGUF vs float32 path: max |diff| %.3f (bound %.3f), top-1 agreement %.2f\n",
              max_abs_diff(got, f32), 2 * bf16_study, top1_agreement(got, f32, d->vocab_size()));
}

// The default GGUF load repacks Q4_0/Q8_0 for the active ISA: the same numbers in another layout.
TEST(GgufLoader, DefaultLoadRepacksLosslessly) {
  for (const char* type : {"q4_0", "q8_0"}) {
    auto stored = TextDecoder::load(tiny_gguf(type), as_stored());
    auto repacked = TextDecoder::load(tiny_gguf(type));
    // The gather-only per-layer table stays in the file.
    EXPECT_EQ(repacked->weights().embed_tokens_per_layer.owner, nullptr) << type;
    auto same = [&](const Weight& a, const Weight& b) {
      ASSERT_EQ(b.format, kernels::repacked_format(a.format, a.rows, a.cols)) << type << " " << a.name;
      std::vector<float> ra(a.cols), rb(a.cols), x(a.cols), ya(a.rows), yb(a.rows);
      for (int64_t r = 0; r < a.rows; ++r) {
        kernels::dequantize_row(a, r, ra.data());
        kernels::dequantize_row(b, r, rb.data());
        ASSERT_EQ(ra, rb) << type << " " << a.name << " row " << r;
      }
      // Both kernels multiply the same int8 activations by the same integers exactly; only the
      // float32 sums of the scaled block products run in another order.
      for (int64_t c = 0; c < a.cols; ++c) x[c] = std::sin(0.37 * static_cast<double>(c));
      kernels::matmul(a, x.data(), 1, ya.data());
      kernels::matmul(b, x.data(), 1, yb.data());
      float scale = 0;
      for (float v : ya) scale = std::max(scale, std::fabs(v));
      EXPECT_TRUE(all_close(yb, ya, 1e-5 * scale)) << type << " " << a.name;
    };
    // Token lookups read the stored rows; the tied LM head is the repacked copy.
    const TextWeights& r = repacked->weights();
    EXPECT_EQ(r.embed_tokens.format, stored->weights().embed_tokens.format) << type;
    EXPECT_EQ(r.embed_tokens.owner, nullptr) << type;  // still the mapped file
    same(stored->weights().embed_tokens, r.lm_head.empty() ? r.embed_tokens : r.lm_head);
    for (int64_t l = 0; l < stored->config().num_layers; ++l) {
      const DecoderLayerWeights &a = stored->weights().layers[l], &b = repacked->weights().layers[l];
      for (auto m : {&DecoderLayerWeights::q_proj, &DecoderLayerWeights::o_proj, &DecoderLayerWeights::gate_proj,
                     &DecoderLayerWeights::up_proj, &DecoderLayerWeights::down_proj})
        same(a.*m, b.*m);
    }
  }
}

// --weights (LoadOptions::weights) applies to a GGUF's float matrices; quantized ones keep the
// file's numbers (only repacked).
TEST(GgufLoader, WeightsOptionAppliesToFloatMatricesOnly) {
  LoadOptions q4;
  q4.weights = WeightFormat::q4_0;
  auto from_bf16 = TextDecoder::load(tiny_gguf("bf16"), q4);
  const Weight& a = from_bf16->weights().layers[0].gate_proj;
  EXPECT_EQ(a.format, kernels::runtime_format(WeightFormat::q4_0, a.rows, a.cols));
  auto from_q8 = TextDecoder::load(tiny_gguf("q8_0"), q4);
  const Weight& b = from_q8->weights().layers[0].gate_proj;
  EXPECT_EQ(b.format, kernels::runtime_format(WeightFormat::q8_0, b.rows, b.cols));
  LoadOptions bf16;
  bf16.weights = WeightFormat::bf16;
  EXPECT_EQ(TextDecoder::load(tiny_gguf("q8_0"), bf16)->weights().layers[0].gate_proj.format, b.format);
}

// Q4_K (like Q4_1, Q5_x, Q5_K, Q6_K) has no kernel: it is dequantized at load and requantized
// to Q8_0, which moves each weight by at most half a Q8_0 step (block max / 254) plus the f16
// rounding of the block scale (relative 2^-11) carried over up to 127 steps.
TEST(GgufLoader, KQuantsAreRequantizedToQ8) {
  auto d = TextDecoder::load(tiny_gguf("q4_k"), as_stored());
  const GgufFile file = GgufFile::open(tiny_gguf("q4_k"));
  // Rows of 256 (a whole K-quant super-block): the full-attention layer's o_proj.
  const GgufTensor& t = file.require_tensor("blk.4.attn_output.weight");
  ASSERT_EQ(t.type, GgmlType::q4_k);
  const Weight& w = d->weights().layers[4].o_proj;
  EXPECT_EQ(w.format, WeightFormat::q8_0);
  const std::vector<float> want = gguf_to_f32(t);
  std::vector<float> row(w.cols);
  for (int64_t r = 0; r < w.rows; ++r) {
    kernels::dequantize_row(w, r, row.data());
    for (int64_t b = 0; b < w.cols; b += 32) {
      float block_max = 0;
      for (int64_t i = b; i < b + 32; ++i) block_max = std::max(block_max, std::fabs(want[r * w.cols + i]));
      for (int64_t i = b; i < b + 32; ++i)
        ASSERT_LE(std::fabs(row[i] - want[r * w.cols + i]), block_max / 254 * (1 + 254 * std::ldexp(1.0, -11)) + 1e-7) << r << "," << i;
    }
  }
  const auto logits = logits_of(*d, golden_prompt());
  for (float v : logits) ASSERT_TRUE(std::isfinite(v));
}

TEST(GgufLoader, RejectsAFileThatIsNotGemma4) {
  const std::string path = test::temp_dir("gguf-loader-bad") + "/other.gguf";
  GgufWriter w;
  w.set("general.architecture", GgufValue::str("llama"));
  w.write(path);
  try {
    TextDecoder::load(path);
    FAIL() << "loaded a llama GGUF";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gemma4"), std::string::npos) << e.what();
  }
}

// `gemma4 logits --model FILE.gguf` writes the logits of the folder path.
TEST(GgufLoader, LogitsCommandTakesAGgufFile) {
  const std::string dir = test::temp_dir("gguf-loader-cli");
  const std::string ids = "2,17,33,400,5";
  std::string out;
  ASSERT_EQ(test::run_command(test::gemma4_binary() + " logits --model " + tiny_gguf("bf16") + " --ids " + ids +
                                  " --out " + dir + "/gguf.npy 2>&1",
                              &out),
            0)
      << out;
  ASSERT_EQ(test::run_command(test::gemma4_binary() + " logits --model " + test::tiny_dir() + " --ids " + ids +
                                  " --out " + dir + "/folder.npy 2>&1",
                              &out),
            0)
      << out;
  const NpyArray a = read_npy_f32(dir + "/gguf.npy"), b = read_npy_f32(dir + "/folder.npy");
  EXPECT_EQ(a.shape, b.shape);
  EXPECT_TRUE(all_close(a.data, b.data, 0.0));
}
