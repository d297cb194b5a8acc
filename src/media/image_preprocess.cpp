// Image preprocessing as Hugging Face's Gemma4ImageProcessorPil: aspect-preserving PIL
// bicubic resize in 8 bits, rescale to [0, 1], 16x16 patches, (x, y) patch positions.
#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/mapped_file.h"
#include "media/image.h"

namespace gemma4 {
namespace {

// ---- Pillow's 8-bit resampler (src/libImaging/Resample.c), reproduced operation for operation.

constexpr int kPrecisionBits = 32 - 8 - 2;
constexpr double kBicubicA = -0.5;
constexpr double kBicubicSupport = 2.0;

double bicubic_filter(double x) {
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((kBicubicA + 2.0) * x - (kBicubicA + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * kBicubicA;
  return 0.0;
}

// For each output index: the first input index, how many inputs, and their fixed-point weights.
struct ResampleCoefficients {
  int taps = 0;                // weights stored per output index
  std::vector<int> first;      // [out]
  std::vector<int> count;      // [out]
  std::vector<int32_t> weight; // [out * taps]
};

ResampleCoefficients precompute_coefficients(int in_size, int out_size) {
  // Pillow passes the box as floats: in1 - in0 = (float)in_size.
  const double scale = static_cast<double>(static_cast<float>(in_size)) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = kBicubicSupport * filter_scale;
  ResampleCoefficients c;
  c.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(out_size);
  c.count.resize(out_size);
  c.weight.assign(static_cast<size_t>(out_size) * c.taps, 0);
  std::vector<double> w(c.taps);
  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    const double inv_filter_scale = 1.0 / filter_scale;
    int lo = static_cast<int>(center - support + 0.5);
    if (lo < 0) lo = 0;
    int hi = static_cast<int>(center + support + 0.5);
    if (hi > in_size) hi = in_size;
    const int n = hi - lo;
    double sum = 0.0;
    for (int j = 0; j < n; ++j) {
      w[j] = bicubic_filter((j + lo - center + 0.5) * inv_filter_scale);
      sum += w[j];
    }
    for (int j = 0; j < n; ++j) {
      if (sum != 0.0) w[j] /= sum;
      // Rounded half away from zero to 2^-22 fixed point.
      const double scaled = w[j] * (1 << kPrecisionBits);
      c.weight[static_cast<size_t>(i) * c.taps + j] =
          static_cast<int32_t>(w[j] < 0 ? -0.5 + scaled : 0.5 + scaled);
    }
    c.first[i] = lo;
    c.count[i] = n;
  }
  return c;
}

uint8_t clip8(int32_t accumulator) {
  const int32_t v = accumulator >> kPrecisionBits;
  return static_cast<uint8_t>(std::clamp(v, 0, 255));
}

RgbImage resample_horizontal(const RgbImage& in, int out_width) {
  const ResampleCoefficients c = precompute_coefficients(in.width, out_width);
  RgbImage out{out_width, in.height, std::vector<uint8_t>(static_cast<size_t>(out_width) * in.height * 3)};
  for (int y = 0; y < in.height; ++y) {
    for (int x = 0; x < out_width; ++x) {
      const int32_t* k = &c.weight[static_cast<size_t>(x) * c.taps];
      for (int ch = 0; ch < 3; ++ch) {
        int32_t acc = 1 << (kPrecisionBits - 1);
        for (int j = 0; j < c.count[x]; ++j) acc += in.at(c.first[x] + j, y, ch) * k[j];
        out.pixels[(static_cast<size_t>(y) * out_width + x) * 3 + ch] = clip8(acc);
      }
    }
  }
  return out;
}

RgbImage resample_vertical(const RgbImage& in, int out_height) {
  const ResampleCoefficients c = precompute_coefficients(in.height, out_height);
  RgbImage out{in.width, out_height, std::vector<uint8_t>(static_cast<size_t>(in.width) * out_height * 3)};
  for (int y = 0; y < out_height; ++y) {
    const int32_t* k = &c.weight[static_cast<size_t>(y) * c.taps];
    for (int x = 0; x < in.width; ++x) {
      for (int ch = 0; ch < 3; ++ch) {
        int32_t acc = 1 << (kPrecisionBits - 1);
        for (int j = 0; j < c.count[y]; ++j) acc += in.at(x, c.first[y] + j, ch) * k[j];
        out.pixels[(static_cast<size_t>(y) * in.width + x) * 3 + ch] = clip8(acc);
      }
    }
  }
  return out;
}

}  // namespace

RgbImage resize_bicubic(const RgbImage& in, int out_width, int out_height) {
  check(in.width > 0 && in.height > 0 && out_width > 0 && out_height > 0, "resize: empty image");
  // Pillow: horizontal pass first, each pass skipped when its axis keeps its size.
  RgbImage image = in;
  if (out_width != image.width) image = resample_horizontal(image, out_width);
  if (out_height != image.height) image = resample_vertical(image, out_height);
  return image;
}

ImageProcessorConfig ImageProcessorConfig::load(const std::string& model_dir) {
  ImageProcessorConfig config;
  const std::string path = model_dir + "/processor_config.json";
  if (!file_exists(path)) return config;
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": invalid JSON (" + e.what() + ")", ExitCode::bad_input);
  }
  const nlohmann::json& p = json.contains("image_processor") ? json["image_processor"] : json;
  try {
    config.patch_size = p.value("patch_size", config.patch_size);
    config.pooling_kernel_size = p.value("pooling_kernel_size", config.pooling_kernel_size);
    config.max_soft_tokens = p.value("max_soft_tokens", config.max_soft_tokens);
    if (p.value("do_rescale", true)) config.rescale_factor = p.value("rescale_factor", config.rescale_factor);
    else config.rescale_factor = 1.0;
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": bad image_processor field (" + e.what() + ")", ExitCode::bad_input);
  }
  check(!p.value("do_normalize", false), path + ": do_normalize=true is not supported", ExitCode::unsupported);
  check(config.patch_size > 0 && config.pooling_kernel_size > 0 && config.max_soft_tokens > 0,
        path + ": patch_size, pooling_kernel_size and max_soft_tokens must be positive");
  return config;
}

bool is_supported_soft_token_budget(int budget) {
  return budget == 70 || budget == 140 || budget == 280 || budget == 560 || budget == 1120;
}

ImageSize target_image_size(int width, int height, int patch_size, int pooling_kernel_size, int budget) {
  check(width > 0 && height > 0, "image has no pixels");
  const int64_t max_patches = int64_t{budget} * pooling_kernel_size * pooling_kernel_size;
  const int64_t target_pixels = max_patches * patch_size * patch_size;
  const int64_t side_multiple = int64_t{patch_size} * pooling_kernel_size;
  // The reference's exact sequence of double operations (boundary cases depend on it).
  const double factor = std::sqrt(static_cast<double>(target_pixels) / (static_cast<double>(height) * width));
  int64_t target_height = static_cast<int64_t>(std::floor(factor * height / side_multiple)) * side_multiple;
  int64_t target_width = static_cast<int64_t>(std::floor(factor * width / side_multiple)) * side_multiple;
  check(target_height > 0 || target_width > 0, "image cannot be resized within the token budget");
  const int64_t max_side = (max_patches / (pooling_kernel_size * pooling_kernel_size)) * side_multiple;
  // Very thin images: one patch row (or column), the long side by the integer aspect ratio.
  if (target_height == 0) {
    target_height = side_multiple;
    target_width = std::min<int64_t>((width / height) * side_multiple, max_side);
  } else if (target_width == 0) {
    target_width = side_multiple;
    target_height = std::min<int64_t>((height / width) * side_multiple, max_side);
  }
  check(target_height * target_width <= target_pixels, "image resize exceeds the token budget");
  return {static_cast<int>(target_width), static_cast<int>(target_height)};
}

ImagePatches preprocess_image(const RgbImage& image, const ImageProcessorConfig& config, int budget) {
  if (budget == 0) budget = config.max_soft_tokens;
  check(is_supported_soft_token_budget(budget) || budget == config.max_soft_tokens,
        "unsupported image token budget " + std::to_string(budget) + " (use 70, 140, 280, 560 or 1120)",
        ExitCode::usage);
  const int P = config.patch_size;
  const ImageSize size = target_image_size(image.width, image.height, P, config.pooling_kernel_size, budget);
  const RgbImage resized = (size.width == image.width && size.height == image.height)
                               ? image
                               : resize_bicubic(image, size.width, size.height);

  ImagePatches out;
  out.grid_width = size.width / P;
  out.grid_height = size.height / P;
  out.num_patches = int64_t{out.grid_width} * out.grid_height;
  out.patch_values = P * P * 3;
  out.pixel_values.resize(static_cast<size_t>(out.num_patches) * out.patch_values);
  out.position_ids.resize(static_cast<size_t>(out.num_patches) * 2);
  for (int py = 0; py < out.grid_height; ++py) {
    for (int px = 0; px < out.grid_width; ++px) {
      const int64_t n = int64_t{py} * out.grid_width + px;  // row-major, x fastest
      float* patch = &out.pixel_values[static_cast<size_t>(n) * out.patch_values];
      for (int dy = 0; dy < P; ++dy)
        for (int dx = 0; dx < P; ++dx)
          for (int c = 0; c < 3; ++c)
            // The reference rescales in float64, then stores float32.
            patch[(dy * P + dx) * 3 + c] =
                static_cast<float>(resized.at(px * P + dx, py * P + dy, c) * config.rescale_factor);
      out.position_ids[n * 2 + 0] = px;
      out.position_ids[n * 2 + 1] = py;
    }
  }
  return out;
}

}  // namespace gemma4
