// Audio decoding, mono mix, resampling and long-clip splitting.
#include <gtest/gtest.h>
#include <sndfile.h>

#include <cmath>
#include <cstring>
#include <numbers>
#include <vector>

#include "base/error.h"
#include "base/mapped_file.h"
#include "io/safetensors.h"
#include "media/audio.h"
#include "test_util.h"

using namespace gemma4;

namespace {

std::vector<float> sine(int rate, double seconds, double hz, int channels) {
  const int64_t frames = static_cast<int64_t>(rate * seconds);
  std::vector<float> s(static_cast<size_t>(frames * channels));
  for (int64_t i = 0; i < frames; ++i)
    for (int c = 0; c < channels; ++c) s[i * channels + c] = static_cast<float>(0.5 * std::sin(2 * std::numbers::pi * hz * i / rate));
  return s;
}

// Writes `samples` with libsndfile in `format`; returns false if this libsndfile cannot write it.
bool write_sound(const std::string& path, int format, int rate, int channels, const std::vector<float>& samples) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  if (!f) return false;
  sf_writef_float(f, samples.data(), static_cast<sf_count_t>(samples.size() / channels));
  sf_close(f);
  return true;
}

// Correlation of x with a 16 kHz 1 kHz sine of amplitude 0.5 (1.0 = identical shape and phase).
double correlation_with_sine(const std::vector<float>& x) {
  const std::vector<float> ref = sine(16000, static_cast<double>(x.size()) / 16000, 1000, 1);
  double xy = 0, xx = 0, yy = 0;
  // Skip the ends, where resampler and codec transients live.
  for (size_t i = 800; i + 800 < std::min(x.size(), ref.size()); ++i) {
    xy += x[i] * ref[i];
    xx += x[i] * x[i];
    yy += ref[i] * ref[i];
  }
  return xy / std::sqrt(xx * yy);
}

std::string error_of(const std::vector<uint8_t>& bytes) {
  try {
    decode_audio_bytes(bytes.data(), bytes.size(), "test");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    return e.what();
  }
  return "";
}

std::vector<uint8_t> wav_header(uint32_t rate, uint16_t channels, uint16_t bits, uint32_t data_bytes) {
  std::vector<uint8_t> h(44);
  auto put32 = [&](size_t at, uint32_t v) { std::memcpy(&h[at], &v, 4); };
  auto put16 = [&](size_t at, uint16_t v) { std::memcpy(&h[at], &v, 2); };
  std::memcpy(&h[0], "RIFF", 4);
  put32(4, 36 + data_bytes);
  std::memcpy(&h[8], "WAVEfmt ", 8);
  put32(16, 16);
  put16(20, 1);
  put16(22, channels);
  put32(24, rate);
  put32(28, rate * channels * bits / 8);
  put16(32, static_cast<uint16_t>(channels * bits / 8));
  put16(34, bits);
  std::memcpy(&h[36], "data", 4);
  put32(40, data_bytes);
  return h;
}

}  // namespace

TEST(AudioDecode, GoldenWavMatchesReferenceWaveform) {
  auto goldens = TensorStore::open(test::tiny_dir() + "/goldens_audio.safetensors");
  const std::vector<float> want = to_f32(goldens.require("audio_speech.waveforms", {1, 55015}));
  PcmAudio pcm = decode_audio_file(test::tiny_dir() + "/speech.wav");
  EXPECT_EQ(pcm.sample_rate, 16000);
  EXPECT_EQ(pcm.channels, 1);
  const std::vector<float> got = load_audio_mono(test::tiny_dir() + "/speech.wav", 16000);
  ASSERT_EQ(got.size(), want.size());
  double max_diff = 0;
  for (size_t i = 0; i < got.size(); ++i) max_diff = std::max(max_diff, std::abs(double(got[i]) - want[i]));
  EXPECT_LE(max_diff, 1e-6);
}

TEST(AudioDecode, AllFormatsDecodeMixAndResample) {
  const std::string dir = test::temp_dir("audio-formats");
  struct Case {
    const char* name;
    int format;
    double min_correlation;  // lossy codecs change the waveform a little
  };
  const Case cases[] = {
      {"pcm8.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 0.99},
      {"pcm16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 0.999},
      {"pcm24.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 0.999},
      {"pcm32.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_32, 0.999},
      {"float.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 0.999},
      {"a.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 0.999},
      {"a.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 0.95},
      {"a.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 0.95},
  };
  // 1 s of a 1 kHz tone, stereo at 44.1 kHz: must come back as 16 000 mono samples of that tone.
  const std::vector<float> stereo = sine(44100, 1.0, 1000, 2);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = dir + "/" + c.name;
    ASSERT_TRUE(write_sound(path, c.format, 44100, 2, stereo)) << sf_strerror(nullptr);
    PcmAudio pcm = decode_audio_file(path);
    EXPECT_EQ(pcm.channels, 2);
    EXPECT_EQ(pcm.sample_rate, 44100);
    std::vector<float> mono = load_audio_mono(path, 16000);
    // MP3 adds encoder delay / padding frames; everything else is exact in length.
    if (c.format == (SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III)) {
      EXPECT_NEAR(static_cast<double>(mono.size()), 16000.0, 1200.0);
    } else {
      EXPECT_EQ(mono.size(), 16000u);
    }
    if (c.format != (SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III)) {
      EXPECT_GE(correlation_with_sine(mono), c.min_correlation);
    }
  }
}

TEST(AudioDecode, Mp3KeepsTheTone) {
  // MP3 shifts the signal by its encoder delay, so compare spectra by energy at 1 kHz
  // versus 3 kHz with a one-bin DFT instead of sample-aligned correlation.
  const std::string path = test::temp_dir("audio-mp3") + "/a.mp3";
  ASSERT_TRUE(write_sound(path, SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 16000, 1, sine(16000, 1.0, 1000, 1)));
  std::vector<float> x = load_audio_mono(path, 16000);
  auto energy = [&](double hz) {
    double re = 0, im = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      re += x[i] * std::cos(2 * std::numbers::pi * hz * i / 16000);
      im += x[i] * std::sin(2 * std::numbers::pi * hz * i / 16000);
    }
    return re * re + im * im;
  };
  EXPECT_GT(energy(1000), 1000 * energy(3000));
}

TEST(AudioDecode, MixesChannelsByAveraging) {
  PcmAudio pcm;
  pcm.sample_rate = 16000;
  pcm.channels = 2;
  pcm.samples = {1.0f, 0.0f, -0.5f, 0.5f, 0.25f, 0.75f};
  EXPECT_EQ(mix_to_mono(pcm), (std::vector<float>{0.5f, 0.0f, 0.5f}));
}

TEST(AudioDecode, ResamplesLengthAndTone) {
  std::vector<float> x = resample(sine(48000, 2.0, 1000, 1), 48000, 16000);
  EXPECT_EQ(x.size(), 32000u);
  EXPECT_GE(correlation_with_sine(x), 0.999);
}

TEST(AudioDecode, ClearErrorsForBadInput) {
  EXPECT_NE(error_of({}).find("empty"), std::string::npos);
  EXPECT_NE(error_of({'R', 'I', 'F', 'F', 1, 2, 3, 4, 5, 6, 7, 8, 9}).find("cannot decode"), std::string::npos);
  std::vector<uint8_t> garbage(1000);
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<uint8_t>(i * 7919 % 251);
  EXPECT_NE(error_of(garbage).find("cannot decode"), std::string::npos);

  // Header promises 1000 samples, only 100 present.
  std::vector<uint8_t> truncated = wav_header(16000, 1, 16, 2000);
  truncated.resize(truncated.size() + 200, 0);
  EXPECT_NE(error_of(truncated).find("truncated"), std::string::npos);

  // A valid header with no samples.
  std::vector<uint8_t> empty = wav_header(16000, 1, 16, 0);
  EXPECT_NE(error_of(empty).find("no samples"), std::string::npos);

  for (uint32_t rate : {1u, 100u, 50000000u}) {
    std::vector<uint8_t> odd_rate = wav_header(rate, 1, 16, 200);
    odd_rate.resize(odd_rate.size() + 200, 0);
    const std::string msg = error_of(odd_rate);
    EXPECT_TRUE(msg.find("sample rate") != std::string::npos || msg.find("cannot decode") != std::string::npos)
        << rate << ": " << msg;
  }
}

TEST(AudioDecode, MissingFileIsNotFound) {
  try {
    decode_audio_file("/nonexistent/a.wav");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::not_found);
  }
}

TEST(AudioDecode, SplitsLongClipsIntoPiecesInOrder) {
  std::vector<float> x(25);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i);
  auto pieces = split_into_pieces(x, 10);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[0].size(), 10u);
  EXPECT_EQ(pieces[2].size(), 5u);
  EXPECT_EQ(pieces[1][0], 10.0f);
  EXPECT_EQ(pieces[2][4], 24.0f);
  EXPECT_EQ(split_into_pieces(x, 25).size(), 1u);
}
