#include "kernels/isa.h"

#include <atomic>
#include <cstdlib>
#include <string>

#include "base/error.h"

namespace gemma4::kernels {
namespace {

Isa detect() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bf16");
  if (avx512) return Isa::avx512;
  if (avx2) return Isa::avx2;
#endif
  return Isa::scalar;
}

std::atomic<int> g_active{-1};

}  // namespace

Isa isa_for_request(const char* forced) {
  const Isa best = best_supported_isa();
  if (!forced || !*forced) return best;
  const Isa wanted = parse_isa(forced);
  check(static_cast<int>(wanted) <= static_cast<int>(best),
        std::string("GEMMA4_ISA=") + forced + ": this CPU supports at most " + isa_name(best),
        ExitCode::unsupported);
  return wanted;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "?";
}

Isa best_supported_isa() {
  static const Isa best = detect();
  return best;
}

bool isa_supported(Isa isa) { return static_cast<int>(isa) <= static_cast<int>(best_supported_isa()); }

Isa active_isa() {
  int v = g_active.load(std::memory_order_relaxed);
  if (v < 0) {
    v = static_cast<int>(isa_for_request(std::getenv("GEMMA4_ISA")));
    g_active.store(v);
  }
  return static_cast<Isa>(v);
}

void set_isa(Isa isa) {
  check(isa_supported(isa), std::string("ISA ") + isa_name(isa) + " is not supported by this CPU",
        ExitCode::unsupported);
  g_active.store(static_cast<int>(isa));
}

Isa parse_isa(const char* name) {
  const std::string s = name ? name : "";
  if (s == "scalar") return Isa::scalar;
  if (s == "avx2") return Isa::avx2;
  if (s == "avx512") return Isa::avx512;
  throw Error("unknown ISA '" + s + "' (expected scalar, avx2 or avx512)", ExitCode::usage);
}

}  // namespace gemma4::kernels
