// Log-mel front end. Double precision for the FFT, mel product and log, as the reference
// (numpy float64) does, then float32 output.
#include "media/audio_features.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>

#include "base/error.h"
#include "base/thread_pool.h"

namespace gemma4 {
namespace {

double hz_to_mel_htk(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double mel_to_hz_htk(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

// Magnitudes |X[k]|, k = 0..n/2, of the DFT of n real values (n a power of two), through one
// complex FFT of n/2 points: z[m] = x[2m] + i·x[2m+1], then the even/odd split
// X[k] = E[k] + w^k·O[k] with E = (Z[k] + conj Z[n/2−k]) / 2, O = (Z[k] − conj Z[n/2−k]) / 2i.
// Twiddles and the bit-reversal permutation are computed once per clip.
class RealFft {
 public:
  explicit RealFft(int n) : n_(n), half_(n / 2), twiddle_(static_cast<size_t>(n / 2)), bit_reversed_(n / 2) {
    for (int k = 0; k < half_; ++k)
      twiddle_[k] = std::polar(1.0, -2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(n));
    int bits = 0;
    while ((1 << bits) < half_) ++bits;
    for (int i = 0; i < half_; ++i) {
      int r = 0;
      for (int b = 0; b < bits; ++b) r |= ((i >> b) & 1) << (bits - 1 - b);
      bit_reversed_[i] = r;
    }
  }

  // x: n values; z: n/2 scratch values; magnitude: n/2 + 1 values.
  void magnitudes(const double* x, std::complex<double>* z, double* magnitude) const {
    for (int m = 0; m < half_; ++m) z[bit_reversed_[m]] = {x[2 * m], x[2 * m + 1]};
    for (int len = 2; len <= half_; len <<= 1) {
      const int stride = n_ / len;  // exp(−2πik/len) = twiddle_[k · n/len]
      for (int start = 0; start < half_; start += len) {
        for (int k = 0; k < len / 2; ++k) {
          const std::complex<double> u = z[start + k];
          const std::complex<double> v = z[start + k + len / 2] * twiddle_[static_cast<size_t>(k * stride)];
          z[start + k] = u + v;
          z[start + k + len / 2] = u - v;
        }
      }
    }
    for (int k = 0; k <= half_; ++k) {
      const std::complex<double> zk = z[k % half_], zc = std::conj(z[(half_ - k) % half_]);
      const std::complex<double> even = 0.5 * (zk + zc), odd = std::complex<double>(0.0, -0.5) * (zk - zc);
      const std::complex<double> w = k < half_ ? twiddle_[k] : std::complex<double>(-1.0, 0.0);
      const std::complex<double> X = even + w * odd;
      magnitude[k] = std::sqrt(X.real() * X.real() + X.imag() * X.imag());
    }
  }

 private:
  int n_, half_;
  std::vector<std::complex<double>> twiddle_;  // exp(−2πik/n), k < n/2
  std::vector<int> bit_reversed_;              // of log2(n/2)-bit indices
};

// Periodic Hann window, stored in float32 as the reference stores it.
std::vector<float> periodic_hann(int length) {
  std::vector<float> w(static_cast<size_t>(length));
  for (int i = 0; i < length; ++i)
    w[i] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * i / length));
  return w;
}

bool is_null_or_absent(const nlohmann::json& j, const char* key) { return !j.contains(key) || j[key].is_null(); }

}  // namespace

AudioFeatureConfig AudioFeatureConfig::from_processor_config(const nlohmann::json& processor_config) {
  const nlohmann::json& fe =
      processor_config.contains("feature_extractor") ? processor_config["feature_extractor"] : processor_config;
  AudioFeatureConfig cfg;
  try {
    cfg.sample_rate = fe.value("sampling_rate", cfg.sample_rate);
    cfg.num_mel_bins = fe.value("feature_size", cfg.num_mel_bins);
    const double frame_ms = fe.value("frame_length_ms", 20.0);
    const double hop_ms = fe.value("hop_length_ms", 10.0);
    cfg.frame_length = static_cast<int>(std::lround(cfg.sample_rate * frame_ms / 1000.0));
    cfg.hop_length = static_cast<int>(std::lround(cfg.sample_rate * hop_ms / 1000.0));
    cfg.fft_length = 1;
    while (cfg.fft_length < cfg.frame_length) cfg.fft_length *= 2;
    if (fe.value("fft_overdrive", false)) cfg.fft_length *= 2;
    cfg.min_frequency = fe.value("min_frequency", cfg.min_frequency);
    cfg.max_frequency = fe.value("max_frequency", cfg.max_frequency);
    cfg.mel_floor = fe.value("mel_floor", cfg.mel_floor);
    cfg.input_scale_factor = fe.value("input_scale_factor", cfg.input_scale_factor);
    if (fe.contains("call_defaults")) cfg.max_samples = fe["call_defaults"].value("max_length", cfg.max_samples);
    const bool plain = fe.value("preemphasis", 0.0) == 0.0 && fe.value("dither", 0.0) == 0.0 &&
                       is_null_or_absent(fe, "per_bin_mean") && is_null_or_absent(fe, "per_bin_stddev");
    check(plain, "audio feature extractor: pre-emphasis, dither and per-bin normalisation are not supported",
          ExitCode::unsupported);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("processor_config.json feature_extractor: ") + e.what(), ExitCode::bad_input);
  }
  check(cfg.sample_rate > 0 && cfg.num_mel_bins > 0 && cfg.frame_length > 1 && cfg.hop_length > 0 &&
            cfg.max_frequency > cfg.min_frequency && cfg.max_samples > 0,
        "processor_config.json feature_extractor: invalid values");
  return cfg;
}

int64_t LogMel::valid_frames() const {
  int64_t n = 0;
  for (uint8_t m : mask) n += m;
  return n;
}

std::vector<double> mel_filter_bank(const AudioFeatureConfig& cfg) {
  const int bins = cfg.fft_length / 2 + 1;
  const int mels = cfg.num_mel_bins;
  const double mel_lo = hz_to_mel_htk(cfg.min_frequency);
  const double mel_hi = hz_to_mel_htk(cfg.max_frequency);
  std::vector<double> edges(static_cast<size_t>(mels + 2));
  for (int j = 0; j < mels + 2; ++j) edges[j] = mel_to_hz_htk(mel_lo + (mel_hi - mel_lo) * j / (mels + 1));
  std::vector<double> bank(static_cast<size_t>(bins) * mels, 0.0);
  for (int k = 0; k < bins; ++k) {
    // FFT bin centres span 0 .. sample_rate/2.
    const double f = (cfg.sample_rate / 2.0) * k / (bins - 1);
    for (int j = 0; j < mels; ++j) {
      const double rising = (f - edges[j]) / (edges[j + 1] - edges[j]);
      const double falling = (edges[j + 2] - f) / (edges[j + 2] - edges[j + 1]);
      bank[static_cast<size_t>(k) * mels + j] = std::max(0.0, std::min(rising, falling));
    }
  }
  return bank;
}

int64_t mel_frame_count(const AudioFeatureConfig& cfg, int64_t n) {
  // Semicausal framing: frame_length/2 zeros on the left; each unfold window is
  // frame_length + 1 samples long (the extra one would feed pre-emphasis).
  const int64_t padded = n + cfg.frame_length / 2;
  const int64_t window = cfg.frame_length + 1;
  return padded < window ? 0 : (padded - window) / cfg.hop_length + 1;
}

LogMel log_mel_features(const AudioFeatureConfig& cfg, const float* samples, int64_t n, int64_t padded_length) {
  check(padded_length >= n, "log_mel_features: padded_length < n", ExitCode::failure);
  const int64_t pad_left = cfg.frame_length / 2;
  const int64_t frames = mel_frame_count(cfg, padded_length);
  const int bins = cfg.fft_length / 2 + 1;
  const std::vector<float> window = periodic_hann(cfg.frame_length);
  const std::vector<double> bank = mel_filter_bank(cfg);

  LogMel out;
  out.frames = frames;
  out.num_mel_bins = cfg.num_mel_bins;
  out.features.assign(static_cast<size_t>(frames) * cfg.num_mel_bins, 0.0f);
  out.mask.assign(static_cast<size_t>(frames), 0);

  // Sample j of the left-padded signal; zero outside the real samples.
  auto padded_sample = [&](int64_t j) -> float {
    const int64_t s = j - pad_left;
    return (s >= 0 && s < n) ? static_cast<float>(samples[s] * cfg.input_scale_factor) : 0.0f;
  };

  // Each triangle covers a few FFT bins: [first, end) of the nonzero entries per filter.
  std::vector<std::pair<int, int>> support(static_cast<size_t>(cfg.num_mel_bins), {0, 0});
  for (int j = 0; j < cfg.num_mel_bins; ++j) {
    int first = bins, end = 0;
    for (int k = 0; k < bins; ++k) {
      if (bank[static_cast<size_t>(k) * cfg.num_mel_bins + j] != 0.0) {
        first = std::min(first, k);
        end = k + 1;
      }
    }
    if (end > 0) support[j] = {first, end};
  }

  // Frames are independent: spread over the thread pool (the same numbers either way).
  const RealFft fft(cfg.fft_length);
  parallel_ranges(frames, 1, [&](int64_t f0, int64_t f1) {
    std::vector<double> frame(static_cast<size_t>(cfg.fft_length));
    std::vector<std::complex<double>> scratch(static_cast<size_t>(cfg.fft_length / 2));
    std::vector<double> magnitude(static_cast<size_t>(bins));
    for (int64_t i = f0; i < f1; ++i) {
      // A frame is valid iff the last sample of its unfold window is a real sample.
      const int64_t last = i * cfg.hop_length + cfg.frame_length - pad_left;
      if (!(last >= 0 && last < n)) continue;
      out.mask[i] = 1;
      for (int t = 0; t < cfg.fft_length; ++t) {
        const float v = t < cfg.frame_length ? padded_sample(i * cfg.hop_length + t) * window[t] : 0.0f;
        frame[t] = static_cast<double>(v);
      }
      fft.magnitudes(frame.data(), scratch.data(), magnitude.data());
      float* row = out.features.data() + i * cfg.num_mel_bins;
      for (int j = 0; j < cfg.num_mel_bins; ++j) {
        double mel = 0.0;
        for (int k = support[j].first; k < support[j].second; ++k)
          mel += magnitude[k] * bank[static_cast<size_t>(k) * cfg.num_mel_bins + j];
        row[j] = static_cast<float>(std::log(mel + cfg.mel_floor));
      }
    }
  });
  return out;
}

}  // namespace gemma4
