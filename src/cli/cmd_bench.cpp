// gemma4 bench: prompt processing, generation and batched-decode speed of the text decoder on
// random prompt ids, with the memory it took and how close decode comes to the bandwidth
// ceiling (weight bytes read per token ÷ this machine's measured read bandwidth).
//
// Wall-clock figures are what a user sees; the CPU-time figures (process CPU seconds ÷
// threads) estimate the speed on idle cores when other work shares the machine.
// The output format (text lines and --json keys) is kept stable: other tools parse it.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/thread_pool.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/speed_options.h"
#include "kernels/bandwidth.h"
#include "kernels/isa.h"
#include "model/text_decoder.h"
#include "runtime/sampler.h"

namespace {

using namespace gemma4;

double wall_now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// A /proc/self/status field in bytes ("VmHWM", "RssAnon", ...); 0 if absent.
int64_t proc_status_bytes(const std::string& field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1)) * 1024;
  return 0;
}

// Read bandwidth measured in a child process, so its 512 MiB buffer never counts toward this
// process's peak memory. Runs before the thread pool exists (fork keeps only this thread).
double measure_bandwidth_in_child(int threads) {
  int fds[2];
  check(pipe(fds) == 0, "bench: pipe() failed", ExitCode::failure);
  const pid_t pid = fork();
  check(pid >= 0, "bench: fork() failed", ExitCode::failure);
  if (pid == 0) {
    close(fds[0]);
    set_num_threads(threads);
    const double bw = kernels::measure_read_bandwidth();
    const ssize_t written = write(fds[1], &bw, sizeof bw);
    _exit(written == sizeof bw ? 0 : 1);
  }
  close(fds[1]);
  double bw = 0;
  const ssize_t got = read(fds[0], &bw, sizeof bw);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  check(got == sizeof bw, "bench: the bandwidth measurement failed", ExitCode::failure);
  return bw;
}

// Bytes of weights one decode step streams: every matrix multiplied per token (the tied LM
// head included) plus the rows gathered from the embedding tables.
int64_t weight_bytes_per_token(const TextDecoder& d) {
  const TextWeights& w = d.weights();
  const Weight& head = w.lm_head.empty() ? w.embed_tokens : w.lm_head;
  int64_t bytes = w.per_layer_model_projection.total_bytes() + head.total_bytes();
  bytes += w.embed_tokens.row_bytes() + w.embed_tokens_per_layer.row_bytes();
  for (const DecoderLayerWeights& l : w.layers)
    for (const Weight* m : {&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.gate_proj, &l.up_proj, &l.down_proj,
                            &l.per_layer_input_gate, &l.per_layer_projection})
      if (!m->empty()) bytes += m->total_bytes();
  return bytes;
}


// Wall and CPU seconds of one measured stretch.
struct Span {
  double wall = 0, cpu = 0;
};

template <class Fn>
Span timed(Fn&& fn) {
  const double w0 = wall_now(), c0 = cpu_now();
  fn();
  return {wall_now() - w0, cpu_now() - c0};
}

struct Results {
  double load_s = 0;
  Span prompt, decode, batch;
  int64_t batch_tokens = 0;
  int64_t peak_anon = 0;
};

int run_bench(int argc, char** argv) {
  CLI::App app{"Measure prompt processing and generation speed on random prompt ids."};
  std::string model;
  int64_t prompt_tokens = 512, gen_tokens = 128, batch = 1;
  bool json = false;
  uint32_t seed = 1;
  cli::SpeedOptions speed;
  app.add_option("--model", model, "model folder")->required();
  app.add_option("-p,--prompt-tokens", prompt_tokens, "prompt length")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("-n,--gen-tokens", gen_tokens, "tokens to generate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--batch", batch, "also decode this many sequences together (1 = single stream only)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--seed", seed, "seed of the random prompt ids")->capture_default_str();
  app.add_flag("--json", json, "print one JSON object instead of text");
  cli::add_speed_options(app, speed, "q4");
  GEMMA4_PARSE(app, argc, argv);

  const int threads = speed.threads > 0 ? speed.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const double bandwidth = measure_bandwidth_in_child(threads);
  Results r;
  std::shared_ptr<TextDecoder> decoder;
  r.load_s = timed([&] { decoder = TextDecoder::load(model, speed.apply()); }).wall;
  const int64_t V = decoder->vocab_size();
  auto sample_anon = [&] { r.peak_anon = std::max(r.peak_anon, proc_status_bytes("RssAnon")); };
  sample_anon();

  std::mt19937 rng(seed);
  std::uniform_int_distribution<int64_t> pick(0, V - 1);
  std::vector<int64_t> prompt(static_cast<size_t>(prompt_tokens));
  for (int64_t& id : prompt) id = pick(rng);

  // Single stream: prefill (its logits give the first token), then gen_tokens decode steps.
  {
    KVCache cache = decoder->new_cache();
    std::vector<float> logits;
    r.prompt = timed([&] {
      Chunk chunk{&cache, prompt, {}};
      logits = decoder->forward(std::span<Chunk>(&chunk, 1), LogitsMode::last);
    });
    sample_anon();
    r.decode = timed([&] {
      for (int64_t i = 0; i < gen_tokens; ++i) {
        const int64_t next[1] = {argmax(logits.data(), V)};
        Chunk chunk{&cache, next, {}};
        logits = decoder->forward(std::span<Chunk>(&chunk, 1), LogitsMode::last);
      }
    });
    sample_anon();
  }
  // Batched decode: `batch` sequences (prefilled together, untimed), one token each per forward.
  if (batch > 1) {
    std::vector<KVCache> caches;
    for (int64_t b = 0; b < batch; ++b) caches.push_back(decoder->new_cache());
    std::vector<Chunk> chunks;
    for (KVCache& c : caches) chunks.push_back(Chunk{&c, prompt, {}});
    std::vector<float> logits = decoder->forward(chunks, LogitsMode::last);
    std::vector<int64_t> next(static_cast<size_t>(batch));
    r.batch = timed([&] {
      for (int64_t i = 0; i < gen_tokens; ++i) {
        for (int64_t b = 0; b < batch; ++b) {
          next[b] = argmax(logits.data() + b * V, V);
          chunks[b] = Chunk{&caches[b], std::span<const int64_t>(&next[b], 1), {}};
        }
        logits = decoder->forward(chunks, LogitsMode::last);
      }
    });
    r.batch_tokens = batch * gen_tokens;
    sample_anon();
  }

  const int64_t bytes = weight_bytes_per_token(*decoder);
  const double prompt_tps = prompt_tokens / r.prompt.wall, gen_tps = gen_tokens / r.decode.wall;
  // CPU-time estimates: tokens per (CPU seconds / threads), the speed if the cores were ours alone.
  const double prompt_cpu_tps = prompt_tokens / (r.prompt.cpu / threads);
  const double gen_cpu_tps = gen_tokens / (r.decode.cpu / threads);
  const double ceiling = bandwidth / static_cast<double>(bytes);
  const double batch_tps = batch > 1 ? r.batch_tokens / r.batch.wall : gen_tps;
  const double batch_cpu_tps = batch > 1 ? r.batch_tokens / (r.batch.cpu / threads) : gen_cpu_tps;
  const int64_t peak_rss = proc_status_bytes("VmHWM");

  nlohmann::ordered_json j;
  j["model"] = model;
  j["weights"] = speed.weights;
  j["threads"] = threads;
  j["isa"] = kernels::isa_name(kernels::active_isa());
  j["load_s"] = r.load_s;
  j["prompt_tokens"] = prompt_tokens;
  j["prompt_s"] = r.prompt.wall;
  j["prompt_cpu_s"] = r.prompt.cpu;
  j["prompt_tokens_per_s"] = prompt_tps;
  j["prompt_tokens_per_s_cpu"] = prompt_cpu_tps;
  j["ttft_s"] = r.prompt.wall;
  j["gen_tokens"] = gen_tokens;
  j["gen_s"] = r.decode.wall;
  j["gen_cpu_s"] = r.decode.cpu;
  j["gen_tokens_per_s"] = gen_tps;
  j["gen_tokens_per_s_cpu"] = gen_cpu_tps;
  j["batch"] = batch;
  j["batch_tokens_per_s"] = batch_tps;
  j["batch_tokens_per_s_cpu"] = batch_cpu_tps;
  j["batch_ratio"] = batch_tps / gen_tps;
  j["batch_ratio_cpu"] = batch_cpu_tps / gen_cpu_tps;
  j["weight_bytes_per_token"] = bytes;
  j["read_bandwidth_bytes_per_s"] = bandwidth;
  j["ceiling_tokens_per_s"] = ceiling;
  j["bandwidth_fraction"] = gen_tps / ceiling;
  j["bandwidth_fraction_cpu"] = gen_cpu_tps / ceiling;
  j["peak_rss_bytes"] = peak_rss;
  j["peak_anon_bytes"] = r.peak_anon;
  if (json) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  const double GB = 1e9;
  std::printf("model %s, weights %s, %d threads, isa %s, load %.2f s\n", model.c_str(), speed.weights.c_str(), threads,
              j["isa"].get<std::string>().c_str(), r.load_s);
  std::printf("prompt processing: %lld tokens in %.3f s: %.2f tokens/s (cpu-time estimate %.2f tokens/s)\n",
              static_cast<long long>(prompt_tokens), r.prompt.wall, prompt_tps, prompt_cpu_tps);
  std::printf("time to first token: %.3f s\n", r.prompt.wall);
  std::printf("generation: %lld tokens in %.3f s: %.2f tokens/s (cpu-time estimate %.2f tokens/s)\n",
              static_cast<long long>(gen_tokens), r.decode.wall, gen_tps, gen_cpu_tps);
  if (batch > 1)
    std::printf("batch %lld: %.2f tokens/s total, %.2fx single stream (cpu-time estimate %.2f tokens/s, %.2fx)\n",
                static_cast<long long>(batch), batch_tps, batch_tps / gen_tps, batch_cpu_tps,
                batch_cpu_tps / gen_cpu_tps);
  std::printf("weights read per token: %.3f GB; read bandwidth %.2f GB/s; ceiling %.2f tokens/s\n", bytes / GB,
              bandwidth / GB, ceiling);
  std::printf("decode at %.0f%% of the bandwidth ceiling (cpu-time estimate %.0f%%)\n", 100 * gen_tps / ceiling,
              100 * gen_cpu_tps / ceiling);
  std::printf("peak RSS %.3f GB; peak anonymous memory %.3f GB\n", peak_rss / GB, r.peak_anon / GB);
  return 0;
}

}  // namespace

GEMMA4_COMMAND("bench", "measure prompt processing / generation speed and memory", run_bench);
