#include "server/responses.h"

#include <chrono>
#include <random>

namespace gemma4::server {
namespace {

using json = nlohmann::json;

std::string random_token(size_t length) {
  static const char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<size_t> pick(0, sizeof(kChars) - 2);
  std::string s(length, ' ');
  for (auto& c : s) c = kChars[pick(rng)];
  return s;
}

}  // namespace

CompletionId new_completion_id(const std::string& model) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return {"chatcmpl-" + random_token(24), std::chrono::duration_cast<std::chrono::seconds>(now).count(), model};
}

std::string new_tool_call_id() { return "call_" + random_token(24); }

json usage_json(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", u.cached_prompt_tokens}}}};
}

void AccumulatedMessage::append(const Delta& d) {
  reasoning += d.reasoning;
  content += d.content;
  tool_calls.insert(tool_calls.end(), d.tool_calls.begin(), d.tool_calls.end());
}

json tool_call_json(const ToolCall& call) {
  // OpenAI sends arguments as a JSON-encoded string.
  return {{"id", call.id.empty() ? new_tool_call_id() : call.id},
          {"type", "function"},
          {"function", {{"name", call.name}, {"arguments", call.arguments.dump()}}}};
}

json completion_json(const CompletionId& id, const AccumulatedMessage& m, const GenerationResult& result) {
  json message = {{"role", "assistant"}, {"content", nullptr}};
  if (!m.content.empty() || m.tool_calls.empty()) message["content"] = m.content;
  if (!m.reasoning.empty()) message["reasoning_content"] = m.reasoning;
  if (!m.tool_calls.empty()) {
    message["tool_calls"] = json::array();
    for (const auto& c : m.tool_calls) message["tool_calls"].push_back(tool_call_json(c));
  }
  json choice = {{"index", 0}, {"message", std::move(message)}, {"logprobs", nullptr},
                 {"finish_reason", finish_reason_name(result.finish)}};
  return {{"id", id.id},
          {"object", "chat.completion"},
          {"created", id.created},
          {"model", id.model},
          {"choices", json::array({std::move(choice)})},
          {"usage", usage_json(result.usage)},
          {"timings", {{"prefill_ms", result.timings.prefill_ms}, {"decode_ms", result.timings.decode_ms}}}};
}

json delta_json(const Delta& d, int* next_tool_index) {
  json out = json::object();
  if (!d.reasoning.empty()) out["reasoning_content"] = d.reasoning;
  if (!d.content.empty()) out["content"] = d.content;
  if (!d.tool_calls.empty()) {
    out["tool_calls"] = json::array();
    for (const auto& c : d.tool_calls) {
      json call = tool_call_json(c);
      call["index"] = (*next_tool_index)++;
      out["tool_calls"].push_back(std::move(call));
    }
  }
  return out;
}

json chunk_json(const CompletionId& id, json delta, const std::string& finish, bool with_usage_null) {
  json choice = {{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr},
                 {"finish_reason", finish.empty() ? json(nullptr) : json(finish)}};
  json chunk = {{"id", id.id},
                {"object", "chat.completion.chunk"},
                {"created", id.created},
                {"model", id.model},
                {"choices", json::array({std::move(choice)})}};
  if (with_usage_null) chunk["usage"] = nullptr;
  return chunk;
}

json usage_chunk_json(const CompletionId& id, const Usage& usage) {
  return {{"id", id.id},           {"object", "chat.completion.chunk"}, {"created", id.created},
          {"model", id.model},     {"choices", json::array()},          {"usage", usage_json(usage)}};
}

std::string sse_event(const json& payload) {
  // dump() escapes control characters, so the payload never contains a raw newline.
  return "data: " + payload.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

}  // namespace gemma4::server
