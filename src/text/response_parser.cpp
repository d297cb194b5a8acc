#include "text/response_parser.h"

#include <algorithm>

namespace gemma4 {

namespace {

constexpr std::string_view kChannelOpen = "<|channel>", kChannelClose = "<channel|>";
constexpr std::string_view kCallOpen = "<|tool_call>", kCallClose = "<tool_call|>";
constexpr std::string_view kToolResponse = "<|tool_response>", kTurnEnd = "<turn|>", kEos = "<eos>";
constexpr std::string_view kMarkers[] = {kChannelOpen, kChannelClose, kCallOpen, kCallClose, kToolResponse, kTurnEnd, kEos};
constexpr std::string_view kThoughtHeader = "thought\n";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Length of the longest suffix of s that is a proper prefix of some marker (held back).
size_t partial_marker_suffix(const std::string& s) {
  size_t best = 0;
  size_t lt = s.rfind('<');
  if (lt == std::string::npos) return 0;
  for (std::string_view m : kMarkers) {
    size_t n = s.size() - lt;
    if (n < m.size() && m.compare(0, n, std::string_view(s).substr(lt)) == 0) best = std::max(best, n);
  }
  return best;
}

}  // namespace

ResponseParser::ResponseParser(bool start_in_thinking)
    : state_(start_in_thinking ? State::thinking : State::content) {
  if (start_in_thinking) result_.thinking = "";
}

std::vector<ResponseEvent> ResponseParser::push(std::string_view text) {
  buf_.append(text);
  process(false);
  return std::move(events_);
}

std::vector<ResponseEvent> ResponseParser::finish() {
  process(true);
  switch (state_) {
    case State::channel_header:
      if (kThoughtHeader.substr(0, header_.size()) != header_) emit_thinking(header_);
      header_.clear();
      end_thinking();
      break;
    case State::thinking: end_thinking(); break;
    case State::tool_call: finish_tool_call(false); break;
    default: break;
  }
  state_ = State::done;
  return std::move(events_);
}

void ResponseParser::process(bool final) {
  while (!buf_.empty() && state_ != State::done) {
    size_t best = std::string::npos;
    std::string_view found;
    for (std::string_view m : kMarkers) {
      size_t at = buf_.find(m);
      if (at < best) best = at, found = m;
    }
    if (best == std::string::npos) {
      size_t keep = final ? 0 : partial_marker_suffix(buf_);
      std::string text = buf_.substr(0, buf_.size() - keep);
      buf_.erase(0, buf_.size() - keep);
      plain_text(text);
      return;
    }
    std::string text = buf_.substr(0, best);
    std::string m(found);
    buf_.erase(0, best + found.size());
    plain_text(text);
    marker(m);
  }
  if (state_ == State::done) buf_.clear();
}

void ResponseParser::emit_content(std::string_view text) {
  if (skip_leading_space_) {
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    if (text.empty()) return;
    skip_leading_space_ = false;
  }
  if (text.empty()) return;
  if (!result_.content) result_.content = "";
  result_.content->append(text);
  events_.push_back({ResponseEvent::Type::content, std::string(text), {}});
}

void ResponseParser::emit_thinking(std::string_view text) {
  if (text.empty()) return;
  // Trailing whitespace is held back: it is dropped if the thought ends right after it.
  size_t end = text.size();
  while (end > 0 && is_space(text[end - 1])) --end;
  if (end == 0) {
    thinking_ws_.append(text);
    return;
  }
  std::string delta = thinking_ws_ + std::string(text.substr(0, end));
  thinking_ws_ = std::string(text.substr(end));
  if (!result_.thinking) result_.thinking = "";
  result_.thinking->append(delta);
  events_.push_back({ResponseEvent::Type::thinking, delta, {}});
}

void ResponseParser::plain_text(std::string_view text) {
  if (text.empty()) return;
  switch (state_) {
    case State::content: emit_content(text); break;
    case State::channel_header: {
      header_.append(text);
      if (header_.size() >= kThoughtHeader.size() && header_.compare(0, kThoughtHeader.size(), kThoughtHeader) == 0) {
        std::string rest = header_.substr(kThoughtHeader.size());
        header_.clear();
        state_ = State::thinking;
        emit_thinking(rest);
      } else if (kThoughtHeader.substr(0, header_.size()) != header_) {
        std::string rest = std::move(header_);  // no "thought\n" name: all of it is thought
        header_.clear();
        state_ = State::thinking;
        emit_thinking(rest);
      }
      break;
    }
    case State::thinking: emit_thinking(text); break;
    case State::tool_call: call_.append(text); break;
    case State::after_tool_call: {
      size_t i = 0;
      while (i < text.size() && is_space(text[i])) ++i;
      if (i < text.size()) {
        state_ = State::content;
        emit_content(text.substr(i));
      }
      break;
    }
    case State::done: break;
  }
}

void ResponseParser::end_thinking() {
  thinking_ws_.clear();
  if (!result_.thinking) result_.thinking = "";
  skip_leading_space_ = true;
  state_ = State::content;
}

void ResponseParser::finish_tool_call(bool closed) {
  ParsedToolCall parsed = parse_tool_call(call_);
  ToolCall call{parsed.name, std::move(parsed.arguments), parsed.complete && closed, call_};
  call_.clear();
  result_.tool_calls.push_back(call);
  events_.push_back({ResponseEvent::Type::tool_call, "", std::move(call)});
}

void ResponseParser::marker(std::string_view m) {
  const bool ends_turn = m == kTurnEnd || m == kEos || m == kToolResponse;
  switch (state_) {
    case State::content:
    case State::after_tool_call:
      if (m == kChannelOpen) {
        state_ = State::channel_header;
        if (!result_.thinking) result_.thinking = "";
      } else if (m == kCallOpen) {
        state_ = State::tool_call;
      } else if (ends_turn) {
        state_ = State::done;
      }  // stray <channel|> / <tool_call|>: dropped
      break;
    case State::channel_header:
    case State::thinking:
      if (state_ == State::channel_header && kThoughtHeader.substr(0, header_.size()) != header_) emit_thinking(header_);
      header_.clear();
      if (m == kChannelOpen || m == kCallClose) {
        state_ = State::thinking;  // ignored inside a thought
        break;
      }
      end_thinking();
      if (m == kCallOpen) state_ = State::tool_call;
      if (ends_turn) state_ = State::done;
      break;
    case State::tool_call:
      if (m == kCallClose) {
        finish_tool_call(true);
        state_ = State::after_tool_call;
      } else if (m == kCallOpen) {  // a new call before the old one closed
        finish_tool_call(false);
        state_ = State::tool_call;
      } else if (ends_turn) {
        finish_tool_call(false);
        state_ = State::done;
      }  // channel markers cannot be part of arguments: dropped
      break;
    case State::done: break;
  }
}

nlohmann::json ParsedResponse::to_json() const {
  nlohmann::json calls = nlohmann::json::array();
  for (const ToolCall& c : tool_calls)
    calls.push_back({{"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
  return {{"thinking", thinking ? nlohmann::json(*thinking) : nlohmann::json()},
          {"content", content ? nlohmann::json(*content) : nlohmann::json()},
          {"tool_calls", calls}};
}

ParsedResponse parse_response(std::string_view text, bool start_in_thinking) {
  ResponseParser p(start_in_thinking);
  p.push(text);
  p.finish();
  return p.result();
}

std::vector<ResponseEvent> TokenResponseParser::finish() {
  std::vector<ResponseEvent> events = parser_.push(detok_.finish());
  std::vector<ResponseEvent> tail = parser_.finish();
  events.insert(events.end(), std::make_move_iterator(tail.begin()), std::make_move_iterator(tail.end()));
  return events;
}

}  // namespace gemma4
