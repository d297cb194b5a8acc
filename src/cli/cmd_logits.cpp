// gemma4 logits: one prefill; writes float32 [n_tokens, vocab] logits as a NumPy .npy file.
#include "cli/args.h"
#include "cli/command.h"
#include "cli/ids.h"
#include "cli/media_towers.h"
#include "cli/speed_options.h"
#include "io/npy.h"
#include "media/image.h"
#include "model/vision.h"
#include "model/vision_prompt.h"
#include "model/audio_input.h"
#include "model/text_decoder.h"

namespace {

using namespace gemma4;

int run_logits(int argc, char** argv) {
  CLI::App app{"Run one prefill over token ids and write the logits of every position (.npy)."};
  std::string model, ids_text, out;
  app.add_option("--model", model, "model folder or .gguf file")->required();
  app.add_option("--ids", ids_text, "comma-separated token ids, e.g. 2,17,33")->required();
  app.add_option("--out", out, "output .npy file")->required();
  std::vector<std::string> images;
  int image_tokens = 0;
  app.add_option("--image", images,
                 "image file (repeatable): its soft tokens fill the next run of image placeholder ids in --ids");
  app.add_option("--image-tokens", image_tokens, "soft-token budget per image: 70, 140, 280, 560 or 1120");
  std::vector<std::string> audio_files;
  app.add_option("--audio", audio_files,
                 "audio file whose soft tokens fill the next run of audio placeholder ids in --ids "
                 "(repeatable, in order; a clip over 30 s fills one run per 30 s piece)");
  std::string mmproj;
  cli::add_mmproj_option(app, mmproj);
  cli::SpeedOptions speed;
  cli::add_speed_options(app, speed, "bf16");
  GEMMA4_PARSE(app, argc, argv);

  const std::vector<int64_t> ids = cli::parse_ids(ids_text);
  auto decoder = TextDecoder::load(model, speed.apply());
  KVCache cache = decoder->new_cache();
  Chunk chunk{&cache, ids, {}};
  // Images: encode each, then scatter the soft tokens over the placeholder ids in order.
  std::vector<std::vector<float>> image_soft_tokens;
  if (!images.empty()) {
    const cli::VisionTower tower = cli::load_vision_tower(model, mmproj, EncoderNumerics::exact);
    const VisionModel& vision = tower.model;
    const ImageProcessorConfig& processor = tower.processor;
    std::vector<int64_t> counts;
    for (const std::string& path : images) {
      image_soft_tokens.push_back(vision.embed(preprocess_image(load_image(path), processor, image_tokens)));
      counts.push_back(static_cast<int64_t>(image_soft_tokens.back().size()) / vision.config().text_hidden_size);
    }
    const std::vector<int64_t> positions =
        image_token_positions(ids, decoder->model_config().image_token_id, counts);
    size_t p = 0;
    for (size_t i = 0; i < images.size(); ++i)
      for (int64_t t = 0; t < counts[i]; ++t)
        chunk.soft_tokens.push_back({positions[p++], &image_soft_tokens[i][t * vision.config().text_hidden_size]});
  }
  const PlacedAudio audio = audio_files.empty() ? PlacedAudio{}
                                                : place_audio_files(cli::load_audio_tower(model, mmproj, EncoderNumerics::exact),
                                                                    audio_files, ids);
  for (const PlacedSoftToken& p : audio.placed) chunk.soft_tokens.push_back({p.index, p.row});
  const std::vector<float> logits = decoder->forward(std::span<Chunk>(&chunk, 1), LogitsMode::all);
  write_npy(out, logits.data(), {static_cast<int64_t>(ids.size()), decoder->vocab_size()});
  return 0;
}

}  // namespace

GEMMA4_COMMAND("logits", "write the logits of one prefill as .npy", run_logits);
