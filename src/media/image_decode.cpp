// Image file decoding: stb_image for PNG / JPEG / BMP / GIF, libwebp for WebP.
// Dimensions are checked from the header before any pixel is decoded (decompression bombs).
#include <cstring>
#include <memory>

#include <webp/decode.h>

#include "base/error.h"
#include "base/mapped_file.h"
#include "media/image.h"

#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#include <stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace gemma4 {
namespace {

enum class ImageFormat { png, jpeg, bmp, gif, webp, unknown };

bool starts_with(const uint8_t* data, size_t size, const char* magic, size_t n, size_t at = 0) {
  return size >= at + n && std::memcmp(data + at, magic, n) == 0;
}

// Formats are recognised by their magic bytes, never by the file name.
ImageFormat sniff_format(const uint8_t* data, size_t size) {
  if (starts_with(data, size, "\x89PNG\r\n\x1a\n", 8)) return ImageFormat::png;
  if (starts_with(data, size, "\xff\xd8\xff", 3)) return ImageFormat::jpeg;
  if (starts_with(data, size, "GIF87a", 6) || starts_with(data, size, "GIF89a", 6)) return ImageFormat::gif;
  if (starts_with(data, size, "BM", 2)) return ImageFormat::bmp;
  if (starts_with(data, size, "RIFF", 4) && starts_with(data, size, "WEBP", 4, 8)) return ImageFormat::webp;
  return ImageFormat::unknown;
}

void check_dimensions(int64_t width, int64_t height, const std::string& source) {
  check(width > 0 && height > 0,
        source + ": the image has no pixels (" + std::to_string(width) + "x" + std::to_string(height) + ")");
  check(width * height <= kMaxImagePixels,
        source + ": the image is too large (" + std::to_string(width) + "x" + std::to_string(height) +
            " pixels; the limit is " + std::to_string(kMaxImagePixels) + " pixels)");
}

// PNG's IHDR holds the size as two big-endian 32-bit values. Read here because stb's own
// "too large" verdict is replaced by a generic one when it tries the other formats.
void check_png_header_dimensions(const uint8_t* data, size_t size, const std::string& source) {
  if (size < 24 || std::memcmp(data + 12, "IHDR", 4) != 0) return;  // stb reports the damage
  auto be32 = [&](size_t at) {
    return (int64_t{data[at]} << 24) | (int64_t{data[at + 1]} << 16) | (int64_t{data[at + 2]} << 8) | data[at + 3];
  };
  check_dimensions(be32(16), be32(20), source);
}

// stb_image decodes a JPEG cut short without complaint (it pads the entropy data with
// zeros), so a JPEG must end its last scan with an end-of-image marker.
bool jpeg_is_complete(const uint8_t* data, size_t size) {
  int64_t last_sos = -1, last_eoi = -1;
  for (size_t i = 0; i + 1 < size; ++i) {
    if (data[i] != 0xff) continue;
    if (data[i + 1] == 0xda) last_sos = static_cast<int64_t>(i);
    if (data[i + 1] == 0xd9) last_eoi = static_cast<int64_t>(i);
  }
  return last_sos >= 0 && last_eoi > last_sos;
}

// The EXIF orientation tag (1..8) of a JPEG, 1 when absent or unreadable. Only the first
// IFD is read: that is where cameras put tag 0x0112.
int jpeg_exif_orientation(const uint8_t* data, size_t size) {
  size_t at = 2;  // after SOI
  while (at + 4 <= size && data[at] == 0xff) {
    const uint8_t marker = data[at + 1];
    const size_t length = (size_t{data[at + 2]} << 8) | data[at + 3];
    if (marker == 0xda || length < 2 || at + 2 + length > size) break;  // scan data: no more headers
    const uint8_t* seg = data + at + 4;
    const size_t seg_len = length - 2;
    if (marker == 0xe1 && seg_len >= 14 && std::memcmp(seg, "Exif\0\0", 6) == 0) {
      const uint8_t* tiff = seg + 6;
      const size_t tiff_len = seg_len - 6;
      const bool little = tiff[0] == 'I';
      auto u16 = [&](size_t o) -> uint32_t {
        return little ? tiff[o] | (tiff[o + 1] << 8) : (tiff[o] << 8) | tiff[o + 1];
      };
      auto u32 = [&](size_t o) -> uint32_t { return little ? u16(o) | (u16(o + 2) << 16) : (u16(o) << 16) | u16(o + 2); };
      const size_t ifd = u32(4);
      if (ifd + 2 > tiff_len) return 1;
      const uint32_t entries = u16(ifd);
      for (uint32_t e = 0; e < entries; ++e) {
        const size_t entry = ifd + 2 + size_t{e} * 12;
        if (entry + 12 > tiff_len) return 1;
        if (u16(entry) == 0x0112 && u16(entry + 2) == 3) {
          const uint32_t value = u16(entry + 8);
          return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
        }
      }
      return 1;
    }
    at += 2 + length;
  }
  return 1;
}

// Turns the stored pixels upright as PIL's ImageOps.exif_transpose does.
RgbImage apply_exif_orientation(const RgbImage& in, int orientation) {
  if (orientation == 1) return in;
  const int W = in.width, H = in.height;
  const bool swaps = orientation >= 5;  // 5..8 exchange width and height
  RgbImage out{swaps ? H : W, swaps ? W : H, std::vector<uint8_t>(in.pixels.size())};
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) {
      int sx = x, sy = y;  // the source pixel of output (x, y)
      switch (orientation) {
        case 2: sx = W - 1 - x; break;
        case 3: sx = W - 1 - x; sy = H - 1 - y; break;
        case 4: sy = H - 1 - y; break;
        case 5: sx = y; sy = x; break;
        case 6: sx = y; sy = H - 1 - x; break;
        case 7: sx = W - 1 - y; sy = H - 1 - x; break;
        case 8: sx = W - 1 - y; sy = x; break;
      }
      for (int c = 0; c < 3; ++c) out.pixels[(static_cast<size_t>(y) * out.width + x) * 3 + c] = in.at(sx, sy, c);
    }
  return out;
}

RgbImage decode_with_stb(const uint8_t* data, size_t size, ImageFormat format, const std::string& source) {
  check(size <= static_cast<size_t>(INT32_MAX), source + ": the file is too large");
  const int len = static_cast<int>(size);
  if (format == ImageFormat::png) check_png_header_dimensions(data, size, source);
  int width = 0, height = 0, channels = 0;
  if (!stbi_info_from_memory(data, len, &width, &height, &channels))
    throw Error(source + ": corrupt or truncated image header (" + stbi_failure_reason() + ")", ExitCode::bad_input);
  check_dimensions(width, height, source);
  if (format == ImageFormat::jpeg)
    check(jpeg_is_complete(data, size), source + ": truncated JPEG (no end-of-image marker)");

  // req_comp = 3: grey is replicated, palettes expanded, alpha dropped (as PIL's convert("RGB")).
  // 16-bit PNGs are reduced to their high byte, as PIL does.
  int w = 0, h = 0, n = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(stbi_load_from_memory(data, len, &w, &h, &n, 3), stbi_image_free);
  if (!pixels) throw Error(source + ": corrupt or truncated image (" + stbi_failure_reason() + ")", ExitCode::bad_input);
  check(w == width && h == height, source + ": the image data does not match its header");
  RgbImage image;
  image.width = w;
  image.height = h;
  image.pixels.assign(pixels.get(), pixels.get() + static_cast<size_t>(w) * h * 3);
  // The reference loader (transformers' load_image) applies the EXIF orientation.
  if (format == ImageFormat::jpeg) return apply_exif_orientation(image, jpeg_exif_orientation(data, size));
  return image;
}

RgbImage decode_webp(const uint8_t* data, size_t size, const std::string& source) {
  WebPBitstreamFeatures features;
  if (WebPGetFeatures(data, size, &features) != VP8_STATUS_OK)
    throw Error(source + ": corrupt or truncated WebP header", ExitCode::bad_input);
  if (features.has_animation)
    throw Error(source + ": animated WebP is not supported", ExitCode::unsupported);
  check_dimensions(features.width, features.height, source);
  RgbImage image;
  image.width = features.width;
  image.height = features.height;
  image.pixels.resize(static_cast<size_t>(image.width) * image.height * 3);
  // The RGB decoder drops alpha, as PIL's convert("RGB").
  const int stride = image.width * 3;
  if (!WebPDecodeRGBInto(data, size, image.pixels.data(), image.pixels.size(), stride))
    throw Error(source + ": corrupt or truncated WebP image", ExitCode::bad_input);
  return image;
}

}  // namespace

RgbImage decode_image(const uint8_t* data, size_t size, const std::string& source) {
  check(data != nullptr && size > 0, source + ": empty image file");
  const ImageFormat format = sniff_format(data, size);
  switch (format) {
    case ImageFormat::png:
    case ImageFormat::jpeg:
    case ImageFormat::bmp:
    case ImageFormat::gif:
      return decode_with_stb(data, size, format, source);
    case ImageFormat::webp:
      return decode_webp(data, size, source);
    case ImageFormat::unknown:
      break;
  }
  throw Error(source + ": unsupported image format (expected PNG, JPEG, BMP, GIF or WebP)", ExitCode::unsupported);
}

RgbImage load_image(const std::string& path) {
  check(file_exists(path), "image file not found: " + path, ExitCode::not_found);
  MappedFile file(path);
  return decode_image(file.data(), file.size(), path);
}

}  // namespace gemma4
