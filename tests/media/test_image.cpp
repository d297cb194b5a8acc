// Image decoding and preprocessing: formats, bad files, the resize rule, and the golden
// pixel_values / position ids of the tiny model's image cases.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include <webp/encode.h>

#include "base/error.h"
#include "io/safetensors.h"
#include "media/image.h"
#include "test_util.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#include <stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace gemma4 {
namespace {

using Bytes = std::vector<uint8_t>;

// A deterministic, non-trivial RGB test pattern.
RgbImage pattern(int width, int height) {
  RgbImage img{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3)};
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      uint8_t* p = &img.pixels[(static_cast<size_t>(y) * width + x) * 3];
      p[0] = static_cast<uint8_t>(x * 7 + y);
      p[1] = static_cast<uint8_t>(y * 5);
      p[2] = static_cast<uint8_t>((x ^ y) * 3);
    }
  return img;
}

void append_bytes(void* ctx, void* data, int size) {
  auto* out = static_cast<Bytes*>(ctx);
  out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
}

Bytes encode_png(const uint8_t* pixels, int w, int h, int channels) {
  Bytes out;
  stbi_write_png_to_func(append_bytes, &out, w, h, channels, pixels, w * channels);
  return out;
}

Bytes encode(const RgbImage& img, const std::string& format) {
  Bytes out;
  if (format == "png") return encode_png(img.pixels.data(), img.width, img.height, 3);
  if (format == "bmp") stbi_write_bmp_to_func(append_bytes, &out, img.width, img.height, 3, img.pixels.data());
  if (format == "jpeg") stbi_write_jpg_to_func(append_bytes, &out, img.width, img.height, 3, img.pixels.data(), 95);
  if (format == "webp") {
    uint8_t* data = nullptr;
    const size_t size = WebPEncodeLosslessRGB(img.pixels.data(), img.width, img.height, img.width * 3, &data);
    out.assign(data, data + size);
    WebPFree(data);
  }
  return out;
}

RgbImage decode(const Bytes& b) { return decode_image(b.data(), b.size(), "test"); }

// A 2x1 GIF (GIF89a, 2-colour global palette: red, blue), pixels [red, blue].
Bytes tiny_gif() {
  return {'G', 'I', 'F', '8', '9', 'a', 2, 0, 1, 0, 0x80, 0, 0,          // screen 2x1, global table of 2
          255, 0, 0, 0, 0, 255,                                            // palette
          ',', 0, 0, 0, 0, 2, 0, 1, 0, 0,                                  // image descriptor 2x1
          2, 2, 0x44, 0x0a, 0, ';'};                                       // LZW min size 2: clear,0,1,end
}

// A PNG header (signature + IHDR) that claims width x height pixels and holds no data.
Bytes png_header_only(uint32_t width, uint32_t height) {
  Bytes b = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  for (uint32_t v : {width, height})
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
  for (uint8_t v : {8, 2, 0, 0, 0, 0, 0, 0, 0}) b.push_back(v);  // 8-bit RGB, crc (unchecked)
  return b;
}

void expect_error(const Bytes& b, const std::string& fragment) {
  try {
    decode(b);
    ADD_FAILURE() << "expected an error mentioning '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(ImageDecode, LosslessFormatsRoundTripExactly) {
  const RgbImage img = pattern(37, 23);
  for (const char* format : {"png", "bmp", "webp"}) {
    const RgbImage got = decode(encode(img, format));
    EXPECT_EQ(got.width, 37) << format;
    EXPECT_EQ(got.height, 23) << format;
    EXPECT_EQ(got.pixels, img.pixels) << format;
  }
}

TEST(ImageDecode, JpegDecodesCloseToTheSource) {
  RgbImage img = pattern(32, 16);
  for (auto& v : img.pixels) v = static_cast<uint8_t>(128 + (v % 8));  // smooth: small JPEG error
  const RgbImage got = decode(encode(img, "jpeg"));
  ASSERT_EQ(got.width, 32);
  ASSERT_EQ(got.height, 16);
  int worst = 0;
  for (size_t i = 0; i < img.pixels.size(); ++i) worst = std::max(worst, std::abs(got.pixels[i] - img.pixels[i]));
  EXPECT_LE(worst, 12);
}

// A JPEG with an EXIF APP1 segment (little-endian TIFF, one IFD entry: orientation).
Bytes jpeg_with_orientation(const RgbImage& img, uint16_t orientation) {
  Bytes jpeg = encode(img, "jpeg");
  const Bytes app1 = {0xff, 0xe1, 0, 34, 'E', 'x', 'i', 'f', 0, 0,  // marker, length 34
                      'I', 'I', 42, 0, 8, 0, 0, 0,                   // TIFF header, IFD at 8
                      1, 0,                                          // one entry
                      0x12, 0x01, 3, 0, 1, 0, 0, 0,                  // tag 0x0112, SHORT, count 1
                      static_cast<uint8_t>(orientation), 0, 0, 0,    // value
                      0, 0, 0, 0};                                   // no next IFD
  jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
  return jpeg;
}

TEST(ImageDecode, JpegExifOrientationIsApplied) {
  // Left half black, right half white, 32x16: distinct under every rotation and flip.
  RgbImage img{32, 16, std::vector<uint8_t>(32 * 16 * 3, 0)};
  for (int y = 0; y < 16; ++y)
    for (int x = 16; x < 32; ++x)
      for (int c = 0; c < 3; ++c) img.pixels[(y * 32 + x) * 3 + c] = 255;
  const RgbImage plain = decode(jpeg_with_orientation(img, 1));
  EXPECT_EQ(plain.width, 32);
  EXPECT_GT(plain.at(30, 8, 0), 200);
  const RgbImage mirrored = decode(jpeg_with_orientation(img, 2));
  EXPECT_EQ(mirrored.width, 32);
  EXPECT_LT(mirrored.at(30, 8, 0), 50);
  const RgbImage cw = decode(jpeg_with_orientation(img, 6));  // rotate 90 degrees clockwise
  ASSERT_EQ(cw.width, 16);
  ASSERT_EQ(cw.height, 32);
  EXPECT_LT(cw.at(8, 2, 0), 50);   // the black left half is now on top
  EXPECT_GT(cw.at(8, 30, 0), 200);
  const RgbImage ccw = decode(jpeg_with_orientation(img, 8));  // rotate 90 degrees anticlockwise
  ASSERT_EQ(ccw.height, 32);
  EXPECT_GT(ccw.at(8, 2, 0), 200);
  EXPECT_LT(ccw.at(8, 30, 0), 50);
}

TEST(ImageDecode, GifFirstFrameThroughPalette) {
  const RgbImage got = decode(tiny_gif());
  ASSERT_EQ(got.width, 2);
  ASSERT_EQ(got.height, 1);
  EXPECT_EQ(got.pixels, (std::vector<uint8_t>{255, 0, 0, 0, 0, 255}));
}

TEST(ImageDecode, AlphaIsDroppedAndGreyReplicated) {
  const std::vector<uint8_t> rgba = {10, 20, 30, 0, 40, 50, 60, 128};
  EXPECT_EQ(decode(encode_png(rgba.data(), 2, 1, 4)).pixels, (std::vector<uint8_t>{10, 20, 30, 40, 50, 60}));
  const std::vector<uint8_t> grey = {7, 200};
  EXPECT_EQ(decode(encode_png(grey.data(), 2, 1, 1)).pixels, (std::vector<uint8_t>{7, 7, 7, 200, 200, 200}));
}

TEST(ImageDecode, BadInputGetsClearErrors) {
  const RgbImage img = pattern(40, 30);
  Bytes png = encode(img, "png");
  png.resize(png.size() / 2);
  expect_error(png, "corrupt or truncated");
  Bytes jpeg = encode(img, "jpeg");
  jpeg.resize(jpeg.size() * 2 / 3);
  expect_error(jpeg, "truncated JPEG");
  Bytes webp = encode(img, "webp");
  webp.resize(webp.size() / 2);
  expect_error(webp, "WebP");
  Bytes garbage = encode(img, "png");
  for (size_t i = 33; i < garbage.size(); ++i) garbage[i] = static_cast<uint8_t>(i * 31);
  expect_error(garbage, "corrupt");
  expect_error(Bytes{'h', 'e', 'l', 'l', 'o'}, "unsupported image format");
  expect_error(Bytes{}, "empty");
  expect_error(png_header_only(0, 10), "test:");
  expect_error(png_header_only(100000, 100000), "too large");
  expect_error(png_header_only(10000, 10000), "too large");  // under stb's own limit, over ours
}

TEST(ImageDecode, MissingFileIsNotFound) {
  try {
    load_image("/nonexistent/picture.png");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::not_found);
  }
}

// Spec 1.4's table, computed with the reference's formula.
TEST(ImagePreprocess, TargetSizes) {
  struct Case { int w, h, budget, want_w, want_h; };
  for (const Case& c : std::vector<Case>{{640, 480, 70, 432, 336},
                                         {640, 480, 140, 624, 480},
                                         {640, 480, 280, 912, 672},
                                         {640, 480, 560, 1296, 960},
                                         {640, 480, 1120, 1824, 1344},
                                         {1920, 1080, 280, 1056, 576},
                                         {512, 512, 280, 768, 768},
                                         {224, 224, 280, 768, 768},
                                         {3000, 200, 280, 3072, 192},
                                         {4032, 3024, 280, 912, 672}}) {
    const ImageSize s = target_image_size(c.w, c.h, 16, 3, c.budget);
    EXPECT_EQ(s.width, c.want_w) << c.w << "x" << c.h << " @" << c.budget;
    EXPECT_EQ(s.height, c.want_h) << c.w << "x" << c.h << " @" << c.budget;
  }
  // A boundary case where the closed form sqrt(B*W/H) says 35 columns: the reference gets 34.
  EXPECT_EQ(target_image_size(770, 44, 16, 3, 70).width, 34 * 48);
  // Very thin: one token row, the long side by the integer aspect ratio, capped.
  const ImageSize thin = target_image_size(10000, 10, 16, 3, 70);
  EXPECT_EQ(thin.height, 48);
  EXPECT_EQ(thin.width, 70 * 48);
}

TEST(ImagePreprocess, PatchOrderAndPositions) {
  // 96x48 at a budget of 2 soft tokens (18 patches of 16x16) needs no resize.
  const RgbImage img = pattern(96, 48);
  ImageProcessorConfig config;
  config.max_soft_tokens = 2;
  const ImagePatches p = preprocess_image(img, config);
  ASSERT_EQ(p.grid_width, 6);
  ASSERT_EQ(p.grid_height, 3);
  ASSERT_EQ(p.num_patches, 18);
  EXPECT_EQ(p.num_soft_tokens(3), 2);
  for (int64_t n = 0; n < p.num_patches; ++n) {
    const int px = static_cast<int>(n % 6), py = static_cast<int>(n / 6);
    EXPECT_EQ(p.position_ids[n * 2], px);
    EXPECT_EQ(p.position_ids[n * 2 + 1], py);
    for (int dy = 0; dy < 16; dy += 5)
      for (int dx = 0; dx < 16; dx += 3)
        for (int c = 0; c < 3; ++c)
          ASSERT_EQ(p.pixel_values[n * 768 + (dy * 16 + dx) * 3 + c],
                    static_cast<float>(img.at(px * 16 + dx, py * 16 + dy, c) * (1.0 / 255.0)));
  }
}

TEST(ImagePreprocess, RejectsUnsupportedBudget) {
  EXPECT_THROW(preprocess_image(pattern(64, 64), ImageProcessorConfig{}, 100), Error);
  for (int budget : {70, 140, 280, 560, 1120}) {
    const ImagePatches p = preprocess_image(pattern(64, 48), ImageProcessorConfig{}, budget);
    EXPECT_LE(p.num_soft_tokens(3), budget);
    EXPECT_EQ(p.num_patches % 9, 0);
  }
}

TEST(ImagePreprocess, ResizeKeepsSizeIdentityAndFlatColour) {
  const RgbImage img = pattern(20, 10);
  EXPECT_EQ(resize_bicubic(img, 20, 10).pixels, img.pixels);
  RgbImage flat{13, 7, std::vector<uint8_t>(13 * 7 * 3, 77)};
  for (auto [w, h] : {std::pair{5, 3}, std::pair{40, 21}, std::pair{13, 30}}) {
    const RgbImage r = resize_bicubic(flat, w, h);
    EXPECT_EQ(r.pixels, std::vector<uint8_t>(static_cast<size_t>(w) * h * 3, 77));
  }
}

// The golden pixel_values and position ids (Hugging Face + PIL) reproduced from the PNG files.
void check_golden_pixels(const std::string& name, int image, const std::string& png) {
  const TensorStore store = TensorStore::open(test::tiny_dir() + "/goldens_image.safetensors");
  const TensorInfo& pv = store.require(name + ".pixel_values");
  const std::vector<float> want = to_f32(pv);
  const std::vector<int64_t> want_pos = to_i64(store.require(name + ".image_position_ids"));
  const int64_t rows = pv.shape[1], width = pv.shape[2];

  const ImagePatches p = preprocess_image(load_image(test::tiny_dir() + "/" + png),
                                          ImageProcessorConfig::load(test::tiny_dir()));
  ASSERT_EQ(p.patch_values, width);
  ASSERT_LE(p.num_patches, rows);
  float worst = 0.f;
  for (int64_t i = 0; i < p.num_patches * width; ++i)
    worst = std::max(worst, std::fabs(p.pixel_values[i] - want[image * rows * width + i]));
  std::printf("%s image %d: %lld patches, worst pixel difference %g\n", name.c_str(), image,
              static_cast<long long>(p.num_patches), worst);
  EXPECT_EQ(worst, 0.f);  // the goal is bit-exact (manifest atol is 1e-6)
  for (int64_t n = 0; n < rows; ++n) {
    const int64_t* pos = &want_pos[(image * rows + n) * 2];
    if (n < p.num_patches) {
      ASSERT_EQ(p.position_ids[n * 2], pos[0]) << n;
      ASSERT_EQ(p.position_ids[n * 2 + 1], pos[1]) << n;
    } else {
      ASSERT_EQ(pos[0], -1) << "the reference has more real patches than we do";
    }
  }
}

TEST(ImagePreprocess, GoldenPixelValuesImageA) { check_golden_pixels("image_a", 0, "image_a.png"); }
TEST(ImagePreprocess, GoldenPixelValuesImageB) { check_golden_pixels("image_b", 0, "image_b.png"); }
TEST(ImagePreprocess, GoldenPixelValuesImageAB) {
  check_golden_pixels("image_ab", 0, "image_a.png");
  check_golden_pixels("image_ab", 1, "image_b.png");
}

}  // namespace
}  // namespace gemma4
