// Audio decoding with libsndfile (virtual I/O over a byte buffer) and resampling with soxr.
#include "media/audio.h"

#include <sndfile.h>
#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "base/error.h"
#include "base/mapped_file.h"

namespace gemma4 {
namespace {

// Rates outside this range are not audio we can sensibly resample.
constexpr int kMinSampleRate = 1000;
constexpr int kMaxSampleRate = 768000;
constexpr int kMaxChannels = 64;

// A read-only byte buffer that libsndfile reads through its virtual I/O callbacks.
struct ByteReader {
  const uint8_t* data;
  sf_count_t size;
  sf_count_t pos;
};

sf_count_t vio_get_filelen(void* user) { return static_cast<ByteReader*>(user)->size; }

sf_count_t vio_seek(sf_count_t offset, int whence, void* user) {
  auto* r = static_cast<ByteReader*>(user);
  sf_count_t base = whence == SEEK_CUR ? r->pos : whence == SEEK_END ? r->size : 0;
  sf_count_t target = base + offset;
  if (target < 0 || target > r->size) return -1;
  r->pos = target;
  return r->pos;
}

sf_count_t vio_read(void* ptr, sf_count_t count, void* user) {
  auto* r = static_cast<ByteReader*>(user);
  sf_count_t n = std::max<sf_count_t>(0, std::min(count, r->size - r->pos));
  if (n > 0) std::memcpy(ptr, r->data + r->pos, static_cast<size_t>(n));
  r->pos += n;
  return n;
}

sf_count_t vio_write(const void*, sf_count_t, void*) { return 0; }
sf_count_t vio_tell(void* user) { return static_cast<ByteReader*>(user)->pos; }

// libsndfile recomputes a WAV/AIFF length from the bytes present and notes a header that
// promised more in its log as "data : <declared> (should be <actual>)". Streaming writers put
// 0 or 0xFFFFFFFF there, so only a declared size larger than the actual one (and not the
// streaming marker) counts as truncation.
bool log_says_truncated(SNDFILE* file) {
  char log[8192] = {};
  sf_command(file, SFC_GET_LOG_INFO, log, sizeof(log));
  const char* line = std::strstr(log, "data : ");
  if (!line) return false;
  long long declared = 0, actual = 0;
  if (std::sscanf(line, "data : %lld (should be %lld)", &declared, &actual) != 2) return false;
  return declared > actual && declared < 0xFFFFFFFFLL;
}

struct SndfileCloser {
  void operator()(SNDFILE* f) const { sf_close(f); }
};

}  // namespace

PcmAudio decode_audio_bytes(const void* data, size_t size, const std::string& source) {
  check(size > 0, source + ": empty audio file");
  ByteReader reader{static_cast<const uint8_t*>(data), static_cast<sf_count_t>(size), 0};
  SF_VIRTUAL_IO io{vio_get_filelen, vio_seek, vio_read, vio_write, vio_tell};
  SF_INFO info{};
  std::unique_ptr<SNDFILE, SndfileCloser> file(sf_open_virtual(&io, SFM_READ, &info, &reader));
  if (!file) {
    throw Error(source + ": cannot decode audio (" + sf_strerror(nullptr) +
                    "); supported: WAV, FLAC, OGG/Vorbis, MP3",
                ExitCode::bad_input);
  }
  check(info.samplerate >= kMinSampleRate && info.samplerate <= kMaxSampleRate,
        source + ": unsupported sample rate " + std::to_string(info.samplerate) + " Hz");
  check(info.channels >= 1 && info.channels <= kMaxChannels,
        source + ": unsupported channel count " + std::to_string(info.channels));
  // MP3 and some containers report no or an estimated length: read in blocks until the end.
  PcmAudio out;
  out.sample_rate = info.samplerate;
  out.channels = info.channels;
  const sf_count_t block = 4096;
  std::vector<float> buf(static_cast<size_t>(block * info.channels));
  for (;;) {
    sf_count_t got = sf_readf_float(file.get(), buf.data(), block);
    if (got <= 0) break;
    out.samples.insert(out.samples.end(), buf.begin(), buf.begin() + got * info.channels);
  }
  int err = sf_error(file.get());
  check(err == SF_ERR_NO_ERROR, source + ": corrupt audio (" + sf_error_number(err) + ")");
  // A header that promises more frames than the data holds means the file was cut short.
  if (info.frames > 0 && info.frames != SF_COUNT_MAX && out.frames() < info.frames &&
      (info.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_MPEG) {
    throw Error(source + ": truncated audio (header says " + std::to_string(info.frames) + " frames, found " +
                    std::to_string(out.frames()) + ")",
                ExitCode::bad_input);
  }
  check(!log_says_truncated(file.get()), source + ": truncated audio (the file ends before the data its header declares)");
  check(out.frames() > 0, source + ": audio has no samples");
  for (float v : out.samples) check(std::isfinite(v), source + ": audio contains NaN or infinite samples");
  return out;
}

PcmAudio decode_audio_file(const std::string& path) {
  if (!file_exists(path)) throw Error("audio file not found: " + path, ExitCode::not_found);
  MappedFile file(path);
  check(file.size() > 0, path + ": empty audio file");
  return decode_audio_bytes(file.data(), file.size(), path);
}

std::vector<float> mix_to_mono(const PcmAudio& audio) {
  const int64_t frames = audio.frames();
  std::vector<float> mono(static_cast<size_t>(frames));
  for (int64_t i = 0; i < frames; ++i) {
    double sum = 0;
    for (int c = 0; c < audio.channels; ++c) sum += audio.samples[i * audio.channels + c];
    mono[i] = static_cast<float>(sum / audio.channels);
  }
  return mono;
}

std::vector<float> resample(const std::vector<float>& mono, int from_rate, int to_rate) {
  check(from_rate > 0 && to_rate > 0, "resample: sample rates must be positive");
  if (from_rate == to_rate || mono.empty()) return mono;
  const size_t out_len = static_cast<size_t>(
      std::ceil(static_cast<double>(mono.size()) * to_rate / from_rate));
  std::vector<float> out(out_len);
  soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
  soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  size_t done = 0;
  soxr_error_t err = soxr_oneshot(from_rate, to_rate, 1, mono.data(), mono.size(), nullptr, out.data(),
                                  out.size(), &done, &io, &quality, nullptr);
  if (err) throw Error(std::string("resampling failed: ") + err);
  out.resize(done);
  return out;
}

std::vector<float> load_audio_mono_bytes(const void* data, size_t size, int target_rate,
                                         const std::string& source) {
  PcmAudio pcm = decode_audio_bytes(data, size, source);
  std::vector<float> out = resample(mix_to_mono(pcm), pcm.sample_rate, target_rate);
  check(!out.empty(), source + ": audio is too short to use");
  return out;
}

std::vector<float> load_audio_mono(const std::string& path, int target_rate) {
  PcmAudio pcm = decode_audio_file(path);
  std::vector<float> out = resample(mix_to_mono(pcm), pcm.sample_rate, target_rate);
  check(!out.empty(), path + ": audio is too short to use");
  return out;
}

std::vector<std::vector<float>> split_into_pieces(const std::vector<float>& mono, int64_t max_samples) {
  check(max_samples > 0, "split_into_pieces: max_samples must be positive", ExitCode::failure);
  std::vector<std::vector<float>> pieces;
  for (size_t start = 0; start < mono.size(); start += static_cast<size_t>(max_samples)) {
    size_t end = std::min(mono.size(), start + static_cast<size_t>(max_samples));
    pieces.emplace_back(mono.begin() + static_cast<std::ptrdiff_t>(start),
                        mono.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return pieces;
}

}  // namespace gemma4
