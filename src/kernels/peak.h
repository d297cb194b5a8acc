// The arithmetic peak of one core, measured: what prefill kernels are judged against.
#pragma once

namespace gemma4::kernels {

struct ComputePeak {
  double f32_flops = 0;  // float32 FMA, FLOP (2 per multiply-add) per CPU-second
  double int8_ops = 0;   // int8 VNNI dot products, OP (2 per multiply-add) per CPU-second
};

// Runs independent FMA / vpdpbusd chains on the calling thread for about `seconds` each and
// counts per CPU-second of this thread (so time taken by other processes does not count).
// Zeros where the CPU lacks the AVX-512 level (kernels/isa.h).
ComputePeak measure_compute_peak(double seconds = 0.2);

}  // namespace gemma4::kernels
