// gemma4 embed-audio: the audio soft tokens of a recording, as a .npy file [N, hidden].
#include <cstdio>

#include "base/error.h"
#include "cli/args.h"
#include "cli/command.h"
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
  app.add_option("--model", model, "model folder (config.json, processor_config.json, safetensors)")->required();
  app.add_option("--audio", audio, "audio file")->required();
  app.add_option("--out", out, "output .npy file")->required();
  GEMMA4_PARSE(app, argc, argv);

  const gemma4::AudioInput input = gemma4::AudioInput::load(model);
  const std::vector<gemma4::AudioBlock> blocks = input.embed_file(audio);
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
