// Accuracy of the weight formats on a full-size checkpoint (too heavy for ctest):
//   ./build/bench_accuracy --model /work/models/e2b-random [--tokens 32] [--threads N]
// Runs one prefill of random ids with the float32 reference path (weights as stored) and with
// each of --weights bf16 / q8 / q4, and prints the relative L2 error of the logits of every
// position and the top-1 agreement against the reference.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "base/thread_pool.h"
#include "model/text_decoder.h"

using namespace gemma4;

namespace {

// Logits of every position, and the output of every decoder layer (to see where errors grow).
std::vector<float> prefill_logits(const TextDecoder& d, const std::vector<int64_t>& ids,
                                  std::vector<std::vector<float>>& layers) {
  KVCache cache = d.new_cache();
  Chunk chunk{&cache, ids, {}};
  layers.assign(d.config().num_layers, {});
  return d.forward(std::span<Chunk>(&chunk, 1), LogitsMode::all,
                   [&](const std::string& name, const float* data, const std::vector<int64_t>& shape) {
                     if (name.rfind("layer_output.", 0) != 0) return;
                     layers[std::stoll(name.substr(13))].assign(data, data + shape[0] * shape[1]);
                   });
}

double relative_l2(const std::vector<float>& got, const std::vector<float>& want) {
  double err2 = 0, ref2 = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    err2 += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    ref2 += double(want[i]) * want[i];
  }
  return std::sqrt(err2 / ref2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model;
  int64_t tokens = 32;
  int threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--model") model = argv[i + 1];
    if (a == "--tokens") tokens = std::stoll(argv[i + 1]);
    if (a == "--threads") threads = std::stoi(argv[i + 1]);
  }
  if (model.empty()) {
    std::fprintf(stderr, "usage: bench_accuracy --model DIR [--tokens N] [--threads N]\n");
    return 2;
  }
  set_num_threads(threads);
  std::vector<float> reference;
  std::vector<std::vector<float>> reference_layers, layers;
  std::vector<int64_t> ids(static_cast<size_t>(tokens));
  int64_t V = 0;
  for (const char* format : {"reference", "q8", "q4"}) {
    LoadOptions options;
    if (std::string(format) != "reference") options.weights = parse_weights_flag(format);
    const auto t0 = std::chrono::steady_clock::now();
    auto decoder = TextDecoder::load(model, options);
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (V == 0) {
      V = decoder->vocab_size();
      std::mt19937 rng(7);
      std::uniform_int_distribution<int64_t> pick(0, V - 1);
      for (int64_t& id : ids) id = pick(rng);
    }
    const auto logits = prefill_logits(*decoder, ids, layers);
    if (reference.empty()) {
      reference = logits;
      reference_layers = layers;
      std::printf("%-9s load %.1f s\n", format, load_s);
      continue;
    }
    int64_t same = 0;
    for (int64_t p = 0; p < tokens; ++p) {
      const float* r = reference.data() + p * V;
      const float* q = logits.data() + p * V;
      same += std::max_element(r, r + V) - r == std::max_element(q, q + V) - q;
    }
    std::printf("%-9s load %.1f s; logits relative L2 %.4f; top-1 agreement %lld/%lld\n", format, load_s,
                relative_l2(logits, reference), static_cast<long long>(same), static_cast<long long>(tokens));
    std::printf("          layer outputs, relative L2:");
    for (size_t l = 0; l < layers.size(); ++l) std::printf(" %zu:%.4f", l, relative_l2(layers[l], reference_layers[l]));
    std::printf("\n");
  }
  return 0;
}
