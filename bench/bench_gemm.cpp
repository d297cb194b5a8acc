// Packed bf16 and int8 GEMMs and long attention: GFLOP/s at encoder shapes (vision tower of E2B at a
// 280-token image: N = 2520 patches, hidden 768, MLP 3072, 12 heads of 64).
//
//   build/bench_gemm [N] [threads] [compare with kernels::matmul: 0|1]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/attention_long.h"
#include "kernels/gemm.h"
#include "kernels/gemm_int8.h"
#include "kernels/isa.h"
#include "kernels/matmul.h"
#include "kernels/peak.h"
#include "tensor/dtype.h"

using namespace gemma4;

namespace {

std::vector<float> random_values(int64_t count, float scale) {
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.f, scale);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& x : v) x = dist(rng);
  return v;
}

template <typename Fn>
void report(const char* label, double flops, Fn&& fn) {
  fn();  // warm up
  const int reps = 3;
  const auto start = std::chrono::steady_clock::now();
  const std::clock_t cpu = std::clock();
  for (int i = 0; i < reps; ++i) fn();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / reps;
  const double cpu_s = static_cast<double>(std::clock() - cpu) / CLOCKS_PER_SEC / reps;
  std::printf("%-34s %8.2f ms  %7.1f GFLOP/s  (cpu %.2f ms)\n", label, wall * 1e3, flops / wall * 1e-9, cpu_s * 1e3);
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 2520;
  if (argc > 2) set_num_threads(std::atoi(argv[2]));
  const bool compare = argc > 3 && std::atoi(argv[3]) != 0;
  const kernels::ComputePeak peak = kernels::measure_compute_peak();
  std::printf("isa %s, threads %d, N %lld; one core's measured peaks per CPU-second: f32 FMA %.0f GFLOP, "
              "int8 VNNI %.0f GOP\n",
              kernels::isa_name(kernels::active_isa()), num_threads(), static_cast<long long>(n), peak.f32_flops * 1e-9,
              peak.int8_ops * 1e-9);
  struct Shape {
    const char* label;
    int64_t rows, cols;
  };
  for (const Shape s : {Shape{"gemm 768 -> 768 (q/k/v/o)", 768, 768}, Shape{"gemm 768 -> 3072 (gate/up)", 3072, 768},
                        Shape{"gemm 3072 -> 768 (down)", 768, 3072}}) {
    const std::vector<float> w = random_values(s.rows * s.cols, 0.05f), x = random_values(n * s.cols, 1.f);
    std::vector<float> y(static_cast<size_t>(n * s.rows));
    kernels::PackedBf16 packed;
    kernels::pack_bf16(w.data(), s.rows, s.cols, s.cols, packed);
    report(s.label, 2.0 * n * s.rows * s.cols, [&] { kernels::gemm(packed, x.data(), n, y.data()); });
    const kernels::PackedInt8 packed_int8 = [&] {
      kernels::PackedInt8 p;
      kernels::pack_int8(w.data(), s.rows, s.cols, s.cols, p);
      return p;
    }();
    report("  int8 (VNNI)", 2.0 * n * s.rows * s.cols, [&] { kernels::gemm_int8(packed_int8, x.data(), n, y.data()); });
    if (compare) {  // the same product through kernels::matmul's bf16 fast mode, for the ratio
      std::vector<uint16_t> w_bf16(w.size());
      for (size_t i = 0; i < w.size(); ++i) w_bf16[i] = f32_to_bf16(w[i]);
      Weight weight;
      weight.format = WeightFormat::bf16;
      weight.rows = s.rows;
      weight.cols = s.cols;
      weight.data = w_bf16.data();
      weight.name = "w";
      kernels::set_bf16_mode(kernels::Bf16Mode::fast);
      report("  (matmul, Bf16Mode::fast)", 2.0 * n * s.rows * s.cols,
             [&] { kernels::matmul(weight, x.data(), n, y.data()); });
    }
  }
  kernels::LongAttentionShape a;
  a.queries = a.keys = n;
  a.heads = a.kv_heads = 12;
  a.head_dim = 64;
  a.q_stride = a.kv_stride = a.out_stride = 768;
  const std::vector<float> q = random_values(n * 768, 1.f), k = random_values(n * 768, 1.f),
                           v = random_values(n * 768, 1.f);
  std::vector<float> out(static_cast<size_t>(n * 768));
  report("attention 12 heads x 64", 4.0 * n * n * 768,
         [&] { kernels::attention_bidirectional(a, q.data(), k.data(), v.data(), nullptr, out.data()); });
  report("  int8 (VNNI)", 4.0 * n * n * 768,
         [&] { kernels::attention_bidirectional_int8(a, q.data(), k.data(), v.data(), nullptr, out.data()); });
  return 0;
}
