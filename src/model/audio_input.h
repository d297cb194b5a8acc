// From an audio file to the soft tokens the text model consumes: decode, mono, resample,
// split into pieces of at most the reference's 30 s, log-mel, encoder + embedder per piece.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "media/audio_features.h"
#include "model/audio_encoder.h"

namespace gemma4 {

// One audio block of the prompt: <|audio> + tokens × audio token + <audio|>.
struct AudioBlock {
  int64_t tokens = 0;
  std::vector<float> soft_tokens;  // [tokens, text hidden]
};

// The prompt ids of audio blocks: per block <|audio> + tokens × audio token + <audio|>.
std::vector<int64_t> audio_prompt_ids(const std::vector<AudioBlock>& blocks, const AudioConfig& config);

// Where each soft token goes: the i-th run of consecutive `audio_token_id`s in `ids` takes
// the i-th block, so runs and blocks must agree in number and length (else Error, bad_input).
struct PlacedSoftToken {
  int64_t index = 0;         // position in `ids`
  const float* row = nullptr;  // hidden floats inside one of `blocks`
};
std::vector<PlacedSoftToken> place_audio_blocks(const std::vector<int64_t>& ids, int64_t audio_token_id,
                                                const std::vector<AudioBlock>& blocks, int64_t hidden);

// Soft tokens of audio files placed into the audio placeholder runs of `ids`, in order
// (files in order, each file's 30 s pieces in order). Empty when `files` is empty.
struct PlacedAudio {
  std::vector<AudioBlock> blocks;       // owns the rows `placed` points at
  std::vector<PlacedSoftToken> placed;
};
PlacedAudio place_audio_files(const std::string& model_dir, const std::vector<std::string>& files,
                              const std::vector<int64_t>& ids);
class AudioInput;
// The same with an audio tower already loaded.
PlacedAudio place_audio_files(const AudioInput& input, const std::vector<std::string>& files,
                              const std::vector<int64_t>& ids);

class AudioInput {
 public:
  // Reads config.json, processor_config.json (feature extractor; Gemma 4 defaults when the
  // folder has none) and the audio weights of a model folder.
  static AudioInput load(const std::string& model_dir, const LoadOptions& options = {},
                         EncoderNumerics numerics = EncoderNumerics::exact);

  // The same from a config.json, feature options and tensors given directly (an mmproj GGUF:
  // model/mmproj_loader.h). The store is copied (its copies share the mapped bytes).
  static AudioInput from_store(const TensorStore& store, const nlohmann::json& config,
                               const AudioFeatureConfig& features, const LoadOptions& options = {},
                               EncoderNumerics numerics = EncoderNumerics::exact);

  const AudioFeatureConfig& features() const { return features_; }
  const AudioEncoder& encoder() const { return encoder_; }

  // One block per piece of at most `max_piece_samples` (0: features().max_samples), in order.
  std::vector<AudioBlock> embed_pcm(const std::vector<float>& mono_16k, int64_t max_piece_samples = 0) const;
  std::vector<AudioBlock> embed_file(const std::string& path) const;
  std::vector<AudioBlock> embed_bytes(const void* data, size_t size, const std::string& source) const;

 private:
  AudioFeatureConfig features_;
  AudioEncoder encoder_;
};

}  // namespace gemma4
