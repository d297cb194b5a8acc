// The interface the HTTP server drives: one parsed, validated chat request in; a stream of
// deltas and one result out. The server owns HTTP, JSON shapes, limits, auth, admission and
// metrics; a Backend owns prompt building, media decoding, the model and sampling.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/finish_reason.h"

namespace gemma4::server {

// One image or audio clip from the request, raw file bytes (PNG/JPEG/WebP..., WAV/MP3/FLAC/OGG),
// still encoded: decoding (and its pixel / duration limits) is the backend's media code.
struct MediaItem {
  enum class Kind { image, audio };
  Kind kind = Kind::image;
  std::string format;  // audio: "wav" | "mp3" | "flac" | "ogg"; image: MIME type from the data URL
  std::string bytes;
};

struct SamplingParams {
  float temperature = 1.0f;
  float top_p = 1.0f;
  int top_k = 0;  // 0: no top-k cut
  std::optional<uint64_t> seed;
  int64_t max_tokens = 0;          // completion tokens allowed (already capped by the server)
  std::vector<std::string> stop;  // stop strings; the matched text is not returned
};

// The OpenAI chat request after validation. `messages` keeps OpenAI's shape (role, content as a
// string or a list of parts, tool_calls, tool_call_id, reasoning_content) because the chat-format
// code consumes that shape, with one change: every media part's payload is replaced by
// {"type": "image_url" | "input_audio", "media_index": k}, k indexing `media` (message order).
struct ChatRequest {
  std::string model;
  nlohmann::json messages = nlohmann::json::array();
  nlohmann::json tools = nlohmann::json::array();  // [{"type":"function","function":{name,...}}]
  // "auto" | "none" | "required" | a function name that must be called.
  std::string tool_choice = "auto";
  bool enable_thinking = false;
  SamplingParams sampling;
  std::vector<MediaItem> media;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
};

struct ToolCall {
  std::string id;  // may be left empty: the server then assigns "call_<random>"
  std::string name;
  nlohmann::json arguments = nlohmann::json::object();  // a JSON object
};

// What the backend produced since the previous delta. Text is UTF-8, never split inside a
// character; tool calls are delivered whole, once each.
struct Delta {
  std::string reasoning;  // thinking text -> `reasoning_content`
  std::string content;
  std::vector<ToolCall> tool_calls;
  bool empty() const { return reasoning.empty() && content.empty() && tool_calls.empty(); }
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_prompt_tokens = 0;  // prompt tokens reused from an earlier request's KV cache
};

struct Timings {
  double prefill_ms = 0;
  double decode_ms = 0;
};

struct GenerationResult {
  FinishReason finish = FinishReason::stop;
  Usage usage;
  Timings timings;
};

// Set by the server when the client goes away or the server shuts down; the backend checks
// it between steps and returns soon after with FinishReason::cancelled.
using CancelFlag = std::atomic<bool>;

// Called for every non-empty delta, on the generating thread. Returns false when the delta could
// not be delivered (client gone); the backend should then stop as if cancelled.
using DeltaSink = std::function<bool(const Delta&)>;

class Backend {
 public:
  virtual ~Backend() = default;

  // The id served by GET /v1/models and echoed in responses.
  virtual std::string model_id() const = 0;

  // Runs one request to completion. Called concurrently from up to `--parallel` server threads;
  // an implementation batches the decode steps of the requests in flight. Throws gemma4::Error:
  // ExitCode::bad_input / unsupported for a request it refuses (undecodable media, too many prompt
  // tokens, ...: HTTP 400), out_of_memory (HTTP 503), anything else (HTTP 500).
  virtual GenerationResult generate(const ChatRequest& request, const DeltaSink& sink,
                                    const CancelFlag& cancel) = 0;
};

}  // namespace gemma4::server
