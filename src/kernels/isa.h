// Which instruction-set level the kernels use, chosen once at run time.
//
// Detected with CPUID at first use; the environment variable GEMMA4_ISA=scalar|avx2|avx512
// forces a lower level (tests use set_isa() to check every path on one machine).
#pragma once

namespace gemma4::kernels {

enum class Isa {
  scalar,  // plain C++: any CPU
  avx2,    // AVX2 + FMA + F16C
  avx512,  // AVX-512 F/BW/VL/DQ + VNNI + BF16 (Zen 4+, Ice Lake+ with BF16: Sapphire Rapids)
};

const char* isa_name(Isa isa);
Isa best_supported_isa();        // what this CPU can run
Isa active_isa();                // what the kernels use now
bool isa_supported(Isa isa);
void set_isa(Isa isa);           // throws gemma4::Error if this CPU cannot run it
Isa parse_isa(const char* name); // "scalar" | "avx2" | "avx512"; throws on anything else
// The level for a GEMMA4_ISA value: the best supported when null or empty, else the named
// level if this CPU runs it (throws gemma4::Error otherwise).
Isa isa_for_request(const char* forced);

}  // namespace gemma4::kernels
