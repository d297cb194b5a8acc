// gemma4 serve: the OpenAI-compatible HTTP server (see docs/server.md).
#include <algorithm>
#include <cstdio>

#include "base/error.h"
#include "base/heap.h"
#include "base/mapped_file.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/model_option.h"
#include "cli/reply_cli.h"
#include "runtime/engine.h"
#include "server/model_backend.h"
#include "server/server.h"

namespace {

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

int run_serve(int argc, char** argv) {
  CLI::App app{"Serve a model over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/models, /health, /metrics)."};
  std::string model;
  gemma4::server::ServerOptions opt;
  int64_t ctx_size = 0;
  int64_t prefill_chunk = 256;
  std::string model_id;
  gemma4::cli::GenerationFlags load_flags;  // the loader options `run` and `chat` share
  int64_t queue_timeout_s = 120;
  gemma4::cli::add_model_option(app, model)->required();
  gemma4::cli::add_mmproj_option(app, load_flags.mmproj);
  app.add_option("--alias", model_id, "model id served by /v1/models (default: the -m value)");
  app.add_option("--host", opt.host, "address to listen on (loopback by default)")->capture_default_str();
  app.add_option("--port", opt.port, "port to listen on")->capture_default_str()->check(CLI::Range(0, 65535));
  app.add_option("--parallel", opt.parallel, "requests generated at once (decode steps are batched)")
      ->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--queue", opt.max_queue, "requests that may wait for a slot; more get HTTP 429")
      ->capture_default_str()->check(CLI::Range(0, 4096));
  app.add_option("--queue-timeout", queue_timeout_s, "seconds a request may wait for a slot before HTTP 503")
      ->capture_default_str()->check(CLI::Range(1, 86400));
  app.add_option("--ctx-size", ctx_size, "context length per sequence in tokens (0: the model's)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--prefill-chunk", prefill_chunk,
                 "prompt tokens computed per step while others decode (smaller: steadier streaming)")
      ->capture_default_str()->check(CLI::Range(1, 1 << 20));
  gemma4::cli::add_speed_options(app, load_flags.speed, "q4");
  gemma4::cli::add_media_int8_flag(app, load_flags.media_int8);
  app.add_option("--api-key", opt.api_key, "require 'Authorization: Bearer KEY' on every route but /health");
  app.add_option("--max-tokens", opt.limits.max_tokens_cap, "largest max_tokens a request may ask for")
      ->capture_default_str()->check(CLI::PositiveNumber);
  size_t max_body_mb = opt.max_body_bytes >> 20, max_media_mb = opt.limits.max_media_bytes >> 20;
  app.add_option("--max-body-mb", max_body_mb, "largest request body, MiB")->capture_default_str()->check(CLI::Range(1, 4096));
  app.add_option("--max-media-mb", max_media_mb, "largest image or audio file in a request, MiB")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  bool no_web_page = false;
  app.add_flag("--no-webui", no_web_page, "serve the API only, not the chat page at /");
  app.add_flag("--allow-local-files", opt.limits.allow_local_files,
               "let image_url name a file on this machine (file:///path); off by default");
  GEMMA4_PARSE(app, argc, argv);
  opt.queue_timeout = std::chrono::seconds(queue_timeout_s);
  opt.web_page = !no_web_page;
  opt.max_body_bytes = max_body_mb << 20;
  opt.limits.max_media_bytes = max_media_mb << 20;
  opt.limits.default_max_tokens = std::min(opt.limits.default_max_tokens, opt.limits.max_tokens_cap);

  if (!is_loopback(opt.host) && opt.api_key.empty())
    std::fprintf(stderr, "gemma4 serve: warning: listening on %s without --api-key: anyone who can reach it may use it\n",
                 opt.host.c_str());
  // Requests allocate megabytes for their media on many threads: two malloc arenas, so glibc
  // holds two high-water marks rather than one per thread (base/heap.h; the model backend also
  // releases the free memory after each request with media).
  gemma4::limit_heap_arenas(2);
  load_flags.model = model;
  const auto engine = gemma4::cli::load_engine(load_flags, false);

  gemma4::server::ModelBackendOptions backend_options;
  backend_options.model_id = !model_id.empty() ? model_id : model;
  gemma4::SchedulerOptions& sched = backend_options.scheduler;
  sched.slots = opt.parallel;
  sched.prefill_chunk = prefill_chunk;
  const int64_t model_limit = engine->context_limit();
  sched.ctx_size = ctx_size > 0 ? ctx_size : model_limit > 0 ? model_limit : 8192;
  gemma4::check(model_limit <= 0 || sched.ctx_size <= model_limit,
                "--ctx-size " + std::to_string(ctx_size) + " exceeds the model's context window of " +
                    std::to_string(model_limit) + " tokens",
                gemma4::ExitCode::usage);
  // The KV caches grow with use; say what the worst case takes so an overcommit is no surprise.
  const double kv_gb = engine->kv_cache_bytes(sched.ctx_size) * double(sched.slots) / 1e9;
  const uint64_t available = gemma4::available_memory_bytes();
  if (available > 0 && kv_gb * 1e9 > double(available))
    std::fprintf(stderr,
                 "gemma4 serve: warning: %d full contexts of %lld tokens need %.1f GB of KV cache but %.1f GB are "
                 "free; lower --ctx-size or --parallel\n",
                 sched.slots, static_cast<long long>(sched.ctx_size), kv_gb, available / 1e9);
  gemma4::server::ModelBackend backend(engine, backend_options);
  gemma4::server::Server server(backend, opt);
  std::fprintf(stderr, "gemma4 serve: %s loaded in %.1f s; %d slots of %lld tokens\n",
               backend_options.model_id.c_str(), engine->load_seconds(), sched.slots,
               static_cast<long long>(sched.ctx_size));
  return gemma4::server::serve_until_signal(server);
}

}  // namespace

GEMMA4_COMMAND("serve", "OpenAI-compatible HTTP server", run_serve);
