// Server counters, exported as Prometheus text on GET /metrics.
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "server/backend.h"

namespace gemma4::server {

// A Prometheus histogram with fixed upper bounds (seconds).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  void write(std::string& out, const std::string& name, const std::string& help) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; +Inf last
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();

  // One finished HTTP request to a route (counted by status code).
  void count_request(const std::string& route, int status);
  // One finished generation (whether its HTTP status was 200 or not).
  void count_generation(const GenerationResult& result, double seconds, double first_delta_seconds);
  void set_in_flight(int64_t active, int64_t queued);

  std::string prometheus_text() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  uint64_t prompt_tokens_ = 0, completion_tokens_ = 0, cached_prompt_tokens_ = 0;
  std::map<std::string, uint64_t> finishes_;
  int64_t active_ = 0, queued_ = 0;
  Histogram latency_, first_delta_;
};

}  // namespace gemma4::server
