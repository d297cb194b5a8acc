// Images: decoding files to RGB8 and preparing them for the vision tower exactly as the
// reference processor (Hugging Face Gemma4ImageProcessorPil) does.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gemma4 {

// An 8-bit RGB image, rows top to bottom, pixels interleaved R,G,B.
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // width * height * 3

  uint8_t at(int x, int y, int c) const { return pixels[(static_cast<size_t>(y) * width + x) * 3 + c]; }
};

// Larger images are refused before decoding (a tiny file can claim 100k x 100k pixels).
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 26;  // 67 megapixels, ~200 MB as RGB8

// Decodes PNG, JPEG, BMP, GIF (first frame) or WebP bytes to RGB. As PIL's convert("RGB"):
// grey and palette images expand to RGB, an alpha channel is dropped. `source` names the
// input in error messages. Throws Error (bad_input / unsupported) on anything else.
RgbImage decode_image(const uint8_t* data, size_t size, const std::string& source = "image");
RgbImage load_image(const std::string& path);

// PIL's Image.resize(..., BICUBIC) on 8-bit RGB, bit for bit (Pillow's Resample.c).
RgbImage resize_bicubic(const RgbImage& in, int out_width, int out_height);

// The processor's options (processor_config.json's "image_processor").
struct ImageProcessorConfig {
  int patch_size = 16;
  int pooling_kernel_size = 3;
  int max_soft_tokens = 280;  // the default budget
  double rescale_factor = 1.0 / 255.0;

  // Reads processor_config.json in `model_dir`; the defaults above if it is absent.
  static ImageProcessorConfig load(const std::string& model_dir);
};

// The budgets the reference processor accepts.
bool is_supported_soft_token_budget(int budget);

struct ImageSize {
  int width = 0;
  int height = 0;
};

// The aspect-preserving target size: both sides multiples of patch*pool, the patch count
// within budget*pool². The same double arithmetic as the reference, boundary cases included.
ImageSize target_image_size(int width, int height, int patch_size, int pooling_kernel_size, int budget);

// What the vision tower consumes for one image.
struct ImagePatches {
  int64_t num_patches = 0;              // N = grid_width * grid_height
  int grid_width = 0;                   // patches per row
  int grid_height = 0;                  // patch rows
  int patch_values = 0;                 // patch_size² * 3
  std::vector<float> pixel_values;      // [N, patch_values], element (dy*P + dx)*3 + c, in [0, 1]
  std::vector<int32_t> position_ids;    // [N, 2] as (x = column, y = row)
  int64_t num_soft_tokens(int pooling_kernel_size) const {
    return num_patches / (pooling_kernel_size * pooling_kernel_size);
  }
};

// Resize (when needed), rescale and patchify; `budget` 0 means the config's default.
ImagePatches preprocess_image(const RgbImage& image, const ImageProcessorConfig& config, int budget = 0);

}  // namespace gemma4
