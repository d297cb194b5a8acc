// Audio encoder benchmark: 10 s and 30 s clips through features + audio tower + embedder.
//
//   bench_audio [MODEL_DIR [SECONDS ...] [--exact | --int8] [--threads N]]   (defaults: /work/models/audio-random,
//   10 30; fast numerics (bf16 GEMM) unless --exact (float32) or --int8 (int8 linears))
//
// Prints wall time and process CPU time (all threads): on a shared machine the CPU time
// shows the work done even when other processes take the cores.
// If MODEL_DIR has no model.safetensors, writes a full-size E2B audio tower with random bf16
// weights there first (the published E2B config.json, tensors from audio_tensor_specs).
#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <random>
#include <string>

#include "base/error.h"
#include "base/thread_pool.h"
#include "media/audio_features.h"
#include "model/audio_input.h"
#include "model/published_configs.h"
#include "model/tensor_specs.h"
#include "tensor/dtype.h"

using namespace gemma4;

namespace {

void write_random_model(const std::string& dir) {
  std::filesystem::create_directories(dir);
  // The published E2B config; only the audio tower's tensors are written.
  const nlohmann::json config = published_config("e2b");
  std::ofstream(dir + "/config.json") << config.dump(2);
  std::ofstream(dir + "/processor_config.json") << published_processor_config().dump(2);
  const auto specs = audio_tensor_specs(config);
  nlohmann::json header = nlohmann::json::object();
  size_t offset = 0;
  for (const auto& s : specs) {
    size_t n = 1;
    for (int64_t d : s.shape) n *= static_cast<size_t>(d);
    header[s.name] = {{"dtype", "BF16"}, {"shape", s.shape}, {"data_offsets", {offset, offset + 2 * n}}};
    offset += 2 * n;
  }
  std::string h = header.dump();
  while ((h.size() + 8) % 8) h += ' ';
  std::ofstream f(dir + "/model.safetensors", std::ios::binary);
  const uint64_t hn = h.size();
  f.write(reinterpret_cast<const char*>(&hn), 8);
  f.write(h.data(), static_cast<std::streamsize>(h.size()));
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const auto& s : specs) {
    size_t n = 1;
    for (int64_t d : s.shape) n *= static_cast<size_t>(d);
    std::vector<uint16_t> data(n);
    for (size_t i = 0; i < n; ++i) {
      float v = s.init == TensorInit::normal ? normal(rng) * s.scale
                : s.init == TensorInit::ones ? 1.0f
                : s.init == TensorInit::zeros ? 0.0f
                                              : s.scale;
      data[i] = f32_to_bf16(v);
    }
    f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(2 * n));
  }
  std::printf("wrote %zu tensors (%.0f MB) to %s\n", specs.size(), offset / 1e6, dir.c_str());
}

std::vector<float> test_clip(double seconds) {
  // A chirp plus a little noise: speech-like spread over the mel bins.
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 0.01f);
  std::vector<float> x(static_cast<size_t>(16000 * seconds));
  for (size_t i = 0; i < x.size(); ++i) {
    const double t = i / 16000.0;
    x[i] = static_cast<float>(0.3 * std::sin(2 * std::numbers::pi * (200 + 300 * t) * t)) + noise(rng);
  }
  return x;
}

// GFLOP of the encoder for one clip of T soft tokens (2 per multiply-add; dense parts only).
double encoder_gflop(const AudioInput& in, int64_t mel_frames) {
  const AudioConfig& c = in.encoder().config();
  const int64_t T1 = (mel_frames + 1) / 2, T = (T1 + 1) / 2;
  const int64_t F1 = (c.num_mel_bins + 1) / 2, F2 = (F1 + 1) / 2;
  const double d = c.hidden_size;
  double mac = 0;
  mac += double(T1) * F1 * c.conv_channels[0] * 9;                          // conv0
  mac += double(T) * F2 * c.conv_channels[1] * c.conv_channels[0] * 9.0;    // conv1
  mac += double(T) * d * c.input_proj_features();                          // input projection
  mac += double(T) * c.num_layers * (2 * 2 * d * 4 * d + 4 * d * d + 3 * d * d);  // FFNs, qkv+post, lconv
  mac += double(T) * (d * c.output_proj_dims + double(c.output_proj_dims) * c.text_hidden_size);
  return 2 * mac / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string dir = argc > 1 ? argv[1] : "/work/models/audio-random";
    if (!dir.empty() && dir[0] == '-') {  // a flag where the folder goes (e.g. --help): never write a model there
      std::fprintf(stderr,
                   "usage: bench_audio [MODEL_DIR [SECONDS ...] [--exact | --int8] [--threads N]]\n"
                   "  (defaults: /work/models/audio-random, 10 30; a MODEL_DIR without model.safetensors gets a\n"
                   "  random full-size E2B audio tower written into it first)\n");
      return dir == "--help" || dir == "-h" ? 0 : 2;
    }
    if (!std::filesystem::exists(dir + "/model.safetensors")) write_random_model(dir);
    // --exact: the float32 reference numerics; default: the fast ones (packed bf16 GEMM).
    std::vector<double> durations;
    EncoderNumerics numerics = EncoderNumerics::fast;
    for (int i = 2; i < argc; ++i) {
      if (std::string(argv[i]) == "--exact")
        numerics = EncoderNumerics::exact;
      else if (std::string(argv[i]) == "--int8")
        numerics = EncoderNumerics::int8;
      else if (std::string(argv[i]) == "--threads" && i + 1 < argc)
        set_num_threads(std::atoi(argv[++i]));
      else
        durations.push_back(std::stod(argv[i]));
    }
    const AudioInput in = AudioInput::load(dir, {}, numerics);
    std::printf("numerics: %s\n", numerics == EncoderNumerics::exact  ? "exact (float32)"
                                  : numerics == EncoderNumerics::int8 ? "int8 (int8 linears, bf16 attention)"
                                                                      : "fast (bf16 GEMM)");
    std::printf("threads: %d\n", num_threads());
    if (durations.empty()) durations = {10.0, 30.0};
    in.embed_pcm(test_clip(1.0));  // touch the mapped weights once
    for (double seconds : durations) {
      const std::vector<float> clip = test_clip(seconds);
      const std::clock_t c0 = std::clock();
      const auto t0 = std::chrono::steady_clock::now();
      const LogMel mel = log_mel_features(in.features(), clip);
      const auto t1 = std::chrono::steady_clock::now();
      const std::vector<float> soft = in.encoder().encode(mel);
      const auto t2 = std::chrono::steady_clock::now();
      const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
      const double fe = std::chrono::duration<double>(t1 - t0).count();
      const double enc = std::chrono::duration<double>(t2 - t1).count();
      const double gflop = encoder_gflop(in, mel.frames);
      std::printf("%4.0f s audio: %lld soft tokens, features %.3f s, encoder %.3f s, total %.3f s (CPU %.3f s); %.1f GFLOP, %.1f GFLOP/s\n",
                  seconds, static_cast<long long>(soft.size() / in.encoder().config().text_hidden_size), fe, enc,
                  fe + enc, cpu, gflop, gflop / enc);
      std::fflush(stdout);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_audio: %s\n", e.what());
    return 1;
  }
  return 0;
}
