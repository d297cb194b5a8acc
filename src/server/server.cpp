#include "server/server.h"

#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include "base/error.h"
#include "server/admission.h"
#include "server/api_error.h"
#include "server/connection_watch.h"
#include "server/responses.h"
#include "server/web_page.h"

namespace gemma4::server {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) { send_json(res, e.status(), e.to_json()); }

// Maps what a backend throws to the HTTP error the client sees.
ApiError api_error_from(const std::exception& e) {
  if (const auto* api = dynamic_cast<const ApiError*>(&e)) return *api;
  if (const auto* err = dynamic_cast<const Error*>(&e)) {
    switch (err->code()) {
      case ExitCode::bad_input:
      case ExitCode::unsupported:
      case ExitCode::not_found: return ApiError(400, err->what());
      case ExitCode::out_of_memory: return ApiError(503, err->what(), "", "out_of_memory");
      default: break;
    }
  }
  if (dynamic_cast<const std::bad_alloc*>(&e)) return ApiError(503, "out of memory", "", "out_of_memory");
  return ApiError(500, std::string("internal error: ") + e.what());
}

// Compares without an early exit, so response timing does not reveal how much of a key matched.
bool same_secret(const std::string& a, const std::string& b) {
  if (a.size() != b.size() || b.empty()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// The metrics' route label; the page's paths are a route only where the page is served.
std::string route_name(const std::string& path, bool web_page) {
  static const std::set<std::string> kRoutes = {"/v1/chat/completions", "/v1/models", "/health", "/metrics"};
  if (path.rfind("/v1/models/", 0) == 0) return "/v1/models/{id}";
  if (web_page && find_web_page_file(path)) return "web page";
  return kRoutes.count(path) ? path : "other";
}

}  // namespace

// One admitted generation: what the request thread and the stream provider share.
struct Job {
  ChatRequest request;
  CompletionId id;
  std::shared_ptr<AdmissionSlot> slot;
  CancelFlag cancel{false};
  int socket_fd = -1;
  Clock::time_point admitted = Clock::now();
};

struct Server::Impl {
  Impl(Backend& b, ServerOptions o)
      : backend(b),
        options(std::move(o)),
        admission(options.parallel, options.max_queue, options.queue_timeout) {
    admission.on_change([this](int64_t a, int64_t q) { metrics.set_in_flight(a, q); });
  }

  Backend& backend;
  ServerOptions options;
  Metrics metrics;
  Admission admission;
  ConnectionWatch watch;
  httplib::Server http;
  int port = -1;
  std::atomic<bool> shutting_down{false};
  std::mutex jobs_mu;
  std::set<Job*> running;  // cancelled when the shutdown grace runs out

  void setup();
  bool authorized(const httplib::Request& req) const;
  void handle_chat(const httplib::Request& req, httplib::Response& res);
  std::shared_ptr<Job> admit(ChatRequest request, const httplib::Request& req);
  GenerationResult generate(Job& job, const DeltaSink& sink);
  void respond_whole(Job& job, httplib::Response& res);
  void stream(Job& job, httplib::DataSink& sink);
  void shutdown();
};

void Server::Impl::setup() {
  http.new_task_queue = [n = size_t(options.parallel + options.max_queue + 8)] { return new httplib::ThreadPool(n); };
  http.set_payload_max_length(options.max_body_bytes);

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (authorized(req)) return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("WWW-Authenticate", "Bearer");
    send_error(res, ApiError(401, "missing or wrong API key (send 'Authorization: Bearer KEY')", "", "invalid_api_key"));
    return httplib::Server::HandlerResponse::Handled;
  });

  // Errors httplib raises itself (no route, body too large, unreadable request) get an OpenAI body too.
  http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string message = res.status == 404   ? "no such endpoint: " + req.method + " " + req.path
                          : res.status == 413 ? "request body larger than " + std::to_string(options.max_body_bytes) + " bytes"
                          : res.status == 400 ? std::string("malformed HTTP request")
                                              : "HTTP error " + std::to_string(res.status);
    send_json(res, res.status, error_body(res.status, message));
    return httplib::Server::HandlerResponse::Handled;
  }));

  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      send_error(res, api_error_from(e));
    } catch (...) {
      send_error(res, ApiError(500, "internal error"));
    }
  });

  // Counted just before the response is written (not after, as a logger would), so a client
  // that reads /metrics after a response always sees that response counted.
  http.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    metrics.count_request(route_name(req.path, options.web_page), res.status);
  });

  http.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    try {
      handle_chat(req, res);
    } catch (const std::exception& e) {
      send_error(res, api_error_from(e));
    }
  });

  auto model_json = [this] {
    return json{{"id", backend.model_id()}, {"object", "model"}, {"created", 0}, {"owned_by", "gemma4"}};
  };
  http.Get("/v1/models", [model_json](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"object", "list"}, {"data", json::array({model_json()})}});
  });
  http.Get(R"(/v1/models/(.+))", [this, model_json](const httplib::Request& req, httplib::Response& res) {
    if (req.matches[1] == backend.model_id()) return send_json(res, 200, model_json());
    send_error(res, ApiError(404, "no such model: " + req.matches[1].str() + " (this server serves " +
                                      backend.model_id() + ")", "model", "model_not_found"));
  });

  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (shutting_down) send_json(res, 503, {{"status", "shutting down"}});
    else send_json(res, 200, {{"status", "ok"}});
  });

  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.prometheus_text(), "text/plain; version=0.0.4");
  });

  if (options.web_page) {
    for (const WebPageFile& file : web_page_files()) {
      std::string pattern;  // httplib routes are regular expressions: "." only as itself
      for (char c : file.path) pattern += c == '.' ? std::string("\\.") : std::string(1, c);
      http.Get(pattern, [&file](const httplib::Request&, httplib::Response& res) {
        // Its own scripts and the API only: media the user attaches are data: URLs.
        res.set_header("Content-Security-Policy",
                       "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'");
        res.set_header("X-Content-Type-Options", "nosniff");
        res.set_content(file.body.data(), file.body.size(), std::string(file.content_type).c_str());
      });
    }
  }
}

bool Server::Impl::authorized(const httplib::Request& req) const {
  if (options.api_key.empty() || req.path == "/health") return true;
  if (options.web_page && req.method == "GET" && find_web_page_file(req.path)) return true;
  const std::string prefix = "Bearer ";
  std::string header = req.get_header_value("Authorization");
  if (header.rfind(prefix, 0) != 0) return false;
  return same_secret(header.substr(prefix.size()), options.api_key);
}

std::shared_ptr<Job> Server::Impl::admit(ChatRequest request, const httplib::Request& req) {
  switch (admission.enter()) {
    case Admission::Outcome::admitted: break;
    case Admission::Outcome::queue_full:
      throw ApiError(429, "the server is busy: all " + std::to_string(options.parallel) + " slots and " +
                              std::to_string(options.max_queue) + " queue places are taken; retry later",
                     "", "server_busy");
    case Admission::Outcome::timed_out:
      throw ApiError(503, "timed out waiting for a free slot; retry later", "", "queue_timeout");
    case Admission::Outcome::closed: throw ApiError(503, "the server is shutting down", "", "shutting_down");
  }
  auto job = std::make_shared<Job>();
  job->slot = std::make_shared<AdmissionSlot>(admission);
  job->request = std::move(request);
  job->id = new_completion_id(backend.model_id());
  job->socket_fd = find_tcp_socket(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
  return job;
}

void Server::Impl::handle_chat(const httplib::Request& req, httplib::Response& res) {
  ChatRequest request = parse_chat_request(req.body, options.limits);
  auto job = admit(std::move(request), req);
  if (!job->request.stream) return respond_whole(*job, res);
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // tell proxies not to hold the stream back
  // The provider runs on this thread after the handler returns; `job` (and its slot) lives until
  // the response is destroyed.
  res.set_chunked_content_provider("text/event-stream", [this, job](size_t, httplib::DataSink& sink) {
    stream(*job, sink);
    return true;
  });
}

GenerationResult Server::Impl::generate(Job& job, const DeltaSink& sink) {
  {
    std::lock_guard lock(jobs_mu);
    running.insert(&job);
  }
  if (job.socket_fd >= 0) {
    // A client that gave up while queued costs nothing: the backend sees the flag at once.
    if (peer_hung_up(job.socket_fd)) job.cancel = true;
    watch.watch(job.socket_fd, &job.cancel);
  }
  struct Cleanup {
    Impl* self;
    Job* job;
    ~Cleanup() {
      self->watch.unwatch(&job->cancel);
      std::lock_guard lock(self->jobs_mu);
      self->running.erase(job);
    }
  } cleanup{this, &job};
  double first_delta = -1;
  DeltaSink timed_sink = [&](const Delta& d) {
    if (first_delta < 0) first_delta = seconds_since(job.admitted);
    return sink(d) && !job.cancel.load();
  };
  GenerationResult result = backend.generate(job.request, timed_sink, job.cancel);
  metrics.count_generation(result, seconds_since(job.admitted), first_delta);
  return result;
}

void Server::Impl::respond_whole(Job& job, httplib::Response& res) {
  AccumulatedMessage message;
  GenerationResult result = generate(job, [&](const Delta& d) {
    message.append(d);
    return true;
  });
  if (result.finish == FinishReason::cancelled) {
    // Either the client left (nobody reads this) or the server is stopping.
    if (shutting_down) throw ApiError(503, "the server shut down before the completion finished", "", "shutting_down");
    send_json(res, 499, error_body(499, "client closed the request"));
    return;
  }
  send_json(res, 200, completion_json(job.id, message, result));
}

void Server::Impl::stream(Job& job, httplib::DataSink& sink) {
  const bool usage_field = job.request.include_usage;
  bool connected = true;
  auto write = [&](const std::string& event) {
    if (connected && !sink.write(event.data(), event.size())) {
      connected = false;
      job.cancel = true;
    }
    return connected;
  };
  write(sse_event(chunk_json(job.id, {{"role", "assistant"}, {"content", ""}}, "", usage_field)));
  int next_tool_index = 0;
  try {
    GenerationResult result = generate(job, [&](const Delta& d) {
      return write(sse_event(chunk_json(job.id, delta_json(d, &next_tool_index), "", usage_field)));
    });
    if (result.finish == FinishReason::cancelled) {
      if (shutting_down) write(sse_event(error_body(503, "the server shut down before the completion finished")));
    } else {
      write(sse_event(chunk_json(job.id, json::object(), finish_reason_name(result.finish), usage_field)));
      if (usage_field) write(sse_event(usage_chunk_json(job.id, result.usage)));
    }
  } catch (const std::exception& e) {
    // Headers are sent already: report the error as an event, as OpenAI's clients expect.
    write(sse_event(api_error_from(e).to_json()));
  }
  write(sse_done());
  sink.done();
}

void Server::Impl::shutdown() {
  if (shutting_down.exchange(true)) return;
  admission.close();
  if (!admission.wait_idle(Clock::now() + options.shutdown_grace)) {
    {
      std::lock_guard lock(jobs_mu);
      for (Job* job : running) job->cancel = true;
    }
    admission.wait_idle(Clock::now() + std::chrono::seconds(30));
  }
  http.stop();
}

Server::Server(Backend& backend, ServerOptions options) : impl_(std::make_unique<Impl>(backend, std::move(options))) {
  impl_->setup();
}

Server::~Server() {
  if (impl_->http.is_running()) impl_->shutdown();
}

int Server::bind() {
  const auto& o = impl_->options;
  impl_->port = o.port == 0 ? impl_->http.bind_to_any_port(o.host) : (impl_->http.bind_to_port(o.host, o.port) ? o.port : -1);
  if (impl_->port < 0)
    throw Error("cannot listen on " + o.host + ":" + std::to_string(o.port) + " (in use, or not an address of this machine)");
  return impl_->port;
}

int Server::port() const { return impl_->port; }
const std::string& Server::host() const { return impl_->options.host; }
bool Server::serves_web_page() const { return impl_->options.web_page; }

void Server::run() {
  // A client that hangs up mid-write must cost an error return, not the process.
  ::signal(SIGPIPE, SIG_IGN);
  if (impl_->port < 0) bind();
  if (!impl_->shutting_down) impl_->http.listen_after_bind();
}

void Server::shutdown() { impl_->shutdown(); }

const Metrics& Server::metrics() const { return impl_->metrics; }

namespace {
int g_signal_pipe[2] = {-1, -1};
void on_stop_signal(int) {
  char c = 's';
  [[maybe_unused]] ssize_t n = ::write(g_signal_pipe[1], &c, 1);  // async-signal-safe
}
}  // namespace

int serve_until_signal(Server& server) {
  int port = server.port() < 0 ? server.bind() : server.port();
  if (::pipe(g_signal_pipe) != 0) throw Error("cannot create a pipe for signal handling");
  struct sigaction sa {}, old_term {}, old_int {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGINT, &sa, &old_int);
  std::thread waiter([&server] {
    char c = 0;
    while (::read(g_signal_pipe[0], &c, 1) < 0 && errno == EINTR) {
    }
    if (c == 's') {
      std::fprintf(stderr, "gemma4: stopping (finishing requests in flight)\n");
      server.shutdown();
    }
  });
  std::fprintf(stderr, "gemma4: listening on http://%s:%d\n", server.host().c_str(), port);
  if (server.serves_web_page())
    std::fprintf(stderr, "gemma4: chat page at http://%s:%d/\n", server.host().c_str(), port);
  server.run();
  char quit = 'q';  // wake the waiter if run() ended without a signal
  [[maybe_unused]] ssize_t n = ::write(g_signal_pipe[1], &quit, 1);
  waiter.join();
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGINT, &old_int, nullptr);
  ::close(g_signal_pipe[0]);
  ::close(g_signal_pipe[1]);
  return 0;
}

}  // namespace gemma4::server
