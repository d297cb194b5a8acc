// Audio input: decode a file (WAV, FLAC, OGG/Vorbis, MP3) to float PCM, mix down to mono,
// resample to the model's rate, and split long recordings into pieces the encoder accepts.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace gemma4 {

// Decoded audio: interleaved float32 samples in [-1, 1].
struct PcmAudio {
  std::vector<float> samples;  // frames * channels, interleaved
  int sample_rate = 0;
  int channels = 0;
  int64_t frames() const { return channels ? static_cast<int64_t>(samples.size()) / channels : 0; }
};

// Decodes with libsndfile. `source` names the input in error messages.
// Throws Error (bad_input) for corrupt, truncated or empty audio and absurd sample rates.
PcmAudio decode_audio_bytes(const void* data, size_t size, const std::string& source = "audio data");
PcmAudio decode_audio_file(const std::string& path);

// Mean of the channels of each frame.
std::vector<float> mix_to_mono(const PcmAudio& audio);

// High-quality resampling (soxr "HQ", the resampler librosa uses by default).
std::vector<float> resample(const std::vector<float>& mono, int from_rate, int to_rate);

// Decode + mono + resample: what the feature extractor consumes.
std::vector<float> load_audio_mono(const std::string& path, int target_rate);
std::vector<float> load_audio_mono_bytes(const void* data, size_t size, int target_rate,
                                         const std::string& source = "audio data");

// Splits a clip into consecutive pieces of at most `max_samples` (the last may be shorter).
// Long recordings become several audio blocks, each encoded on its own, in order.
std::vector<std::vector<float>> split_into_pieces(const std::vector<float>& mono, int64_t max_samples);

}  // namespace gemma4
