// A scripted, deterministic Backend for testing the HTTP layer (never part of the gemma4 binary).
//
// It answers from the last user message's text:
//   "...CALL_TOOL..."  with tools given (or tool_choice required/named): one call to the first (or
//                      named) tool with {"text": <message>}, finish_reason "tool_calls"
//   "SLOW <n>"        n words "w0 w1 ..." 20 ms apart, honouring cancellation (for disconnect,
//                      overload and shutdown tests)
//   "FAIL_BAD_INPUT"  throws gemma4::Error(bad_input)   "FAIL_INTERNAL" throws std::runtime_error
//   anything else      "echo: <text>" one word per delta; with thinking on, first a reasoning
//                      "thinking about <text>" one word per delta
// Media items are summarized at the start of the reply ("[image 1234 bytes] [audio wav 99 bytes] ").
// Each delta counts as one completion token; max_tokens cuts (finish "length"); stop strings cut
// the content before the first match (finish "stop"). Prompt tokens: words in all messages.
#pragma once
#include <atomic>
#include <chrono>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "base/error.h"
#include "server/backend.h"

namespace gemma4::test {

class FakeBackend : public server::Backend {
 public:
  std::string model_id() const override { return "fake-gemma"; }

  server::GenerationResult generate(const server::ChatRequest& req, const server::DeltaSink& sink,
                                    const server::CancelFlag& cancel) override {
    int now = ++running_;
    int seen = max_running_.load();
    while (now > seen && !max_running_.compare_exchange_weak(seen, now)) {
    }
    struct Leave {
      std::atomic<int>& n;
      ~Leave() { --n; }
    } leave{running_};
    {
      std::lock_guard lock(mu_);
      last_request_ = req;
    }
    ++calls_;
    server::GenerationResult result = run(req, sink, cancel);
    if (result.finish == FinishReason::cancelled) ++cancelled_;
    return result;
  }

  server::ChatRequest last_request() const {
    std::lock_guard lock(mu_);
    return last_request_;
  }
  int max_running() const { return max_running_; }
  int running() const { return running_; }
  int calls() const { return calls_; }
  int cancelled() const { return cancelled_; }

 private:
  static std::string text_of(const nlohmann::json& content) {
    if (content.is_string()) return content.get<std::string>();
    std::string text;
    if (content.is_array())
      for (const auto& part : content)
        if (part.value("type", "") == "text") text += part.value("text", "");
    return text;
  }

  static std::vector<std::string> words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
  }

  static server::GenerationResult run(const server::ChatRequest& req, const server::DeltaSink& sink,
                                      const server::CancelFlag& cancel) {
    server::GenerationResult result;
    std::string last_user;
    for (const auto& m : req.messages) {
      if (m.contains("content")) result.usage.prompt_tokens += words(text_of(m["content"])).size();
      if (m["role"] == "user") last_user = text_of(m.value("content", nlohmann::json("")));
    }
    if (last_user.find("FAIL_BAD_INPUT") != std::string::npos) throw Error("the fake refuses this", ExitCode::bad_input);
    if (last_user.find("FAIL_INTERNAL") != std::string::npos) throw std::runtime_error("the fake broke");

    int64_t& produced = result.usage.completion_tokens;
    auto emit = [&](server::Delta d) {
      if (cancel.load()) return false;
      if (produced >= req.sampling.max_tokens) {
        result.finish = FinishReason::length;
        return false;
      }
      ++produced;
      if (!sink(d)) {
        result.finish = FinishReason::cancelled;
        return false;
      }
      return true;
    };
    auto finish = [&](FinishReason natural) {
      if (cancel.load()) result.finish = FinishReason::cancelled;
      else if (result.finish == FinishReason::stop) result.finish = natural;
      return result;
    };

    bool wants_tool = !req.tools.empty() && req.tool_choice != "none" &&
                      (last_user.find("CALL_TOOL") != std::string::npos || req.tool_choice != "auto");
    if (wants_tool) {
      std::string name = req.tool_choice == "auto" || req.tool_choice == "required"
                             ? req.tools[0]["function"]["name"].get<std::string>()
                             : req.tool_choice;
      server::Delta d;
      d.tool_calls.push_back({"", name, {{"text", last_user}}});
      emit(d);
      return finish(FinishReason::tool_calls);
    }

    if (last_user.rfind("SLOW ", 0) == 0) {
      int n = std::stoi(last_user.substr(5));
      for (int i = 0; i < n; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        server::Delta d;
        d.content = (i ? " w" : "w") + std::to_string(i);
        if (!emit(d)) break;
      }
      return finish(FinishReason::stop);
    }

    if (req.enable_thinking) {
      auto ws = words("thinking about " + last_user);
      for (size_t i = 0; i < ws.size(); ++i) {
        server::Delta d;
        d.reasoning = (i ? " " : "") + ws[i];
        if (!emit(d)) return finish(FinishReason::stop);
      }
    }

    std::string reply;
    for (const auto& m : req.media)
      reply += m.kind == server::MediaItem::Kind::image
                   ? "[image " + std::to_string(m.bytes.size()) + " bytes] "
                   : "[audio " + m.format + " " + std::to_string(m.bytes.size()) + " bytes] ";
    reply += "echo: " + last_user;
    for (const auto& stop : req.sampling.stop) {
      auto at = reply.find(stop);
      if (at != std::string::npos) reply.resize(at);
    }
    auto ws = words(reply);
    for (size_t i = 0; i < ws.size(); ++i) {
      server::Delta d;
      d.content = (i ? " " : "") + ws[i];
      if (!emit(d)) break;
    }
    return finish(FinishReason::stop);
  }

  mutable std::mutex mu_;
  server::ChatRequest last_request_;
  std::atomic<int> running_{0}, max_running_{0}, calls_{0}, cancelled_{0};
};

}  // namespace gemma4::test
