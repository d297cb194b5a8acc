// The JSON shapes of OpenAI's chat completion responses: the whole completion (stream: false)
// and the chunks of a stream (object "chat.completion.chunk").
#pragma once
#include <cstdint>
#include <string>

#include "server/backend.h"

namespace gemma4::server {

// Identifies one completion: every chunk of a stream repeats these.
struct CompletionId {
  std::string id;  // "chatcmpl-..."
  int64_t created = 0;  // unix seconds
  std::string model;
};

CompletionId new_completion_id(const std::string& model);
std::string new_tool_call_id();

nlohmann::json usage_json(const Usage& usage);

// The message accumulated from all deltas of a non-streamed completion.
struct AccumulatedMessage {
  std::string reasoning;
  std::string content;
  std::vector<ToolCall> tool_calls;
  void append(const Delta& delta);
};

nlohmann::json tool_call_json(const ToolCall& call);  // {"id","type":"function","function":{name,arguments(string)}}

nlohmann::json completion_json(const CompletionId& id, const AccumulatedMessage& message,
                               const GenerationResult& result);

// One stream chunk with a single choice. `finish` empty: finish_reason null. `with_usage_null`:
// add "usage": null, as OpenAI does on every chunk when stream_options.include_usage is set.
nlohmann::json chunk_json(const CompletionId& id, nlohmann::json delta, const std::string& finish,
                          bool with_usage_null);
// The usage chunk that ends a stream with include_usage: "choices": [] and the usage.
nlohmann::json usage_chunk_json(const CompletionId& id, const Usage& usage);
// A delta's fields in stream shape; tool calls numbered from *next_tool_index on.
nlohmann::json delta_json(const Delta& delta, int* next_tool_index);

std::string sse_event(const nlohmann::json& payload);  // "data: {...}\n\n"
inline const char* sse_done() { return "data: [DONE]\n\n"; }

}  // namespace gemma4::server
