// libFuzzer target for the GGUF parser: any input must parse or throw gemma4::Error, and every
// tensor the parser accepts must be readable (dequantized) within the input's bounds. An input
// that claims to be an mmproj (`general.architecture = clip`) also goes through the mmproj
// loader (configuration from metadata and tensor shapes, tensors under Hugging Face names),
// which must accept it or throw gemma4::Error.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "base/error.h"
#include "io/gguf.h"
#include "model/mmproj_loader.h"

namespace {

// The mmproj loader reads a file (it maps it): write the input to one per process.
void fuzz_mmproj(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/fuzz-mmproj-" + std::to_string(getpid()) + ".gguf";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return;
  const bool written = std::fwrite(data, 1, size, f) == size;
  std::fclose(f);
  if (written) gemma4::open_mmproj(path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto contents = gemma4::parse_gguf(data, size, "fuzz");
    for (const auto& t : contents.tensors)
      if (t.numel() <= (1 << 16)) gemma4::gguf_to_f32(t);
    auto arch = contents.kv.find("general.architecture");
    if (arch != contents.kv.end() && arch->second.s == "clip") fuzz_mmproj(data, size);
  } catch (const gemma4::Error&) {
  }
  return 0;
}
