// The OpenAI-compatible HTTP server (cpp-httplib):
//   POST /v1/chat/completions   (stream: SSE chunks ending in "data: [DONE]"; or one JSON object)
//   GET  /v1/models   GET /health   GET /metrics (Prometheus text)
// It validates requests, enforces limits and the optional bearer key, admits at most `parallel`
// generations at once (queueing a few more, refusing the rest with 429 / 503), cancels the
// generation of a client that hangs up, and shuts down gracefully.
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "server/backend.h"
#include "server/chat_request.h"
#include "server/metrics.h"

namespace gemma4::server {

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback unless asked otherwise
  int port = 8080;                 // 0: any free port (see Server::port())
  int parallel = 1;                // generations running at once
  int max_queue = 16;              // more requests waiting for a slot; beyond: 429
  std::chrono::milliseconds queue_timeout{120000};  // waited longer: 503
  std::string api_key;             // non-empty: every route but /health needs "Authorization: Bearer KEY"
  size_t max_body_bytes = 64u << 20;
  RequestLimits limits;
  std::chrono::milliseconds shutdown_grace{10000};  // in-flight work may finish before it is cancelled
  bool web_page = true;  // the chat page at / (its files need no API key: they hold no secret)
};

class Server {
 public:
  Server(Backend& backend, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket; throws gemma4::Error if it cannot. Returns the port.
  int bind();
  int port() const;
  const std::string& host() const;
  bool serves_web_page() const;
  // Serves on the bound socket until shutdown(); returns when the last connection is done.
  void run();
  // Graceful stop, callable from any thread: refuse new generations (503), let running ones
  // finish for up to `shutdown_grace`, cancel the rest, then stop listening.
  void shutdown();

  const Metrics& metrics() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// bind(), print "gemma4: listening on http://HOST:PORT" to stderr, run() until SIGTERM or
// SIGINT, shut down gracefully. Returns the process exit code (0).
int serve_until_signal(Server& server);

}  // namespace gemma4::server
