// Why a generation ended: one vocabulary for the scheduler (a sequence), the Engine's
// Conversation (`gemma4 run` / `chat`) and the server (OpenAI's `finish_reason`).
#pragma once

namespace gemma4 {

enum class FinishReason {
  stop,        // a stop id (end of turn) or a stop string
  length,      // the token limit (max_tokens, or what fits the context)
  tool_calls,  // the answer is tool calls (decided from the parsed text: the server)
  cancelled,   // the caller stopped it (Ctrl-C, a client that left, shutdown)
};

// The OpenAI spelling: "stop", "length", "tool_calls", "cancelled".
const char* finish_reason_name(FinishReason reason);

}  // namespace gemma4
