// gemma4 generate: prefill token ids, generate, print the generated ids as a JSON array.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/ids.h"
#include "cli/speed_options.h"
#include "runtime/session.h"

namespace {

using namespace gemma4;

// "RssAnon: ... kB, RssFile: ... kB" from /proc/self/status: memory the process allocated vs
// pages of mapped files (the weights) it touched.
std::string resident_memory() {
  std::ifstream f("/proc/self/status");
  std::string line, out;
  while (std::getline(f, line))
    if (line.rfind("RssAnon:", 0) == 0 || line.rfind("RssFile:", 0) == 0 || line.rfind("VmHWM:", 0) == 0)
      out += (out.empty() ? "" : ", ") + line;
  return out;
}

int run_generate(int argc, char** argv) {
  CLI::App app{"Generate tokens from a prompt of token ids; prints the generated ids as a JSON array."};
  std::string model, ids_text;
  GenerateOptions options;
  bool greedy = false;
  app.add_option("--model", model, "model folder or .gguf file")->required();
  app.add_option("--ids", ids_text, "comma-separated prompt token ids, e.g. 2,17,33")->required();
  app.add_option("--max-tokens", options.max_tokens, "most tokens to generate")->check(CLI::NonNegativeNumber);
  app.add_flag("--greedy", greedy, "argmax decoding (the default unless --temperature is given)");
  auto* temperature = app.add_option("--temperature", options.sampling.temperature, "sampling temperature");
  app.add_option("--top-k", options.sampling.top_k, "sample among the k most likely tokens (0 = all)");
  app.add_option("--top-p", options.sampling.top_p, "nucleus sampling mass");
  app.add_option("--seed", options.sampling.seed, "random seed for sampling");
  app.add_flag("--ignore-eos", options.ignore_eos, "do not stop at the model's stop ids");
  cli::SpeedOptions speed;
  cli::add_speed_options(app, speed, "bf16");
  bool timing = false;
  app.add_flag("--timing", timing, "print load / prefill / decode times to stderr");
  GEMMA4_PARSE(app, argc, argv);

  options.sampling.greedy = greedy || temperature->count() == 0;
  const std::vector<int64_t> ids = cli::parse_ids(ids_text);
  using clock = std::chrono::steady_clock;
  auto seconds_since = [](clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); };
  const auto t_load = clock::now();
  Session session(TextDecoder::load(model, speed.apply()));
  const double load_s = seconds_since(t_load);
  // Time the prefill (up to the first token) apart from the decode steps that follow.
  auto t_step = clock::now();
  double prefill_s = 0;
  auto user_callback = options.on_token;
  options.on_token = [&](int64_t token) {
    if (prefill_s == 0) {
      prefill_s = seconds_since(t_step);
      t_step = clock::now();
    }
    return !user_callback || user_callback(token);
  };
  std::vector<int64_t> out;
  if (options.max_tokens > 0) out = session.generate(ids, options);
  if (timing) {
    const double decode_s = seconds_since(t_step);
    const size_t steps = out.size() > 1 ? out.size() - 1 : 0;
    std::fprintf(stderr, "load %.2f s; prefill %zu tokens %.2f s; decode %zu tokens %.2f s (%.3f tokens/s)\n", load_s,
                 ids.size(), prefill_s, steps, decode_s, steps ? steps / decode_s : 0.0);
    std::fprintf(stderr, "memory: %s\n", resident_memory().c_str());
  }
  std::printf("%s\n", nlohmann::json(out).dump().c_str());
  return 0;
}

}  // namespace

GEMMA4_COMMAND("generate", "generate token ids from token ids (JSON array)", run_generate);
