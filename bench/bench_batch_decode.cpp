// Batched-decode microbenchmark: how much longer one matmul takes for n = 1, 2, 4 (, 8) tokens
// than for one, per weight format, on decode-shaped matrices. One pass over the weights
// serves all n tokens, so the ideal is time(n) ≈ time(1) while memory-bound.
//
//   build/bench_batch_decode [--threads N] [--seconds S] [--formats q4s,q8i] [--l2]
//
// --l2 uses one small matrix that stays in cache (the kernel's compute speed alone); the
// default cycles through copies larger than the caches (what decode sees).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/matmul.h"
#include "tensor/dtype.h"
#include "bench_weights.h"

using namespace gemma4;
using bench::cache_busting_copies;
using bench::random_bf16;
using Clock = std::chrono::steady_clock;

namespace {

// Seconds per matmul for each n: the best of many rounds, the n interleaved round by round so
// each ratio compares measurements from the same moments (the machine is shared: the minimum
// is the least disturbed measurement, and bandwidth available to us drifts).
std::vector<double> time_matmuls(const std::vector<Weight>& ws, const std::vector<int64_t>& ns, double seconds) {
  const int64_t max_n = *std::max_element(ns.begin(), ns.end());
  std::vector<float> x(static_cast<size_t>(max_n * ws[0].cols)), y(static_cast<size_t>(max_n * ws[0].rows));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7919) % 201) / 100.f - 1.f;
  for (const Weight& w : ws) kernels::matmul(w, x.data(), max_n, y.data());
  std::vector<double> best(ns.size(), 1e30);
  const auto start = Clock::now();
  do {
    for (size_t i = 0; i < ns.size(); ++i) {
      const auto t0 = Clock::now();
      for (const Weight& w : ws) kernels::matmul(w, x.data(), ns[i], y.data());
      const double t = std::chrono::duration<double>(Clock::now() - t0).count() / static_cast<double>(ws.size());
      best[i] = std::min(best[i], t);
    }
  } while (std::chrono::duration<double>(Clock::now() - start).count() < seconds);
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0;
  double seconds = 1.0;
  bool l2 = false;
  std::string formats = "q4s,q8i";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) threads = std::stoi(argv[++i]);
    else if (a == "--seconds" && i + 1 < argc) seconds = std::stod(argv[++i]);
    else if (a == "--formats" && i + 1 < argc) formats = argv[++i];
    else if (a == "--l2") l2 = true;
    else {
      std::fprintf(stderr, "usage: bench_batch_decode [--threads N] [--seconds S] [--formats q4s,q8i] [--l2]\n");
      return 2;
    }
  }
  set_num_threads(threads);
  std::printf("threads %d, %s\n", num_threads(), l2 ? "cache-resident matrix" : "matrices streamed from memory");
  struct Shape {
    const char* what;
    int64_t rows, cols;
  };
  const Shape shapes[] = {{"up 1536->6144", 6144, 1536},
                          {"down 6144->1536", 1536, 6144},
                          {"q 1536->2048", 2048, 1536},
                          {"ple 1536->256", 256, 1536},
                          {"lm head", 262144, 1536}};
  const Shape small = {"l2 512->1536", 512, 1536};
  std::printf("%-16s %-4s %9s %9s %9s %9s   (time(n) / time(1))\n", "shape", "fmt", "n=1 us", "n=2", "n=4", "n=8");
  std::stringstream list(formats);
  for (std::string name; std::getline(list, name, ',');) {
    WeightFormat f = WeightFormat::q4s;
    if (name == "q8i") f = WeightFormat::q8i;
    else if (name == "q4i") f = WeightFormat::q4i;
    else if (name != "q4s") {
      std::fprintf(stderr, "unknown format %s (q4s, q4i, q8i)\n", name.c_str());
      return 2;
    }
    for (const Shape& s : l2 ? std::vector<Shape>{small} : std::vector<Shape>(std::begin(shapes), std::end(shapes))) {
      const Weight w = kernels::convert_weight(random_bf16(s.rows, s.cols), f);
      const auto ws = l2 ? std::vector<Weight>{w} : cache_busting_copies(w, int64_t{256} << 20);
      const std::vector<double> t = time_matmuls(ws, {1, 2, 4, 8}, seconds);
      std::printf("%-16s %-4s %9.1f", s.what, name.c_str(), t[0] * 1e6);
      for (size_t i = 1; i < t.size(); ++i) std::printf(" %8.2fx", t[i] / t[0]);
      std::printf("\n");
    }
  }
  return 0;
}
