// The speed flags every command that runs the model shares: --weights and --threads.
// run / chat / serve add them the same way so one model folder runs the same everywhere.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "base/thread_pool.h"
#include "kernels/matmul.h"
#include "model/weights.h"

namespace gemma4::cli {

struct SpeedOptions {
  std::string weights;  // bf16 | q8 | q4
  int threads = 0;      // 0: all hardware threads
  // bf16 weights meet long batches with bf16 dot products (kernels::Bf16Mode::fast) unless
  // the command promises the exact float32 reference numerics (logits / generate).
  bool exact_bf16 = false;

  // LoadOptions for the chosen numerics; also sizes the thread pool and sets the bf16 mode
  // (both process-wide).
  LoadOptions apply() const {
    set_num_threads(threads);
    kernels::set_bf16_mode(exact_bf16 ? kernels::Bf16Mode::exact : kernels::Bf16Mode::fast);
    LoadOptions options;
    options.weights = parse_weights_flag(weights);
    return options;
  }
};

// `default_weights`: "bf16" keeps the float32 reference numerics (the conformance commands
// logits / generate, exact bf16 products too); "q4" is the fast default (bench, run, chat,
// serve), where --weights bf16 also uses the fast bf16 dot products for prefill.
inline void add_speed_options(CLI::App& app, SpeedOptions& options, const std::string& default_weights) {
  options.weights = default_weights;
  options.exact_bf16 = default_weights == "bf16";
  app.add_option("--weights", options.weights,
                 "weight numerics: bf16 (as stored, float32 math), q8 (int8 blocks), q4 (int4 blocks); "
                 "quantized at load")
      ->check(CLI::IsMember({"bf16", "q8", "q4"}))
      ->capture_default_str();
  app.add_option("--threads", options.threads, "worker threads (0 = all cores)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
}

// --media-int8: the image and audio towers' linears on the int8 GEMM (run / chat / serve; the
// embed-* commands call it --int8).
inline void add_media_int8_flag(CLI::App& app, bool& media_int8) {
  app.add_flag("--media-int8", media_int8,
               "image and audio encoders with int8 linears (AVX512-VNNI): about 1.5-2x faster media "
               "encoding, a few times the error of the default bf16 products");
}

}  // namespace gemma4::cli
