// Engine: images -> soft tokens (the vision tower, loaded on first use).
#include "base/error.h"
#include "media/image.h"
#include "model/mmproj_loader.h"
#include "model/vision.h"
#include "runtime/engine.h"

namespace gemma4 {

std::vector<std::vector<float>> Engine::encode_image(const MediaSource& m) const {
  std::shared_ptr<const VisionModel> tower;
  std::shared_ptr<const ImageProcessorConfig> processor;
  {
    std::lock_guard lock(towers_mutex_);
    if (!vision_ && is_gguf_) {
      check(mmproj_ != nullptr,
            model_dir_ + " is a text model: to read images, pass its mmproj file with --mmproj FILE.gguf",
            ExitCode::unsupported);  // like a model without the tower (HTTP 400 in the server)
      check(mmproj_->has_vision(), mmproj_->path + " has no vision encoder: it cannot read images",
            ExitCode::unsupported);
      vision_ = std::make_shared<const VisionModel>(
          VisionModel::load(mmproj_->store, mmproj_->config, options_.encoder_numerics));
      image_processor_ = std::make_shared<const ImageProcessorConfig>(mmproj_->image_processor);
    }
    if (!vision_) {
      check(VisionConfig::present(decoder_->model_config().raw),
            model_dir_ + " is a text-only model: it cannot read images", ExitCode::unsupported);
      vision_ = std::make_shared<const VisionModel>(VisionModel::load_folder(model_dir_, options_.encoder_numerics));
      image_processor_ = std::make_shared<const ImageProcessorConfig>(ImageProcessorConfig::load(model_dir_));
    }
    tower = vision_;
    processor = image_processor_;
  }
  if (m.image_tokens != 0)
    check(is_supported_soft_token_budget(m.image_tokens),
          "--image-tokens " + std::to_string(m.image_tokens) +
              " is not a budget the model supports (70, 140, 280, 560 or 1120)",
          ExitCode::usage);
  const RgbImage image =
      m.bytes.empty() ? load_image(m.path)
                      : decode_image(reinterpret_cast<const uint8_t*>(m.bytes.data()), m.bytes.size(), "image");
  return {tower->embed(preprocess_image(image, *processor, m.image_tokens))};
}

}  // namespace gemma4
