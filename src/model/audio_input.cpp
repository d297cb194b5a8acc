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

std::vector<int64_t> audio_prompt_ids(const std::vector<AudioBlock>& blocks, const AudioConfig& config) {
  check(config.boa_token_id >= 0 && config.audio_token_id >= 0 && config.eoa_token_id >= 0,
        "config.json lacks boa_token_id / audio_token_id / eoa_token_id", ExitCode::unsupported);
  std::vector<int64_t> ids;
  for (const AudioBlock& b : blocks) {
    ids.push_back(config.boa_token_id);
    ids.insert(ids.end(), static_cast<size_t>(b.tokens), config.audio_token_id);
    ids.push_back(config.eoa_token_id);
  }
  return ids;
}

std::vector<PlacedSoftToken> place_audio_blocks(const std::vector<int64_t>& ids, int64_t audio_token_id,
                                                const std::vector<AudioBlock>& blocks, int64_t hidden) {
  std::vector<PlacedSoftToken> placed;
  size_t block = 0;
  for (size_t i = 0; i < ids.size();) {
    if (ids[i] != audio_token_id) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < ids.size() && ids[end] == audio_token_id) ++end;
    const int64_t run = static_cast<int64_t>(end - i);
    check(block < blocks.size(), "the ids hold more audio placeholder runs than audio blocks (" +
                                     std::to_string(blocks.size()) + ")");
    check(run == blocks[block].tokens, "audio placeholder run " + std::to_string(block + 1) + " has " +
                                           std::to_string(run) + " tokens but its audio block has " +
                                           std::to_string(blocks[block].tokens));
    for (int64_t t = 0; t < run; ++t)
      placed.push_back({static_cast<int64_t>(i) + t, blocks[block].soft_tokens.data() + t * hidden});
    ++block;
    i = end;
  }
  check(block == blocks.size(), "the ids hold " + std::to_string(block) + " audio placeholder runs but there are " +
                                    std::to_string(blocks.size()) + " audio blocks");
  return placed;
}

AudioInput AudioInput::load(const std::string& model_dir, const LoadOptions& options, EncoderNumerics numerics) {
  const std::filesystem::path dir(model_dir);
  const std::string config_path = (dir / "config.json").string();
  if (!file_exists(config_path)) throw Error("no config.json in " + model_dir, ExitCode::not_found);
  AudioInput in;
  const std::string processor_path = (dir / "processor_config.json").string();
  if (file_exists(processor_path)) in.features_ = AudioFeatureConfig::from_processor_config(read_json(processor_path));
  AudioConfig cfg = AudioConfig::from_json(read_json(config_path));
  cfg.num_mel_bins = in.features_.num_mel_bins;
  in.encoder_ = AudioEncoder::load(TensorStore::open(model_dir), cfg, options, numerics);
  return in;
}

AudioInput AudioInput::from_store(const TensorStore& store, const nlohmann::json& config,
                                  const AudioFeatureConfig& features, const LoadOptions& options,
                                  EncoderNumerics numerics) {
  AudioInput in;
  in.features_ = features;
  AudioConfig cfg = AudioConfig::from_json(config);
  cfg.num_mel_bins = in.features_.num_mel_bins;
  in.encoder_ = AudioEncoder::load(store, cfg, options, numerics);
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

namespace gemma4 {

PlacedAudio place_audio_files(const std::string& model_dir, const std::vector<std::string>& files,
                              const std::vector<int64_t>& ids) {
  if (files.empty()) return {};
  return place_audio_files(AudioInput::load(model_dir), files, ids);
}

PlacedAudio place_audio_files(const AudioInput& input, const std::vector<std::string>& files,
                              const std::vector<int64_t>& ids) {
  PlacedAudio out;
  if (files.empty()) return out;
  for (const std::string& f : files)
    for (AudioBlock& b : input.embed_file(f)) out.blocks.push_back(std::move(b));
  const AudioConfig& cfg = input.encoder().config();
  check(cfg.audio_token_id >= 0, "config.json has no audio_token_id", ExitCode::unsupported);
  out.placed = place_audio_blocks(ids, cfg.audio_token_id, out.blocks, cfg.text_hidden_size);
  return out;
}

}  // namespace gemma4
