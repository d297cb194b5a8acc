// Log-mel features exactly as the reference extractor (Gemma4AudioFeatureExtractor) computes
// them: semicausal framing, periodic Hann window, magnitude rfft, HTK mel filterbank without
// area normalisation, ln(mel + floor), and a per-frame validity mask.
#pragma once
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace gemma4 {

struct AudioFeatureConfig {
  int sample_rate = 16000;
  int num_mel_bins = 128;
  int frame_length = 320;  // samples per analysis window
  int hop_length = 160;
  int fft_length = 512;
  double min_frequency = 0.0;
  double max_frequency = 8000.0;
  double mel_floor = 1e-3;
  double input_scale_factor = 1.0;
  int64_t max_samples = 480000;  // the longest clip the reference accepts (30 s)

  // Reads processor_config.json's "feature_extractor" object (or the object itself).
  // Options the reference supports but the shipped checkpoints leave off (pre-emphasis,
  // dither, per-bin normalisation) are rejected as unsupported rather than ignored.
  static AudioFeatureConfig from_processor_config(const nlohmann::json& processor_config);
};

struct LogMel {
  int64_t frames = 0;
  int num_mel_bins = 0;
  std::vector<float> features;  // [frames, num_mel_bins]; invalid frames are 0
  std::vector<uint8_t> mask;    // [frames]; 1 = valid frame

  int64_t valid_frames() const;
};

// HTK mel filterbank, [fft_length/2 + 1, num_mel_bins] row-major (row = FFT bin).
std::vector<double> mel_filter_bank(const AudioFeatureConfig& cfg);

// Features of `n` samples of 16 kHz mono PCM. `padded_length` >= n emulates the reference's
// batch padding (zeros on the right, masked out); pass n for an unpadded clip.
LogMel log_mel_features(const AudioFeatureConfig& cfg, const float* samples, int64_t n, int64_t padded_length);
inline LogMel log_mel_features(const AudioFeatureConfig& cfg, const std::vector<float>& samples) {
  return log_mel_features(cfg, samples.data(), static_cast<int64_t>(samples.size()),
                          static_cast<int64_t>(samples.size()));
}

// Number of mel frames the extractor produces for n samples (no padding).
int64_t mel_frame_count(const AudioFeatureConfig& cfg, int64_t n);

}  // namespace gemma4
