// Kernel microbenchmark: matmul speed per weight format at decode- and prefill-shaped sizes,
// against the machine's measured read bandwidth.
//
//   build/bench_kernels [--threads N] [--quick] [--isa scalar|avx2|avx512]
//
// Decode (n = 1) is judged in GB/s of weight bytes streamed (it is bandwidth-bound); the
// weights are cycled through enough copies to exceed the caches. Prefill (n = 512) is
// judged in GFLOP/s (2·rows·cols·n per matmul; integer operations for q8_0 / q4_0).
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/bandwidth.h"
#include "kernels/isa.h"
#include "kernels/matmul.h"
#include "kernels/peak.h"
#include "tensor/dtype.h"
#include "bench_weights.h"

using namespace gemma4;
using bench::cache_busting_copies;
using bench::random_bf16;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU seconds used by this process: on a shared machine, work per CPU-second is the number
// that does not depend on how much of the cores other processes took.
double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Timing {
  double wall = 0, cpu = 0;  // seconds per matmul
};

// Mean seconds per matmul over at least `min_seconds` (after one warm-up pass over all copies).
Timing time_matmul(const std::vector<Weight>& ws, int64_t n, double min_seconds) {
  std::vector<float> x(static_cast<size_t>(n * ws[0].cols), 0.25f), y(static_cast<size_t>(n * ws[0].rows));
  for (int i = 0; i < 37; ++i) x[static_cast<size_t>(i * 7919) % x.size()] = -1.5f;
  for (const Weight& w : ws) kernels::matmul(w, x.data(), n, y.data());
  int64_t calls = 0;
  const auto start = Clock::now();
  const double cpu_start = cpu_seconds();
  do {
    for (const Weight& w : ws) kernels::matmul(w, x.data(), n, y.data());
    calls += static_cast<int64_t>(ws.size());
  } while (seconds_since(start) < min_seconds || calls < 3);
  return {seconds_since(start) / static_cast<double>(calls), (cpu_seconds() - cpu_start) / static_cast<double>(calls)};
}

struct Options {
  int threads = 0;
  bool quick = false;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) o.threads = std::stoi(argv[++i]);
    else if (a == "--quick") o.quick = true;
    else if (a == "--isa" && i + 1 < argc) kernels::set_isa(kernels::parse_isa(argv[++i]));
    else {
      std::fprintf(stderr, "usage: bench_kernels [--threads N] [--quick] [--isa scalar|avx2|avx512]\n");
      std::exit(2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  set_num_threads(opt.threads);
  const double min_seconds = opt.quick ? 0.2 : 1.0;
  std::printf("threads %d, isa %s\n", num_threads(), kernels::isa_name(kernels::active_isa()));
  const double bandwidth = kernels::measure_read_bandwidth();
  std::printf("measured read bandwidth: %.1f GB/s\n", bandwidth / 1e9);
  const kernels::ComputePeak peak = kernels::measure_compute_peak();
  std::printf("measured one-core peak: %.0f GFLOP/cpu-s f32 FMA, %.0f GOP/cpu-s int8 VNNI\n\n", peak.f32_flops / 1e9,
              peak.int8_ops / 1e9);

  const WeightFormat formats[] = {WeightFormat::bf16, WeightFormat::q8_0, WeightFormat::q4_0, WeightFormat::q4r,
                                  WeightFormat::q4i,  WeightFormat::q8i,  WeightFormat::q4s};
  struct Shape {
    const char* what;
    int64_t rows, cols;
  };
  const Shape decode_shapes[] = {{"mlp up 1536->6144", 6144, 1536},
                                 {"mlp down 6144->1536", 1536, 6144},
                                 {"lm head 262144x1536", 262144, 1536}};

  std::printf("%-22s %-5s %5s %10s %9s %8s %10s\n", "decode", "fmt", "n", "ms/matmul", "GB/s", "of bw", "cpu ms");
  for (const Shape& s : decode_shapes) {
    if (opt.quick && s.rows == 262144) continue;
    const Weight bf16 = random_bf16(s.rows, s.cols);
    for (WeightFormat f : formats) {
      const auto t0 = Clock::now();
      const Weight w = kernels::convert_weight(bf16, f);
      const double convert_s = seconds_since(t0);
      const auto copies = cache_busting_copies(w, int64_t{512} << 20);
      for (int64_t n : {1, 4}) {
        const Timing t = time_matmul(copies, n, min_seconds);
        const double gbs = static_cast<double>(w.total_bytes()) / t.wall;
        std::printf("%-22s %-5s %5ld %10.3f %9.1f %7.0f%% %10.3f", s.what, weight_format_name(f), static_cast<long>(n),
                    t.wall * 1e3, gbs / 1e9, 100.0 * gbs / bandwidth, t.cpu * 1e3);
        if (n == 1 && f != WeightFormat::bf16)
          std::printf("   (quantized from bf16 at %.2f GB/s of bf16)", bf16.total_bytes() / convert_s / 1e9);
        std::printf("\n");
      }
    }
  }

  std::printf("\n%-22s %-5s %5s %10s %9s %10s %14s %8s\n", "prefill", "fmt", "n", "ms/matmul", "GFLOP/s", "cpu ms",
              "GFLOP/cpu-s", "of peak");
  const Shape prefill = {"mlp up 1536->6144", 6144, 1536};
  const Weight bf16 = random_bf16(prefill.rows, prefill.cols);
  for (WeightFormat f : formats) {
    const Weight w = kernels::convert_weight(bf16, f);
    const int64_t n = 512;
    const Timing t = time_matmul({w}, n, min_seconds);
    const double flop = 2.0 * prefill.rows * prefill.cols * n;
    // Float formats are judged against the FMA peak, block formats against the VNNI peak.
    const double of_peak = (is_block_quantized(f) ? peak.int8_ops : peak.f32_flops);
    std::printf("%-22s %-5s %5ld %10.2f %9.1f %10.2f %14.1f %7.0f%%\n", prefill.what, weight_format_name(f),
                static_cast<long>(n), t.wall * 1e3, flop / t.wall / 1e9, t.cpu * 1e3, flop / t.cpu / 1e9,
                of_peak > 0 ? 100.0 * flop / t.cpu / of_peak : 0.0);
    if (f == WeightFormat::bf16) {  // the same with bf16 activations (AVX512-BF16 dot products)
      kernels::set_bf16_mode(kernels::Bf16Mode::fast);
      const Timing tf = time_matmul({w}, n, min_seconds);
      kernels::set_bf16_mode(kernels::Bf16Mode::exact);
      std::printf("%-22s %-5s %5ld %10.2f %9.1f %10.2f %14.1f\n", "  bf16 activations", "bf16",
                  static_cast<long>(n), tf.wall * 1e3, flop / tf.wall / 1e9, tf.cpu * 1e3, flop / tf.cpu / 1e9);
    }
  }
  return 0;
}
