// gemma4_fake_server: the real HTTP server (src/server) over the scripted FakeBackend, for the
// integration tests that drive it with the official `openai` npm client. Test-only: the gemma4
// binary never contains a fake backend.
//   gemma4_fake_server [--port N] [--parallel N] [--queue N] [--api-key KEY] [--web-page 0|1]
#include <cstdio>
#include <cstring>
#include <string>

#include "base/error.h"
#include "fake_backend.h"
#include "server/server.h"

int main(int argc, char** argv) {
  gemma4::server::ServerOptions options;
  options.port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--port") options.port = std::stoi(value);
    else if (flag == "--parallel") options.parallel = std::stoi(value);
    else if (flag == "--queue") options.max_queue = std::stoi(value);
    else if (flag == "--api-key") options.api_key = value;
    else if (flag == "--web-page") options.web_page = value == "1";
    else {
      std::fprintf(stderr, "gemma4_fake_server: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  try {
    gemma4::test::FakeBackend backend;
    gemma4::server::Server server(backend, options);
    return gemma4::server::serve_until_signal(server);
  } catch (const gemma4::Error& e) {
    std::fprintf(stderr, "gemma4_fake_server: %s\n", e.what());
    return 1;
  }
}
