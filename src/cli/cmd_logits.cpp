// gemma4 logits: one prefill; writes float32 [n_tokens, vocab] logits as a NumPy .npy file.
#include "cli/args.h"
#include "cli/command.h"
#include "cli/ids.h"
#include "io/npy.h"
#include "model/audio_input.h"
#include "model/text_decoder.h"

namespace {

using namespace gemma4;

int run_logits(int argc, char** argv) {
  CLI::App app{"Run one prefill over token ids and write the logits of every position (.npy)."};
  std::string model, ids_text, out;
  app.add_option("--model", model, "model folder")->required();
  app.add_option("--ids", ids_text, "comma-separated token ids, e.g. 2,17,33")->required();
  app.add_option("--out", out, "output .npy file")->required();
  std::vector<std::string> audio_files;
  app.add_option("--audio", audio_files,
                 "audio file whose soft tokens fill the next run of audio placeholder ids in --ids "
                 "(repeatable, in order; a clip over 30 s fills one run per 30 s piece)");
  GEMMA4_PARSE(app, argc, argv);

  const std::vector<int64_t> ids = cli::parse_ids(ids_text);
  auto decoder = TextDecoder::load(model);
  KVCache cache = decoder->new_cache();
  Chunk chunk{&cache, ids, {}};
  const PlacedAudio audio = place_audio_files(model, audio_files, ids);
  for (const PlacedSoftToken& p : audio.placed) chunk.soft_tokens.push_back({p.index, p.row});
  const std::vector<float> logits = decoder->forward(std::span<Chunk>(&chunk, 1), LogitsMode::all);
  write_npy(out, logits.data(), {static_cast<int64_t>(ids.size()), decoder->vocab_size()});
  return 0;
}

}  // namespace

GEMMA4_COMMAND("logits", "write the logits of one prefill as .npy", run_logits);
