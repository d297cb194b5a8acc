#include "runtime/finish_reason.h"

namespace gemma4 {

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::stop: return "stop";
    case FinishReason::length: return "length";
    case FinishReason::tool_calls: return "tool_calls";
    case FinishReason::cancelled: return "cancelled";
  }
  return "stop";
}

}  // namespace gemma4
