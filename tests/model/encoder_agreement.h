// Helpers for the encoders' fast-numerics tests: agreement of soft tokens with a reference,
// and the bound the goldens' manifest gives for a bf16 run.
#pragma once
#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/mapped_file.h"
#include "test_util.h"

namespace gemma4::test {

struct Agreement {
  float max_abs = 0.f;
  double cosine = 0.0;
};

inline Agreement compare(const std::vector<float>& got, const std::vector<float>& want) {
  Agreement a;
  double dot = 0, gg = 0, ww = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const float d = std::fabs(got[i] - want[i]);
    if (!(d <= a.max_abs)) a.max_abs = std::isnan(d) ? INFINITY : d;
    dot += double(got[i]) * want[i];
    gg += double(got[i]) * got[i];
    ww += double(want[i]) * want[i];
  }
  a.cosine = dot / std::sqrt(gg * ww);
  return a;
}

// What a bf16-activation transformers run of the tiny model gives against its float32 run
// (manifest.json tolerance_study.<case>.<kind>.bf16_vs_f32_max_abs). The fast paths round less
// than that run (only the inputs of the matrix products, not every intermediate), so they
// must stay within it.
inline float bf16_bound(const std::string& case_name, const std::string& kind = "soft_tokens") {
  const nlohmann::json manifest = nlohmann::json::parse(read_file(tiny_dir() + "/manifest.json"));
  return manifest.at("tolerance_study").at(case_name).at(kind).at("bf16_vs_f32_max_abs").get<float>();
}

// What a bf16-activation transformers run does to the final logits of a case
// (tolerance_study.<case>.logits): its max |diff| from the float32 logits and the fraction of
// positions whose argmax it keeps. The manifest's policy for reduced-precision engines is to
// judge them there ("compare argmax / cosine rather than atol").
struct LogitsBound {
  float max_abs = 0.f;
  double argmax_agreement = 0.0;
};
inline LogitsBound bf16_logits_bound(const std::string& case_name) {
  const nlohmann::json manifest = nlohmann::json::parse(read_file(tiny_dir() + "/manifest.json"));
  const nlohmann::json& l = manifest.at("tolerance_study").at(case_name).at("logits");
  return {l.at("bf16_vs_f32_max_abs").get<float>(), l.at("bf16_argmax_agreement").get<double>()};
}

// Fraction of rows (of `vocab` logits) whose argmax (first on ties) is the same in both.
inline double argmax_agreement(const std::vector<float>& got, const std::vector<float>& want, int64_t vocab) {
  const int64_t rows = static_cast<int64_t>(want.size()) / vocab;
  int64_t same = 0;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t a = 0, b = 0;
    for (int64_t j = 1; j < vocab; ++j) {
      if (got[r * vocab + j] > got[r * vocab + a]) a = j;
      if (want[r * vocab + j] > want[r * vocab + b]) b = j;
    }
    same += a == b;
  }
  return rows > 0 ? double(same) / double(rows) : 1.0;
}

}  // namespace gemma4::test
