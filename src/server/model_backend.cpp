#include "server/model_backend.h"

#include <random>

#include "base/error.h"
#include "base/heap.h"
#include "runtime/engine.h"
#include "text/response_parser.h"

namespace gemma4::server {
namespace {

// The chat-format request: the server already validated the OpenAI shape; the chat format
// checks what it needs on top (and throws bad_input -> HTTP 400).
gemma4::ChatRequest chat_request_of(const ChatRequest& r) {
  nlohmann::json j = {{"messages", r.messages}, {"enable_thinking", r.enable_thinking}};
  j["tools"] = r.tool_choice == "none" ? nlohmann::json::array() : r.tools;
  return gemma4::ChatRequest::from_json(j);
}

std::vector<MediaSource> media_sources_of(const ChatRequest& r) {
  std::vector<MediaSource> out;
  for (const MediaItem& m : r.media) {
    MediaSource s;
    s.kind = m.kind == MediaItem::Kind::image ? MediaKind::image : MediaKind::audio;
    s.bytes = m.bytes;
    out.push_back(std::move(s));
  }
  return out;
}

SamplingOptions sampling_of(const SamplingParams& p) {
  SamplingOptions s;
  s.greedy = p.temperature <= 0;
  s.temperature = p.temperature;
  s.top_k = p.top_k;
  s.top_p = p.top_p;
  s.seed = p.seed ? *p.seed : std::random_device{}();
  return s;
}

// tool_choice "required" / a function name: the answer starts as a tool call, so the prompt
// ends with the opening of one (the model then writes the name and / or the arguments).
std::string forced_tool_call_prefix(const ChatRequest& r) {
  if (r.tools.empty() || r.tool_choice == "auto" || r.tool_choice == "none") return "";
  if (r.tool_choice == "required") return "<|tool_call>call:";
  return "<|tool_call>call:" + r.tool_choice + "{";
}

void add_event(const ResponseEvent& e, StopStringFilter& stop, Delta& delta) {
  switch (e.type) {
    case ResponseEvent::Type::thinking: delta.reasoning += e.text; break;
    case ResponseEvent::Type::content: delta.content += stop.push(e.text); break;
    case ResponseEvent::Type::tool_call:
      delta.tool_calls.push_back(ToolCall{"", e.call.name, e.call.arguments});
      break;
  }
}

}  // namespace

std::string StopStringFilter::push(const std::string& text) {
  if (matched_) return "";
  held_ += text;
  size_t first = std::string::npos;
  for (const std::string& s : stops_) {
    if (s.empty()) continue;
    first = std::min(first, held_.find(s));
  }
  if (first != std::string::npos) {
    matched_ = true;
    std::string out = held_.substr(0, first);
    held_.clear();
    return out;
  }
  // Hold back the longest tail that is the start of some stop string.
  size_t keep = 0;
  for (const std::string& s : stops_)
    for (size_t n = std::min(s.size() - (s.empty() ? 0 : 1), held_.size()); n > keep; --n)
      if (held_.compare(held_.size() - n, n, s, 0, n) == 0) {
        keep = n;
        break;
      }
  std::string out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopStringFilter::finish() {
  if (matched_) return "";
  std::string out;
  out.swap(held_);
  return out;
}

ModelBackend::ModelBackend(std::shared_ptr<const Engine> engine, ModelBackendOptions options)
    : engine_(std::move(engine)), options_(std::move(options)) {
  scheduler_ = std::make_unique<Scheduler>(engine_->decoder(), options_.scheduler);
}

ModelBackend::~ModelBackend() = default;

GenerationResult ModelBackend::generate(const ChatRequest& request, const DeltaSink& sink, const CancelFlag& cancel) {
  // A request with media decodes and encodes it on this thread: megabytes of pixels, features
  // and tower activations, freed before the answer ends. glibc keeps such freed blocks resident
  // in the arena for reuse (see base/heap.h); they are handed back once the request's memory is
  // freed (on every exit path: declared first, destroyed last).
  struct ReleaseHeapAtExit {
    bool enabled;
    ~ReleaseHeapAtExit() {
      if (enabled) release_free_heap();
    }
  } release_heap_at_exit{!request.media.empty()};

  // Prompt: chat format, media decoded and encoded (bad media -> Error(bad_input) -> HTTP 400).
  Prompt prompt = engine_->build_prompt(chat_request_of(request), media_sources_of(request));
  const Tokenizer& tok = engine_->tokenizer();
  const std::string forced = forced_tool_call_prefix(request);
  const std::vector<int32_t> forced_ids = forced.empty() ? std::vector<int32_t>{} : tok.encode(forced);
  for (int32_t id : forced_ids) {
    prompt.ids.push_back(id);
    prompt.keys.push_back(static_cast<uint64_t>(id));
  }

  SequenceRequest seq;
  seq.ids = std::move(prompt.ids);
  seq.keys = std::move(prompt.keys);
  seq.soft_tokens = prompt.soft_tokens;  // rows owned by prompt.media, alive until we return
  seq.max_tokens = request.sampling.max_tokens;
  seq.sampling = sampling_of(request.sampling);
  for (int32_t id : engine_->generation_config().stop_ids) seq.stop_ids.push_back(id);

  TokenResponseParser parser(tok, prompt.starts_in_thinking && forced.empty());
  StopStringFilter stop(request.sampling.stop);
  bool delivered = true;
  bool saw_tool_call = false;
  auto deliver = [&](const std::vector<ResponseEvent>& events) {
    Delta delta;
    for (const ResponseEvent& e : events) add_event(e, stop, delta);
    saw_tool_call = saw_tool_call || !delta.tool_calls.empty();
    if (!delta.empty() && delivered) delivered = sink(delta);
  };
  // The forced opening is part of the answer: the parser must see it (no delta comes of it:
  // a tool call is delivered whole, once closed).
  for (int32_t id : forced_ids) deliver(parser.push(id));

  const int32_t tokenizer_vocab = tok.vocab_size();
  const SequenceResult r = scheduler_->run(seq, [&](std::span<const int64_t> tokens) {
    std::vector<ResponseEvent> events;
    for (int64_t t : tokens) {
      if (t >= tokenizer_vocab) continue;  // padding rows of the embedding: no text
      for (auto& e : parser.push(static_cast<int32_t>(t))) events.push_back(std::move(e));
    }
    deliver(events);
    // A matched stop string or a client that is gone ends the sequence.
    return delivered && !stop.matched();
  }, &cancel);

  if (delivered && !stop.matched()) {
    deliver(parser.finish());
    Delta tail;
    tail.content = stop.finish();
    if (!tail.empty() && delivered) delivered = sink(tail);
  }

  GenerationResult out;
  out.usage.prompt_tokens = r.prompt_tokens;
  out.usage.completion_tokens = r.generated_tokens;
  out.usage.cached_prompt_tokens = r.cached_tokens;
  out.timings.prefill_ms = r.prefill_ms + prompt.media_seconds * 1000.0;
  out.timings.decode_ms = r.decode_ms;
  if (!delivered || cancel.load()) out.finish = FinishReason::cancelled;
  else if (stop.matched()) out.finish = FinishReason::stop;
  else if (saw_tool_call) out.finish = FinishReason::tool_calls;
  else out.finish = r.finish;  // the scheduler's: stop, length or cancelled
  return out;
}

}  // namespace gemma4::server
