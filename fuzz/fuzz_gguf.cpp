// libFuzzer target for the GGUF parser: any input must parse or throw gemma4::Error, and every
// tensor the parser accepts must be readable (dequantized) within the input's bounds.
#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "io/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto contents = gemma4::parse_gguf(data, size, "fuzz");
    for (const auto& t : contents.tensors)
      if (t.numel() <= (1 << 16)) gemma4::gguf_to_f32(t);
  } catch (const gemma4::Error&) {
  }
  return 0;
}
