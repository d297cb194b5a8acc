// libFuzzer target for audio decoding from bytes (libsndfile virtual I/O), mono mix and
// resampling: any input must decode or throw gemma4::Error, never crash.
#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "media/audio.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    gemma4::load_audio_mono_bytes(data, size, 16000, "fuzz");
  } catch (const gemma4::Error&) {
  }
  return 0;
}
