// libFuzzer target for the safetensors header parser.
#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    gemma4::parse_safetensors(data, size, "fuzz");
  } catch (const gemma4::Error&) {
  }
  return 0;
}
