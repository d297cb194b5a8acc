// Decode-step benchmark: one sequence's decode step against `batch` sequences decoded together
// (one forward, one token each), at a given context length, without a prefill: the KV caches
// are filled with random rows (attention costs the same whatever the keys hold).
//
//   build/bench_decode_step --model DIR [--weights q4] [--threads 2] [--context 512] [--batch 4]
//                           [--steps 16] [--rounds 5] [--only-batch 1] [--kv f32|f16]
//                           [--short-context N]
//
// Rounds alternate `steps` single-stream steps and `steps` batched steps, so both see the same
// machine (shared machines drift); it prints each round's ms per step and the batch's total
// tokens/s as a multiple of single stream's, then the best round of each and the median ratio.
// --kv picks the K/V cache precision (default: the model's own, TextDecoder::kv_precision) to
// compare the two within one run. --short-context N also times both at N tokens of context in
// every round (second set of caches): the difference is what attention over the longer context
// costs each, measured in the same seconds (this machine's memory speed can change between rounds).
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/matmul.h"
#include "model/text_decoder.h"

using namespace gemma4;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string model, weights = "q4";
  int threads = 0;
  int64_t context = 512, batch = 4, steps = 16, rounds = 5;
  bool profile_batch = false;  // only batched steps (for a profiler)
  std::string kv;              // "f32" | "f16" | "" (the model's)
  int64_t short_context = 0;   // > 0: also time both at this context, every round
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--model") o.model = v;
    else if (a == "--weights") o.weights = v;
    else if (a == "--threads") o.threads = std::stoi(v);
    else if (a == "--context") o.context = std::stoll(v);
    else if (a == "--batch") o.batch = std::stoll(v);
    else if (a == "--steps") o.steps = std::stoll(v);
    else if (a == "--rounds") o.rounds = std::stoll(v);
    else if (a == "--only-batch") o.profile_batch = v == "1";
    else if (a == "--kv" && (v == "f32" || v == "f16")) o.kv = v;
    else if (a == "--short-context") o.short_context = std::stoll(v);
    else o.model.clear();
  }
  if (o.model.empty() || argc % 2 == 0 || o.short_context < 0) {
    std::fprintf(stderr,
                 "usage: bench_decode_step --model DIR [--weights q4] [--threads N] [--context 512] [--batch 4] "
                 "[--steps 16] [--rounds 5] [--only-batch 1] [--kv f32|f16] "
                 "[--short-context N]\n");
    std::exit(2);
  }
  return o;
}

// `context` positions of random K/V rows in every layer that stores them.
void fill_cache(KVCache& cache, const TextConfig& c, int64_t context, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.f, 1.f);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    if (!cache.stores(l)) continue;
    std::vector<float> k(static_cast<size_t>(context * cache.row_size(l))), v(k.size());
    for (float& x : k) x = normal(rng);
    for (float& x : v) x = normal(rng);
    cache.write(l, k.data(), v.data(), context);
  }
  cache.advance(context);
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// CPU seconds of this process: with --threads 1, the step's cost whatever share of the cores
// the other processes of a shared machine take.
double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct StepTime {
  double wall_ms = 0, cpu_ms = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  set_num_threads(o.threads);
  LoadOptions load;
  load.weights = parse_weights_flag(o.weights);
  const auto decoder = TextDecoder::load(o.model, load);
  const TextConfig& c = decoder->config();
  std::mt19937 rng(1);
  const KvPrecision kv = o.kv.empty() ? decoder->kv_precision() : o.kv == "f16" ? KvPrecision::f16 : KvPrecision::f32;
  auto make_caches = [&](int64_t context) {
    std::vector<KVCache> set;
    for (int64_t b = 0; b < o.batch; ++b) {
      set.push_back(KVCache(c, 64, kv));
      fill_cache(set.back(), c, context, rng);
    }
    return set;
  };
  std::vector<KVCache> caches = make_caches(o.context);
  std::vector<KVCache> short_caches = o.short_context > 0 ? make_caches(o.short_context) : std::vector<KVCache>{};
  std::vector<int64_t> ids(static_cast<size_t>(o.batch));
  std::uniform_int_distribution<int64_t> pick(0, decoder->vocab_size() - 1);
  // `steps` forwards of the first `count` sequences of `set` (all at `context`), one token
  // each; ms per step.
  auto run_steps_at = [&](std::vector<KVCache>& set, int64_t context, int64_t count) {
    const auto t0 = Clock::now();
    const double c0 = cpu_seconds();
    for (int64_t s = 0; s < o.steps; ++s) {
      std::vector<Chunk> chunks;
      for (int64_t b = 0; b < count; ++b) {
        ids[b] = pick(rng);
        chunks.push_back(Chunk{&set[b], std::span<const int64_t>(&ids[b], 1), {}});
      }
      decoder->forward(chunks, LogitsMode::last);
    }
    const StepTime t{seconds_since(t0) * 1e3 / static_cast<double>(o.steps),
                     (cpu_seconds() - c0) * 1e3 / static_cast<double>(o.steps)};
    for (int64_t b = 0; b < count; ++b) set[b].truncate(context);
    return t;
  };
  auto run_steps = [&](int64_t count) { return run_steps_at(caches, o.context, count); };
  std::printf("threads %d, weights %s, K/V %s, context %lld, batch %lld, %lld steps per round\n", num_threads(),
              o.weights.c_str(), kv == KvPrecision::f16 ? "f16" : "f32", static_cast<long long>(o.context), static_cast<long long>(o.batch),
              static_cast<long long>(o.steps));
  run_steps(o.batch);  // warm-up: pages, thread pool, scratch
  if (o.profile_batch) {
    for (int64_t r = 0; r < o.rounds; ++r) std::printf("batch %.1f ms/step\n", run_steps(o.batch).wall_ms);
    return 0;
  }
  StepTime best1{1e30, 1e30}, best_b{1e30, 1e30};
  std::vector<double> ratios, cpu_ratios;
  const double n = static_cast<double>(o.batch);
  for (int64_t r = 0; r < o.rounds; ++r) {
    const StepTime t1 = run_steps(1), tb = run_steps(o.batch);
    best1 = {std::min(best1.wall_ms, t1.wall_ms), std::min(best1.cpu_ms, t1.cpu_ms)};
    best_b = {std::min(best_b.wall_ms, tb.wall_ms), std::min(best_b.cpu_ms, tb.cpu_ms)};
    ratios.push_back(n * t1.wall_ms / tb.wall_ms);
    cpu_ratios.push_back(n * t1.cpu_ms / tb.cpu_ms);
    std::printf("round %lld: single %.1f ms/step (cpu %.1f), batch %.1f ms/step (cpu %.1f): %.2fx (cpu %.2fx)\n",
                static_cast<long long>(r), t1.wall_ms, t1.cpu_ms, tb.wall_ms, tb.cpu_ms, ratios.back(),
                cpu_ratios.back());
    if (o.short_context > 0) {
      const StepTime s1 = run_steps_at(short_caches, o.short_context, 1);
      const StepTime sb = run_steps_at(short_caches, o.short_context, o.batch);
      std::printf("  at context %lld: single %.1f ms/step, batch %.1f ms/step: %.2fx\n",
                  static_cast<long long>(o.short_context), s1.wall_ms, sb.wall_ms, n * s1.wall_ms / sb.wall_ms);
    }
  }
  std::sort(ratios.begin(), ratios.end());
  std::sort(cpu_ratios.begin(), cpu_ratios.end());
  std::printf("best: single %.1f ms/step (%.2f tokens/s), batch %.1f ms/step (%.2f tokens/s): %.2fx; median %.2fx\n",
              best1.wall_ms, 1e3 / best1.wall_ms, best_b.wall_ms, 1e3 * n / best_b.wall_ms,
              n * best1.wall_ms / best_b.wall_ms, ratios[ratios.size() / 2]);
  std::printf("cpu time: single %.1f ms/step, batch %.1f ms/step: %.2fx; median %.2fx\n", best1.cpu_ms, best_b.cpu_ms,
              n * best1.cpu_ms / best_b.cpu_ms, cpu_ratios[cpu_ratios.size() / 2]);
  return 0;
}
