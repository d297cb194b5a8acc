// Gemma 4 chat format: OpenAI-style chat request -> prompt text and ids, byte-exact with the
// official chat_template.jinja (revision 2026-07-09; spec tokenizer_chat.md §3.2-3.3), written
// natively (no Jinja interpreter). Media parts become one placeholder each (<|image|>,
// <|audio|>, <|video|>); expand_media() later widens each into begin + N soft tokens + end.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gemma4 {

class Tokenizer;

// A request in OpenAI's chat shape:
//   {"messages": [{"role": "system"|"developer"|"user"|"assistant"|"tool", "content": string |
//      [{"type":"text","text":…} | {"type":"image"|"image_url", …} | {"type":"audio"|"input_audio", …}],
//      "tool_calls": [{"id", "function": {"name", "arguments": {…}}}], "reasoning_content": …,
//      "tool_call_id": …}],
//    "tools": [{"type":"function","function":{"name","description","parameters":{JSON schema}}}],
//    "enable_thinking": bool (default false), "add_generation_prompt": bool (default true),
//    "preserve_thinking": bool (default false)}
// `arguments` may also be a JSON string holding an object (OpenAI's wire form); it is decoded.
struct ChatRequest {
  nlohmann::json messages = nlohmann::json::array();
  nlohmann::json tools = nlohmann::json::array();
  bool enable_thinking = false;
  bool add_generation_prompt = true;
  bool preserve_thinking = false;

  // Validates and normalizes; throws Error(bad_input) with a message naming the bad field.
  static ChatRequest from_json(const nlohmann::json& request);
  static ChatRequest parse(const std::string& json_text);
};

enum class MediaKind { image, audio, video };
const char* media_kind_name(MediaKind kind);

// One media item, in prompt order. `source` is whatever the request gave: a file path, a URL,
// a data: URL or raw base64 (`format` is input_audio's "format" when given). Empty when the
// part carried no source (e.g. {"type": "image"} in a template test).
struct MediaPart {
  MediaKind kind;
  std::string source;
  std::string format;
};

struct RenderedPrompt {
  std::string text;              // the prompt string, starting with the BOS text
  std::vector<MediaPart> media;  // one per placeholder in `text`, in order
};

// Renders the request exactly as the chat template does. bos_token is the tokenizer's BOS
// text ("<bos>"). Throws Error(bad_input) where the template raises (string tool arguments).
RenderedPrompt render_chat(const ChatRequest& request, const std::string& bos_token = "<bos>");

// Gemma 4's media token ids, looked up by name in the tokenizer (tokenizer_config.json names
// image_token/boi_token/eoi_token/audio_token/boa_token/eoa_token; defaults are Gemma 4's).
struct MediaTokens {
  int32_t image = -1, image_begin = -1, image_end = -1;
  int32_t audio = -1, audio_begin = -1, audio_end = -1;
  int32_t video = -1;
  static MediaTokens from_tokenizer(const Tokenizer& tok);
};

// A run of soft-token positions: ids[begin .. begin+count) are `kind` placeholders whose
// embeddings the encoder output replaces.
struct MediaRun {
  MediaKind kind;
  int64_t begin;
  int64_t count;
};

struct ExpandedPrompt {
  std::vector<int32_t> ids;
  std::vector<MediaRun> runs;  // one per media item, in order
};

// Replaces the i-th placeholder id (image or audio) by begin + soft_token_counts[i] × placeholder
// + end (spec §3.5; no newlines around the block). Throws Error if the number of placeholders
// differs from soft_token_counts.size() (e.g. a user wrote "<|image|>" as text) or on video.
ExpandedPrompt expand_media(const std::vector<int32_t>& ids, const std::vector<int64_t>& soft_token_counts,
                            const MediaTokens& tokens);

// Gemma's relaxed value syntax as the template writes it (format_argument): strings wrapped in
// <|"|>, bare or <|"|>-quoted keys sorted case-insensitively, Python-style numbers.
std::string format_gemma_value(const nlohmann::json& value, bool escape_keys);

}  // namespace gemma4
