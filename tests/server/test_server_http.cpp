// The HTTP layer end to end: an in-process server over the scripted FakeBackend, driven with
// cpp-httplib's client.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <future>
#include <sstream>
#include <thread>

#include "fake_backend.h"
#include "server/server.h"

using namespace gemma4::server;
using json = nlohmann::json;
using gemma4::test::FakeBackend;
using namespace std::chrono_literals;

namespace {

class TestServer {
 public:
  explicit TestServer(ServerOptions options = {}) : server_(backend, with_any_port(std::move(options))) {
    server_.bind();
    thread_ = std::thread([this] { server_.run(); });
  }
  ~TestServer() {
    server_.shutdown();
    thread_.join();
  }

  httplib::Client client(const std::string& key = "") const {
    httplib::Client c("127.0.0.1", server_.port());
    c.set_read_timeout(30, 0);
    if (!key.empty()) c.set_bearer_token_auth(key.c_str());
    return c;
  }
  httplib::Result chat(const json& body, const std::string& key = "") const {
    return client(key).Post("/v1/chat/completions", body.dump(), "application/json");
  }
  Server& server() { return server_; }

  FakeBackend backend;

 private:
  static ServerOptions with_any_port(ServerOptions o) {
    o.port = 0;
    return o;
  }
  Server server_;
  std::thread thread_;
};

json user_request(const std::string& text, json extra = json::object()) {
  json body = {{"model", "whatever"}, {"messages", {{{"role", "user"}, {"content", text}}}}};
  body.update(extra);
  return body;
}

// The JSON payloads of an SSE body, in order; "[DONE]" as the string "[DONE]".
std::vector<json> sse_events(const std::string& body) {
  std::vector<json> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    EXPECT_NE(end, std::string::npos) << "unterminated event: " << body.substr(pos);
    if (end == std::string::npos) break;
    std::string event = body.substr(pos, end - pos);
    pos = end + 2;
    EXPECT_EQ(event.rfind("data: ", 0), 0u) << event;
    std::string data = event.substr(6);
    out.push_back(data == "[DONE]" ? json("[DONE]") : json::parse(data));
  }
  return out;
}

void expect_error(const httplib::Result& r, int status, const std::string& type, const std::string& param = "") {
  ASSERT_TRUE(r) << "no response";
  EXPECT_EQ(r->status, status) << r->body;
  auto body = json::parse(r->body);
  ASSERT_TRUE(body.contains("error")) << r->body;
  EXPECT_EQ(body["error"]["type"], type);
  EXPECT_TRUE(body["error"]["message"].is_string());
  if (!param.empty()) {
    EXPECT_EQ(body["error"]["param"], param);
  }
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 3000ms) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

}  // namespace

TEST(ServerHttp, NonStreamedCompletion) {
  TestServer s;
  auto r = s.chat(user_request("hi there", {{"max_tokens", 10}}));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  auto body = json::parse(r->body);
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["model"], "fake-gemma");
  EXPECT_EQ(body["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  const auto& choice = body["choices"][0];
  EXPECT_EQ(choice["index"], 0);
  EXPECT_EQ(choice["message"], json({{"role", "assistant"}, {"content", "echo: hi there"}}));
  EXPECT_EQ(choice["finish_reason"], "stop");
  EXPECT_EQ(body["usage"]["prompt_tokens"], 2);
  EXPECT_EQ(body["usage"]["completion_tokens"], 3);
  EXPECT_EQ(body["usage"]["total_tokens"], 5);
  EXPECT_EQ(s.backend.last_request().sampling.max_tokens, 10);
}

TEST(ServerHttp, StreamedCompletionHasOpenAIsChunkShapes) {
  TestServer s;
  auto r = s.chat(user_request("a b", {{"stream", true}, {"stream_options", {{"include_usage", true}}},
                                       {"reasoning_effort", "high"}}));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
  auto events = sse_events(r->body);
  ASSERT_GE(events.size(), 5u);
  EXPECT_EQ(events.back(), "[DONE]");
  const json& first = events.front();
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"], json({{"role", "assistant"}, {"content", ""}}));
  EXPECT_TRUE(first["choices"][0]["finish_reason"].is_null());
  std::string reasoning, content, finish;
  for (size_t i = 0; i + 2 < events.size(); ++i) {  // all but the usage chunk and [DONE]
    const json& e = events[i];
    EXPECT_EQ(e["id"], first["id"]);
    EXPECT_TRUE(e.contains("usage") && e["usage"].is_null());  // include_usage: null until the end
    const json& c = e["choices"][0];
    reasoning += c["delta"].value("reasoning_content", "");
    content += c["delta"].value("content", "");
    if (!c["finish_reason"].is_null()) finish = c["finish_reason"];
  }
  EXPECT_EQ(reasoning, "thinking about a b");
  EXPECT_EQ(content, "echo: a b");
  EXPECT_EQ(finish, "stop");
  const json& usage_chunk = events[events.size() - 2];
  EXPECT_EQ(usage_chunk["choices"], json::array());
  EXPECT_EQ(usage_chunk["usage"]["completion_tokens"], 7);
}

TEST(ServerHttp, ToolCallsComeBackWithJsonArguments) {
  TestServer s;
  json tools = {{{"type", "function"}, {"function", {{"name", "lookup"}, {"parameters", {{"type", "object"}}}}}}};
  auto r = s.chat(user_request("CALL_TOOL now", {{"tools", tools}}));
  ASSERT_TRUE(r);
  auto body = json::parse(r->body);
  EXPECT_EQ(body["choices"][0]["finish_reason"], "tool_calls");
  const json& msg = body["choices"][0]["message"];
  EXPECT_TRUE(msg["content"].is_null());
  ASSERT_EQ(msg["tool_calls"].size(), 1u);
  EXPECT_EQ(msg["tool_calls"][0]["function"]["name"], "lookup");
  EXPECT_EQ(json::parse(msg["tool_calls"][0]["function"]["arguments"].get<std::string>()), json({{"text", "CALL_TOOL now"}}));

  auto st = s.chat(user_request("CALL_TOOL now", {{"tools", tools}, {"stream", true}}));
  auto events = sse_events(st->body);
  ASSERT_GE(events.size(), 4u);
  const json& call = events[1]["choices"][0]["delta"]["tool_calls"][0];
  EXPECT_EQ(call["index"], 0);
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["id"].get<std::string>().rfind("call_", 0), 0u);
  EXPECT_EQ(events[events.size() - 2]["choices"][0]["finish_reason"], "tool_calls");
}

TEST(ServerHttp, BadRequestsGetOpenAIErrorObjects) {
  ServerOptions o;
  o.max_body_bytes = 4096;
  TestServer s(o);
  auto c = s.client();
  expect_error(c.Post("/v1/chat/completions", "{oops", "application/json"), 400, "invalid_request_error");
  expect_error(s.chat({{"messages", {{{"role", "wizard"}, {"content", "x"}}}}}), 400, "invalid_request_error",
               "messages[0].role");
  expect_error(s.chat(user_request("x", {{"top_k", "many"}})), 400, "invalid_request_error", "top_k");
  expect_error(c.Post("/v1/chat/completions", std::string(5000, ' '), "application/json"), 413, "invalid_request_error");
  expect_error(c.Get("/v1/nothing"), 404, "not_found_error");
  expect_error(s.chat(user_request("FAIL_BAD_INPUT")), 400, "invalid_request_error");
  expect_error(s.chat(user_request("FAIL_INTERNAL")), 500, "server_error");
  EXPECT_EQ(s.backend.calls(), 2);  // invalid requests never reach the backend
}

TEST(ServerHttp, ErrorDuringStreamIsAnErrorEvent) {
  TestServer s;
  auto r = s.chat(user_request("FAIL_BAD_INPUT", {{"stream", true}}));
  ASSERT_TRUE(r);
  auto events = sse_events(r->body);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1]["error"]["type"], "invalid_request_error");
  EXPECT_EQ(events[2], "[DONE]");
}

TEST(ServerHttp, BearerKey) {
  ServerOptions o;
  o.api_key = "sekrit";
  TestServer s(o);
  expect_error(s.chat(user_request("x")), 401, "authentication_error");
  expect_error(s.chat(user_request("x"), "sekrix"), 401, "authentication_error");
  expect_error(s.client().Get("/metrics"), 401, "authentication_error");
  auto ok = s.chat(user_request("x"), "sekrit");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  auto health = s.client().Get("/health");  // probes need no key
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST(ServerHttp, ModelsHealthAndMetrics) {
  TestServer s;
  auto models = s.client().Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(json::parse(models->body)["data"][0]["id"], "fake-gemma");
  auto one = s.client().Get("/v1/models/fake-gemma");
  ASSERT_TRUE(one);
  EXPECT_EQ(json::parse(one->body)["id"], "fake-gemma");
  expect_error(s.client().Get("/v1/models/gpt-5"), 404, "not_found_error", "model");
  EXPECT_EQ(json::parse(s.client().Get("/health")->body)["status"], "ok");
  ASSERT_EQ(s.chat(user_request("one two"))->status, 200);
  ASSERT_EQ(s.chat(user_request("x", {{"temperature", -1}}))->status, 400);
  auto metrics = s.client().Get("/metrics");
  ASSERT_TRUE(metrics);
  const std::string& text = metrics->body;
  EXPECT_NE(text.find("gemma4_http_requests_total{route=\"/v1/chat/completions\",status=\"200\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("gemma4_http_requests_total{route=\"/v1/chat/completions\",status=\"400\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("gemma4_completion_tokens_total 3\n"), std::string::npos);
  EXPECT_NE(text.find("gemma4_prompt_tokens_total 2\n"), std::string::npos);
  EXPECT_NE(text.find("gemma4_request_duration_seconds_count 1\n"), std::string::npos);
  EXPECT_NE(text.find("gemma4_generations_total{finish_reason=\"stop\"} 1\n"), std::string::npos);
}

// The chat page's requests are counted as its route; with the page off, "/" is an unknown path.
TEST(ServerHttp, MetricsNameThePageRouteOnlyWhereThePageIsServed) {
  for (bool web_page : {true, false}) {
    ServerOptions o;
    o.web_page = web_page;
    TestServer s(o);
    auto page = s.client().Get("/");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, web_page ? 200 : 404);
    const std::string text = s.client().Get("/metrics")->body;
    const std::string line = web_page ? "gemma4_http_requests_total{route=\"web page\",status=\"200\"} 1\n"
                                      : "gemma4_http_requests_total{route=\"other\",status=\"404\"} 1\n";
    EXPECT_NE(text.find(line), std::string::npos) << text;
  }
}

TEST(ServerHttp, StreamingClientThatHangsUpCancelsItsGeneration) {
  TestServer s;
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/chat/completions";
  req.body = user_request("SLOW 500", {{"stream", true}}).dump();  // 10 s if not cancelled
  req.set_header("Content-Type", "application/json");
  int received = 0;
  req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++received < 3; };
  auto t0 = std::chrono::steady_clock::now();
  s.client().send(req);  // returns once the receiver says stop; the client closes the socket
  EXPECT_TRUE(eventually([&] { return s.backend.cancelled() == 1 && s.backend.running() == 0; }));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST(ServerHttp, WaitingClientThatHangsUpCancelsItsGeneration) {
  TestServer s;
  auto c = s.client();
  c.set_read_timeout(0, 300000);  // gives up after 0.3 s, closing the connection
  auto t0 = std::chrono::steady_clock::now();
  auto r = c.Post("/v1/chat/completions", user_request("SLOW 500").dump(), "application/json");
  EXPECT_FALSE(r);
  EXPECT_TRUE(eventually([&] { return s.backend.cancelled() == 1 && s.backend.running() == 0; }));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST(ServerHttp, ParallelRequestsRunTogether) {
  ServerOptions o;
  o.parallel = 4;
  TestServer s(o);
  std::vector<std::future<int>> results;
  for (int i = 0; i < 4; ++i)
    results.push_back(std::async(std::launch::async, [&] { return s.chat(user_request("SLOW 50"))->status; }));  // 1 s each
  for (auto& f : results) EXPECT_EQ(f.get(), 200);
  EXPECT_EQ(s.backend.max_running(), 4);
}

TEST(ServerHttp, OverloadIsRefusedWith429AndQueueTimeoutWith503) {
  ServerOptions o;
  o.parallel = 1;
  o.max_queue = 1;
  o.queue_timeout = 300ms;
  TestServer s(o);
  auto running = std::async(std::launch::async, [&] { return s.chat(user_request("SLOW 50"))->status; });  // 1 s
  ASSERT_TRUE(eventually([&] { return s.backend.running() == 1; }));
  auto queued = std::async(std::launch::async, [&] { return s.chat(user_request("x"))->status; });
  ASSERT_TRUE(eventually([&] {
    auto m = s.client().Get("/metrics");
    return m && m->body.find("gemma4_requests_queued 1\n") != std::string::npos;
  }));
  auto refused = s.chat(user_request("x"));
  expect_error(refused, 429, "rate_limit_error");
  EXPECT_EQ(queued.get(), 503);  // waited 0.3 s for a slot held for 1 s
  EXPECT_EQ(running.get(), 200);
  EXPECT_EQ(s.chat(user_request("x"))->status, 200);  // and the server still serves
}

TEST(ServerHttp, ShutdownLetsTheStreamInFlightFinish) {
  auto s = std::make_unique<TestServer>();
  auto stream = std::async(std::launch::async, [&] { return s->chat(user_request("SLOW 20", {{"stream", true}})); });
  ASSERT_TRUE(eventually([&] { return s->backend.running() == 1; }));
  auto* raw = s.get();
  auto stopper = std::async(std::launch::async, [raw] { raw->server().shutdown(); });
  std::this_thread::sleep_for(50ms);
  auto late = s->chat(user_request("x"));  // refused while stopping (or no longer accepted)
  EXPECT_TRUE(!late || late->status == 503);
  auto r = stream.get();
  ASSERT_TRUE(r);
  auto events = sse_events(r->body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[events.size() - 2]["choices"][0]["finish_reason"], "stop");
  stopper.get();
  EXPECT_EQ(s->backend.cancelled(), 0);
}

TEST(ServerHttp, ShutdownCancelsWhatOutlastsTheGrace) {
  ServerOptions o;
  o.shutdown_grace = 100ms;
  TestServer s(o);
  auto stream = std::async(std::launch::async, [&] { return s.chat(user_request("SLOW 500", {{"stream", true}})); });
  ASSERT_TRUE(eventually([&] { return s.backend.running() == 1; }));
  auto t0 = std::chrono::steady_clock::now();
  s.server().shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  auto r = stream.get();
  ASSERT_TRUE(r);
  auto events = sse_events(r->body);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[events.size() - 2]["error"]["type"], "unavailable_error");
  EXPECT_EQ(s.backend.cancelled(), 1);
}

TEST(ServerHttp, LoadTwoHundredRequestsFromEightClients) {
  ServerOptions o;
  o.parallel = 4;
  o.max_queue = 8;
  TestServer s(o);
  std::atomic<int> next{0}, failures{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t)
    clients.emplace_back([&] {
      auto c = s.client();  // one keep-alive connection per client
      for (int i; (i = next++) < 200;) {
        auto body = user_request("load " + std::to_string(i), {{"stream", i % 2 == 1}, {"max_tokens", 8}});
        auto r = c.Post("/v1/chat/completions", body.dump(), "application/json");
        bool ok = r && r->status == 200;
        if (ok && i % 2 == 1) {
          auto events = sse_events(r->body);
          ok = events.size() >= 3 && events.back() == "[DONE]" &&
               events[events.size() - 2]["choices"][0]["finish_reason"] == "stop";
        } else if (ok) {
          ok = json::parse(r->body)["choices"][0]["message"]["content"] == "echo: load " + std::to_string(i);
        }
        if (!ok) ++failures;
      }
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(s.backend.calls(), 200);
}

TEST(ServerHttp, ClientThatLeftWhileQueuedIsCancelledBeforeItsTurn) {
  ServerOptions o;
  o.parallel = 1;
  o.max_queue = 2;
  TestServer s(o);
  auto running = std::async(std::launch::async, [&] { return s.chat(user_request("SLOW 25"))->status; });  // 0.5 s
  ASSERT_TRUE(eventually([&] { return s.backend.running() == 1; }));
  auto c = s.client();
  c.set_read_timeout(0, 100000);  // gives up while still queued
  EXPECT_FALSE(c.Post("/v1/chat/completions", user_request("quick").dump(), "application/json"));
  EXPECT_EQ(running.get(), 200);
  // The queued request got its slot after its client had gone: cancelled before producing anything.
  EXPECT_TRUE(eventually([&] { return s.backend.calls() == 2 && s.backend.running() == 0; }));
  EXPECT_EQ(s.backend.cancelled(), 1);
}
