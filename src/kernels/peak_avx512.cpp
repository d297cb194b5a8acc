// GCC 12 AVX-512 header warnings (GCC bug 105593), see matmul_avx512.cpp.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <ctime>

#include "kernels/isa.h"
#include "kernels/peak.h"

namespace gemma4::kernels {
namespace {

double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

constexpr int kChains = 12;  // enough independent chains to cover the latency on 2 pipes
constexpr long kInner = 20000;

double fma_rate(double seconds) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(1.f + static_cast<float>(i) * 1e-7f);
  const __m512 m = _mm512_set1_ps(0.9999999f), c = _mm512_set1_ps(1e-7f);
  long iterations = 0;
  const double start = thread_cpu_seconds();
  double elapsed;
  do {
    for (long k = 0; k < kInner; ++k)
      // Unrolled so the chains live in registers (a rolled loop keeps them in memory and
      // measures the store-to-load forwarding, about a third of the arithmetic rate).
#pragma GCC unroll 12
      for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], m, c);
    iterations += kInner;
    elapsed = thread_cpu_seconds() - start;
  } while (elapsed < seconds);
  float sink = 0;
  for (int i = 0; i < kChains; ++i) sink += _mm512_reduce_add_ps(acc[i]);
  volatile float keep = sink;
  (void)keep;
  return static_cast<double>(iterations) * kChains * 16 * 2 / elapsed;
}

double vnni_rate(double seconds) {
  __m512i acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_epi32(i);
  const __m512i u = _mm512_set1_epi8(3), s = _mm512_set1_epi8(-2);
  long iterations = 0;
  const double start = thread_cpu_seconds();
  double elapsed;
  do {
    for (long k = 0; k < kInner; ++k)
#pragma GCC unroll 12
      for (int i = 0; i < kChains; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], u, s);
    iterations += kInner;
    elapsed = thread_cpu_seconds() - start;
  } while (elapsed < seconds);
  int sink = 0;
  for (int i = 0; i < kChains; ++i) sink += _mm512_reduce_add_epi32(acc[i]);
  volatile int keep = sink;
  (void)keep;
  return static_cast<double>(iterations) * kChains * 64 * 2 / elapsed;
}

}  // namespace

ComputePeak measure_compute_peak(double seconds) {
  if (!isa_supported(Isa::avx512)) return {};
  return {fma_rate(seconds), vnni_rate(seconds)};
}

}  // namespace gemma4::kernels
