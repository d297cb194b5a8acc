// Which AVX-512 operations compete with vpdpbusd for the core's multiply pipes: the cost in
// cycles of adding each operation to a loop of 32 independent-enough vpdpbusd (the 32 of one
// Q4S block against 4 tokens, matmul_avx512.cpp).
//
//   build/bench_multiply_pipe
//
// The clock is measured with a chain of dependent integer adds (one cycle each). On the Zen 4
// machine of the README, 32 vpdpbusd take 32 cycles; vmulps, vfmadd231ps, vpmulld and
// vpmaddwd each add a cycle (they take the same pipes), while vcvtdq2ps, vaddps, logic,
// shifts and vpsllvd are free: so the 4 multiplies and 4 FMAs that scale a block's 4 token
// sums cost 8 of its 40 cycles, and an exact float scale per block and token cannot go below
// that. Registers zmm16-31 only: the compiler keeps nothing there in this file.
#include <algorithm>
#include <chrono>
#include <cstdio>

namespace {

using Clock = std::chrono::steady_clock;

#define DP(i) "vpdpbusd %%zmm31, %%zmm30, %%zmm" #i "\n"
#define DP8 DP(16) DP(17) DP(18) DP(19) DP(20) DP(21) DP(22) DP(23)
#define DP32 DP8 DP8 DP8 DP8
#define OP(op, i) #op " %%zmm29, %%zmm28, %%zmm" #i "\n"
#define OP4(op) OP(op, 24) OP(op, 25) OP(op, 26) OP(op, 27)
#define CVT4 "vcvtdq2ps %%zmm29, %%zmm24\n vcvtdq2ps %%zmm29, %%zmm25\n vcvtdq2ps %%zmm29, %%zmm26\n vcvtdq2ps %%zmm29, %%zmm27\n"
#define SHIFT4 "vpsrlw $4, %%zmm29, %%zmm24\n vpsrlw $4, %%zmm29, %%zmm25\n vpsrlw $4, %%zmm29, %%zmm26\n vpsrlw $4, %%zmm29, %%zmm27\n"

enum class Mix { base, kernel, mul, fma, cvt, add, logic, pmulld, pmaddwd, sllvd, scalef };

template <Mix M>
double seconds(long iterations) {
  const auto t0 = Clock::now();
  for (long i = 0; i < iterations; ++i) {
    if constexpr (M == Mix::base) asm volatile(DP32 ::: "memory");
    if constexpr (M == Mix::kernel) asm volatile(DP32 OP4(vmulps) OP4(vfmadd231ps) CVT4 ::: "memory");
    if constexpr (M == Mix::mul) asm volatile(DP32 OP4(vmulps) ::: "memory");
    if constexpr (M == Mix::fma) asm volatile(DP32 OP4(vfmadd231ps) ::: "memory");
    if constexpr (M == Mix::cvt) asm volatile(DP32 CVT4 ::: "memory");
    if constexpr (M == Mix::add) asm volatile(DP32 OP4(vaddps) OP4(vaddps) ::: "memory");
    if constexpr (M == Mix::logic) asm volatile(DP32 OP4(vpandd) SHIFT4 OP4(vpandd) ::: "memory");
    if constexpr (M == Mix::pmulld) asm volatile(DP32 OP4(vpmulld) ::: "memory");
    if constexpr (M == Mix::pmaddwd) asm volatile(DP32 OP4(vpmaddwd) ::: "memory");
    if constexpr (M == Mix::sllvd) asm volatile(DP32 OP4(vpsllvd) ::: "memory");
    if constexpr (M == Mix::scalef) asm volatile(DP32 OP4(vscalefps) ::: "memory");
  }
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Cycles per second from 4 dependent adds per iteration.
double clock_hz() {
  long n = 500000000, x = 0;
  const long iterations = n;
  const auto t0 = Clock::now();
  asm volatile("1: add $1, %0\n add $1, %0\n add $1, %0\n add $1, %0\n sub $1, %1\n jnz 1b" : "+r"(x), "+r"(n));
  return 4.0 * static_cast<double>(iterations) / std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main() {
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512vnni")) {
    std::fprintf(stderr, "bench_multiply_pipe needs AVX-512 with VNNI\n");
    return 2;
  }
  asm volatile("vpxord %%zmm28, %%zmm28, %%zmm28\n vpxord %%zmm29, %%zmm29, %%zmm29\n"
               "vpxord %%zmm30, %%zmm30, %%zmm30\n vpxord %%zmm31, %%zmm31, %%zmm31" ::: "memory");
  const long n = 20000000;
  struct Row {
    const char* what;
    double (*run)(long);
  };
  const Row rows[] = {{"32 vpdpbusd", seconds<Mix::base>},
                      {"+ the kernel's 4 mul, 4 fma, 4 cvt", seconds<Mix::kernel>},
                      {"+ 4 vmulps", seconds<Mix::mul>},
                      {"+ 4 vfmadd231ps", seconds<Mix::fma>},
                      {"+ 4 vcvtdq2ps", seconds<Mix::cvt>},
                      {"+ 8 vaddps", seconds<Mix::add>},
                      {"+ 8 vpandd, 4 vpsrlw", seconds<Mix::logic>},
                      {"+ 4 vpmulld", seconds<Mix::pmulld>},
                      {"+ 4 vpmaddwd", seconds<Mix::pmaddwd>},
                      {"+ 4 vpsllvd", seconds<Mix::sllvd>},
                      {"+ 4 vscalefps", seconds<Mix::scalef>}};
  const double hz = clock_hz();
  std::printf("clock %.2f GHz (dependent adds)\n", hz / 1e9);
  for (const Row& r : rows) {
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) best = std::min(best, r.run(n));
    std::printf("%-36s %5.1f cycles per iteration\n", r.what, best * hz / static_cast<double>(n));
  }
  return 0;
}
