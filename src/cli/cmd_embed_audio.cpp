// gemma4 embed-audio: the audio soft tokens of a recording, as a .npy file [N, hidden].
#include <chrono>
#include <cstdio>
#include <ctime>

#include "base/error.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/media_towers.h"
#include "io/npy.h"
#include "model/audio_input.h"

namespace {

int run_embed_audio(int argc, char** argv) {
  CLI::App app{
      "Encode an audio file (WAV, FLAC, OGG/Vorbis, MP3; any rate, any channels: mixed to mono and "
      "resampled to 16 kHz) with the model's audio tower and embedder, and write the soft tokens "
      "[N, hidden] as float32 .npy. N = 25 per second of audio. Clips longer than 30 s (the longest "
      "the reference accepts) are split into consecutive 30 s pieces, each encoded on its own as its "
      "own audio block; their tokens are written one after another, in order."};
  std::string model, audio, out;
  bool exact = false, timing = false, int8 = false;
  std::string mmproj;
  app.add_option("--model", model, "model folder (config.json, processor_config.json, safetensors) or .gguf file")
      ->required();
  gemma4::cli::add_mmproj_option(app, mmproj);
  app.add_option("--audio", audio, "audio file")->required();
  app.add_option("--out", out, "output .npy file")->required();
  app.add_flag("--exact", exact,
               "float32 reference numerics (default: bf16 products with float32 sums, several times faster)");
  app.add_flag("--int8", int8,
               "int8 linears (AVX512-VNNI; about 2x faster linears than the default, a few times its error)");
  app.add_flag("--timing", timing, "print load and encode times (wall and CPU) to stderr");
  GEMMA4_PARSE(app, argc, argv);

  auto start = std::chrono::steady_clock::now();
  const gemma4::AudioInput input = gemma4::cli::load_audio_tower(
      model, mmproj,
      exact ? gemma4::EncoderNumerics::exact : int8 ? gemma4::EncoderNumerics::int8 : gemma4::EncoderNumerics::fast);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  start = std::chrono::steady_clock::now();
  const std::clock_t cpu_start = std::clock();
  const std::vector<gemma4::AudioBlock> blocks = input.embed_file(audio);
  const double encode_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double encode_cpu_s = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  if (timing)
    std::fprintf(stderr, "load %.3f s, decode + features + encode %.3f s (cpu %.3f s, %s)\n", load_s, encode_s,
                 encode_cpu_s, exact ? "exact" : int8 ? "int8" : "fast");
  std::vector<float> all;
  int64_t tokens = 0;
  for (const auto& b : blocks) {
    all.insert(all.end(), b.soft_tokens.begin(), b.soft_tokens.end());
    tokens += b.tokens;
  }
  const int64_t hidden = input.encoder().config().text_hidden_size;
  gemma4::write_npy(out, all.data(), {tokens, hidden});
  std::fprintf(stderr, "%lld soft tokens x %lld in %zu audio block(s) -> %s\n", static_cast<long long>(tokens),
               static_cast<long long>(hidden), blocks.size(), out.c_str());
  return 0;
}

}  // namespace

GEMMA4_COMMAND("embed-audio", "audio file -> soft tokens [N, hidden] (.npy)", run_embed_audio);
