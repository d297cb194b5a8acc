// The real Backend of `gemma4 serve`: a loaded model (runtime::Engine: decoder, tokenizer, chat
// format, media towers) and a batching Scheduler. Each generate() call builds its prompt on the
// calling server thread (chat format, media decoding and encoding), then hands the ids to the
// scheduler, which decodes it together with every other request in flight; the tokens come back
// to this thread, go through the streaming detokenizer and the response parser, and leave as
// deltas (reasoning / content / tool calls).
#pragma once
#include <memory>
#include <string>

#include "runtime/scheduler.h"
#include "server/backend.h"

namespace gemma4 {
class Engine;
}

namespace gemma4::server {

struct ModelBackendOptions {
  std::string model_id;       // served by /v1/models
  SchedulerOptions scheduler; // slots = --parallel, ctx_size = --ctx-size
};

class ModelBackend : public Backend {
 public:
  ModelBackend(std::shared_ptr<const Engine> engine, ModelBackendOptions options);
  ~ModelBackend() override;

  std::string model_id() const override { return options_.model_id; }
  GenerationResult generate(const ChatRequest& request, const DeltaSink& sink, const CancelFlag& cancel) override;

  const Scheduler& scheduler() const { return *scheduler_; }

 private:
  std::shared_ptr<const Engine> engine_;
  ModelBackendOptions options_;
  std::unique_ptr<Scheduler> scheduler_;
};

// Cuts the content stream at the first stop string (OpenAI `stop`): text that might still
// become a match is held back until it cannot.
class StopStringFilter {
 public:
  explicit StopStringFilter(std::vector<std::string> stops) : stops_(std::move(stops)) {}
  // Returns the text that is certainly before any stop string; matched() turns true on a match.
  std::string push(const std::string& text);
  std::string finish();  // end of generation: what was held back
  bool matched() const { return matched_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool matched_ = false;
};

}  // namespace gemma4::server
