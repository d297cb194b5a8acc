// Engine: audio clips -> soft tokens (the audio tower, loaded on first use). Clips longer than
// the encoder takes become several blocks.
#include "base/error.h"
#include "model/audio_input.h"
#include "model/mmproj_loader.h"
#include "runtime/engine.h"

namespace gemma4 {

std::vector<std::vector<float>> Engine::encode_audio(const MediaSource& m) const {
  std::shared_ptr<const AudioInput> tower;
  {
    std::lock_guard lock(towers_mutex_);
    if (!audio_ && is_gguf_) {
      check(mmproj_ != nullptr,
            model_dir_ + " is a text model: to read audio, pass its mmproj file with --mmproj FILE.gguf",
            ExitCode::unsupported);  // like a model without the tower (HTTP 400 in the server)
      check(mmproj_->has_audio(), mmproj_->path + " has no audio encoder: it cannot read audio",
            ExitCode::unsupported);
      audio_ = std::make_shared<const AudioInput>(AudioInput::from_store(
          *mmproj_->store, mmproj_->config, mmproj_->audio_features, {}, options_.encoder_numerics));
    }
    if (!audio_) {
      check(AudioConfig::present(decoder_->model_config().raw),
            model_dir_ + " is a model without audio: it cannot read audio", ExitCode::unsupported);
      audio_ = std::make_shared<const AudioInput>(AudioInput::load(model_dir_, {}, options_.encoder_numerics));
    }
    tower = audio_;
  }
  std::vector<AudioBlock> blocks =
      m.bytes.empty() ? tower->embed_file(m.path) : tower->embed_bytes(m.bytes.data(), m.bytes.size(), "audio");
  const std::string name = m.bytes.empty() ? m.path : "audio";
  check(!blocks.empty(), name + ": the audio is too short to give any token", ExitCode::bad_input);
  std::vector<std::vector<float>> out;
  for (auto& b : blocks) out.push_back(std::move(b.soft_tokens));
  return out;
}

}  // namespace gemma4
