// libFuzzer target for the image decoders (PNG, JPEG, BMP, GIF via stb_image; WebP via libwebp).
#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "media/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const gemma4::RgbImage image = gemma4::decode_image(data, size, "fuzz");
    // A decoded image must be exactly as large as it says.
    if (image.pixels.size() != static_cast<size_t>(image.width) * image.height * 3) __builtin_trap();
  } catch (const gemma4::Error&) {
  }
  return 0;
}
