// gemma4 embed-image: an image file -> the soft tokens the text model reads, as .npy.
#include <chrono>
#include <ctime>
#include <cstdio>

#include "base/error.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/media_towers.h"
#include "io/npy.h"
#include "media/image.h"
#include "model/vision.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run_embed_image(int argc, char** argv) {
  CLI::App app{"Encode an image with the vision tower; write its soft tokens [N, text hidden] as .npy."};
  std::string model_dir, image_path, out_path;
  int budget = 0;
  bool timing = false, exact = false, int8 = false;
  std::string mmproj;
  app.add_option("--model", model_dir, "model folder (config.json, processor_config.json, weights) or .gguf file")
      ->required();
  gemma4::cli::add_mmproj_option(app, mmproj);
  app.add_option("--image", image_path, "PNG, JPEG, BMP, GIF or WebP file")->required();
  app.add_option("--image-tokens", budget,
                 "soft-token budget: 70, 140, 280, 560 or 1120 (default: processor_config.json's max_soft_tokens)");
  app.add_option("--out", out_path, "output .npy file")->required();
  app.add_flag("--timing", timing, "print the time of each stage to stderr");
  app.add_flag("--exact", exact,
               "float32 reference numerics (default: bf16 products with float32 sums, several times faster)");
  app.add_flag("--int8", int8,
               "int8 linears and attention (AVX512-VNNI; about 2x faster than the default, a few times its error)");
  GEMMA4_PARSE(app, argc, argv);
  if (budget != 0 && !gemma4::is_supported_soft_token_budget(budget))
    throw gemma4::Error("--image-tokens must be 70, 140, 280, 560 or 1120 (got " + std::to_string(budget) + ")",
                        gemma4::ExitCode::usage);

  auto start = std::chrono::steady_clock::now();
  const gemma4::cli::VisionTower tower = gemma4::cli::load_vision_tower(
      model_dir, mmproj,
      exact ? gemma4::EncoderNumerics::exact : int8 ? gemma4::EncoderNumerics::int8 : gemma4::EncoderNumerics::fast);
  const gemma4::VisionModel& model = tower.model;
  const gemma4::ImageProcessorConfig& processor = tower.processor;
  const double load_s = seconds_since(start);

  start = std::chrono::steady_clock::now();
  const gemma4::RgbImage image = gemma4::load_image(image_path);
  const gemma4::ImagePatches patches = gemma4::preprocess_image(image, processor, budget);
  const double preprocess_s = seconds_since(start);

  start = std::chrono::steady_clock::now();
  const std::clock_t cpu_start = std::clock();
  const std::vector<float> soft = model.embed(patches);
  const double encode_s = seconds_since(start);
  const double encode_cpu_s = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;

  const int64_t hidden = model.config().text_hidden_size;
  const int64_t tokens = static_cast<int64_t>(soft.size()) / hidden;
  gemma4::write_npy(out_path, soft.data(), {tokens, hidden});
  if (timing)
    std::fprintf(stderr,
                 "image %dx%d -> %dx%d patches (%lld), %lld soft tokens; load %.3f s, preprocess %.3f s, encode %.3f s (cpu %.3f s, %s)\n",
                 image.width, image.height, patches.grid_width, patches.grid_height,
                 static_cast<long long>(patches.num_patches), static_cast<long long>(tokens), load_s, preprocess_s,
                 encode_s, encode_cpu_s, exact ? "exact" : int8 ? "int8" : "fast");
  return 0;
}

}  // namespace

GEMMA4_COMMAND("embed-image", "encode an image into soft tokens (.npy)", run_embed_image);
