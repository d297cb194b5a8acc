// The speed flags every command that runs the model shares: --weights and --threads.
// run / chat / serve add them the same way so one model folder runs the same everywhere.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "base/thread_pool.h"
#include "model/weights.h"

namespace gemma4::cli {

struct SpeedOptions {
  std::string weights;  // bf16 | q8 | q4
  int threads = 0;      // 0: all hardware threads

  // LoadOptions for the chosen numerics; also sizes the thread pool (process-wide).
  LoadOptions apply() const {
    set_num_threads(threads);
    LoadOptions options;
    options.weights = parse_weights_flag(weights);
    return options;
  }
};

// `default_weights`: "bf16" keeps the float32 reference numerics (the conformance commands
// logits / generate); "q4" is the fast default (bench, run, chat, serve).
inline void add_speed_options(CLI::App& app, SpeedOptions& options, const std::string& default_weights) {
  options.weights = default_weights;
  app.add_option("--weights", options.weights,
                 "weight numerics: bf16 (as stored, float32 math), q8 (int8 blocks), q4 (int4 blocks); "
                 "quantized at load")
      ->check(CLI::IsMember({"bf16", "q8", "q4"}))
      ->capture_default_str();
  app.add_option("--threads", options.threads, "worker threads (0 = all cores)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
}

}  // namespace gemma4::cli
