// The glue between a chat request and the model, shared by `gemma4 run`, `gemma4 chat` and
// the server:
//
//   Engine        loads a model folder once: text decoder, tokenizer, generation defaults;
//                 the vision / audio towers on first use. Turns a chat request into a Prompt
//                 (rendered with the chat format, media encoded into soft tokens).
//   Conversation  one sequence's KV cache. reply() feeds a Prompt, re-using the cached
//                 tokens it shares with the previous one (multi-turn chat), then streams the
//                 answer through the detokenizer and response parser.
//
// One Engine may serve several Conversations at once (its methods are const and thread-safe).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "model/clipped_linear.h"
#include "model/text_decoder.h"
#include "runtime/finish_reason.h"
#include "runtime/sampler.h"
#include "runtime/session.h"
#include "text/chat_format.h"
#include "text/generation_config.h"
#include "text/response_parser.h"
#include "text/tokenizer.h"

namespace gemma4 {

class VisionModel;
class AudioInput;
struct ImageProcessorConfig;
struct MmprojModel;

struct EngineOptions {
  LoadOptions load;  // weight conversion etc., passed through to the text decoder's loader
  // The vision and audio towers: bf16 products with float32 sums (fast), or the float32
  // reference (exact).
  EncoderNumerics encoder_numerics = EncoderNumerics::fast;
  // A llama.cpp mmproj GGUF holding the vision / audio towers of a .gguf model (a model
  // folder has its own towers; giving one with a folder is a usage error).
  std::string mmproj;
};

// One media item of a request. `bytes` when non-empty (an upload), else the file at `path`.
struct MediaSource {
  MediaKind kind = MediaKind::image;
  std::string path;
  std::string bytes;
  int image_tokens = 0;  // image soft-token budget; 0: processor_config.json's default
};

// A media item encoded into soft tokens. Long audio becomes several blocks, each with its own
// <|audio> ... <audio|> run in the prompt; an image is one block.
struct EncodedMedia {
  MediaKind kind = MediaKind::image;
  std::vector<std::vector<float>> blocks;  // [tokens, hidden] each
  uint64_t fingerprint = 0;                // of the soft tokens: same media, same fingerprint
  double seconds = 0;                      // decode + preprocess + encode time
};

// A prompt ready to prefill: token ids with the soft tokens that replace the media placeholders.
struct Prompt {
  std::vector<int64_t> ids;
  // Per position: what the cache holds there (the id for text; the media fingerprint mixed
  // with the offset for soft tokens), so two prompts share a prefix only when both agree.
  std::vector<uint64_t> keys;
  std::vector<SoftToken> soft_tokens;  // index = absolute position in ids
  std::vector<std::shared_ptr<const EncodedMedia>> media;  // owns the soft-token rows
  bool starts_in_thinking = false;  // the prompt ends inside the thought channel
  double media_seconds = 0;         // time spent encoding media that was not cached
  std::string text;                 // the rendered prompt (before media expansion)
};

// Encoded media kept between turns (chat re-sends its images every turn), keyed by source.
class MediaCache {
 public:
  std::shared_ptr<const EncodedMedia> find(const std::string& key) const;
  void put(const std::string& key, std::shared_ptr<const EncodedMedia> media);
  void clear() { items_.clear(); }

 private:
  std::map<std::string, std::shared_ptr<const EncodedMedia>> items_;
};

class Engine {
 public:
  // Loads DIR (a Hugging Face model folder). Throws Error: not_found (no config.json / weights /
  // tokenizer), unsupported (not a Gemma 4 checkpoint), bad_input (damaged files).
  static std::shared_ptr<Engine> load(const std::string& model_dir, const EngineOptions& options = {});
  // `model_dir` may also be a llama.cpp gemma4 .gguf file; its towers come from
  // options.mmproj (opened and checked against the text model here, loaded on first use).
  static std::shared_ptr<Engine> load_gguf(const std::string& path, const EngineOptions& options = {});
  ~Engine();

  const std::string& model_dir() const { return model_dir_; }
  const Tokenizer& tokenizer() const { return tokenizer_; }
  const GenerationConfig& generation_config() const { return generation_; }
  std::shared_ptr<const TextDecoder> decoder() const { return decoder_; }
  double load_seconds() const { return load_seconds_; }
  // The longest sequence the model takes (text_config.max_position_embeddings; 0 = unknown).
  int64_t context_limit() const { return context_limit_; }
  // generation_config.json's sampling defaults (greedy when do_sample is false).
  SamplingOptions default_sampling() const;

  // Renders `request` and encodes its media. `media` gives each placeholder's data in order;
  // when empty, each part's own source (a file path) is read. `cache` (optional) re-uses
  // media encoded earlier. Throws Error for bad media (bad_input / unsupported / not_found).
  Prompt build_prompt(const ChatRequest& request, std::vector<MediaSource> media = {},
                      MediaCache* cache = nullptr) const;

  // One media item -> soft tokens (loads the needed tower on first use).
  std::shared_ptr<const EncodedMedia> encode(const MediaSource& media) const;

  // Bytes of KV cache a sequence of `tokens` tokens needs (what grows with the context).
  uint64_t kv_cache_bytes(int64_t tokens) const;

 private:
  Engine() = default;
  // Soft-token blocks of one image / audio clip, loading the tower on first use. In files of
  // their own (engine_vision.cpp, engine_audio.cpp): the two towers' headers do not mix.
  std::vector<std::vector<float>> encode_image(const MediaSource& m) const;
  std::vector<std::vector<float>> encode_audio(const MediaSource& m) const;

  std::string model_dir_;
  EngineOptions options_;
  std::shared_ptr<TextDecoder> decoder_;
  Tokenizer tokenizer_;
  GenerationConfig generation_;
  MediaTokens media_tokens_;
  int64_t context_limit_ = 0;
  double load_seconds_ = 0;
  // Towers, loaded lazily under the mutex (shared_ptr: deleted without their headers here).
  mutable std::mutex towers_mutex_;
  mutable std::shared_ptr<const VisionModel> vision_;
  mutable std::shared_ptr<const ImageProcessorConfig> image_processor_;
  mutable std::shared_ptr<const AudioInput> audio_;
  bool is_gguf_ = false;
  std::shared_ptr<const MmprojModel> mmproj_;  // the towers of a GGUF model (--mmproj)
};

struct ReplyOptions {
  int64_t max_tokens = 256;
  SamplingOptions sampling;
  // Streamed pieces of the answer (thinking / content / tool calls) as they become certain.
  std::function<void(const ResponseEvent&)> on_event;
  // Polled between tokens; true stops the answer (Ctrl-C, a client that left).
  std::function<bool()> cancelled;
};

struct ReplyStats {
  int64_t prompt_tokens = 0;     // the whole prompt
  int64_t reused_tokens = 0;     // prompt tokens already in the cache (not computed again)
  int64_t prefilled_tokens = 0;  // prompt tokens computed = prompt - reused
  int64_t generated_tokens = 0;
  double media_seconds = 0;        // encoding images / audio
  double prefill_seconds = 0;      // computing prefilled_tokens
  double first_token_seconds = 0;  // reply start (media included) to the first generated token
  double decode_seconds = 0;       // after the first token
  double total_seconds = 0;
  nlohmann::json to_json() const;
};

struct Reply {
  ParsedResponse response;
  std::vector<int64_t> ids;  // generated ids (a final stop id included)
  FinishReason finish = FinishReason::stop;
  ReplyStats stats;
};

class Conversation {
 public:
  explicit Conversation(std::shared_ptr<const Engine> engine);

  // Feeds `prompt` (re-using the longest prefix it shares with what the cache holds) and
  // generates the answer. Throws Error(out_of_memory) when the context asked does not fit,
  // Error(bad_input) when it exceeds the model's context window.
  Reply reply(const Prompt& prompt, const ReplyOptions& options);
  void reset();                                     // forget everything cached
  int64_t cached_tokens() const { return session_.length(); }

 private:
  int64_t reuse_prefix(const Prompt& prompt);  // rewinds the cache; returns the tokens kept
  void check_fits(int64_t prompt_tokens, int64_t max_tokens) const;

  std::shared_ptr<const Engine> engine_;
  Session session_;
  std::vector<uint64_t> cached_keys_;  // one per position in the cache
};

// Memory the process may still take: MemAvailable from /proc/meminfo, or GEMMA4_MAX_MEMORY
// (bytes, for limiting or testing) when set. 0 when unknown.
uint64_t available_memory_bytes();

}  // namespace gemma4
