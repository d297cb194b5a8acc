#include "model/audio_input.h"

#include <filesystem>

#include "base/error.h"
#include "base/mapped_file.h"
#include "media/audio.h"

namespace gemma4 {

namespace {

nlohmann::json read_json(const std::string& path) {
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": invalid JSON (" + e.what() + ")", ExitCode::bad_input);
  }
}

}  // namespace

AudioInput AudioInput::load(const std::string& model_dir) {
  const std::filesystem::path dir(model_dir);
  const std::string config_path = (dir / "config.json").string();
  if (!file_exists(config_path)) throw Error("no config.json in " + model_dir, ExitCode::not_found);
  AudioInput in;
  const std::string processor_path = (dir / "processor_config.json").string();
  if (file_exists(processor_path)) in.features_ = AudioFeatureConfig::from_processor_config(read_json(processor_path));
  AudioConfig cfg = AudioConfig::from_json(read_json(config_path));
  cfg.num_mel_bins = in.features_.num_mel_bins;
  in.encoder_ = AudioEncoder::load(TensorStore::open(model_dir), cfg);
  return in;
}

std::vector<AudioBlock> AudioInput::embed_pcm(const std::vector<float>& mono_16k, int64_t max_piece_samples) const {
  std::vector<AudioBlock> blocks;
  const int64_t max_piece = max_piece_samples > 0 ? max_piece_samples : features_.max_samples;
  for (const std::vector<float>& piece : split_into_pieces(mono_16k, max_piece)) {
    const LogMel mel = log_mel_features(features_, piece);
    // A last piece shorter than one feature frame carries no sound worth a block.
    if (mel.frames == 0 && !blocks.empty()) break;
    check(mel.frames > 0, "audio is too short: " + std::to_string(piece.size()) + " samples at " +
                              std::to_string(features_.sample_rate) + " Hz give no feature frame");
    AudioBlock b;
    b.soft_tokens = encoder_.encode(mel);
    b.tokens = static_cast<int64_t>(b.soft_tokens.size()) / encoder_.config().text_hidden_size;
    blocks.push_back(std::move(b));
  }
  check(!blocks.empty(), "audio has no samples");
  return blocks;
}

std::vector<AudioBlock> AudioInput::embed_file(const std::string& path) const {
  return embed_pcm(load_audio_mono(path, features_.sample_rate));
}

std::vector<AudioBlock> AudioInput::embed_bytes(const void* data, size_t size, const std::string& source) const {
  return embed_pcm(load_audio_mono_bytes(data, size, features_.sample_rate, source));
}

}  // namespace gemma4
