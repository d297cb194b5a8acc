#include "server/metrics.h"

#include <cstdio>

namespace gemma4::server {
namespace {

const std::vector<double> kLatencyBounds = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void header(std::string& out, const std::string& name, const std::string& help, const char* type) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::write(std::string& out, const std::string& name, const std::string& help) const {
  header(out, name, help, "histogram");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{le=\"" + number(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum " + number(sum_) + "\n" + name + "_count " + std::to_string(count_) + "\n";
}

Metrics::Metrics() : latency_(kLatencyBounds), first_delta_(kLatencyBounds) {}

void Metrics::count_request(const std::string& route, int status) {
  std::lock_guard lock(mu_);
  ++requests_[{route, status}];
}

void Metrics::count_generation(const GenerationResult& r, double seconds, double first_delta_seconds) {
  std::lock_guard lock(mu_);
  prompt_tokens_ += r.usage.prompt_tokens;
  completion_tokens_ += r.usage.completion_tokens;
  cached_prompt_tokens_ += r.usage.cached_prompt_tokens;
  ++finishes_[finish_reason_name(r.finish)];
  latency_.observe(seconds);
  if (first_delta_seconds >= 0) first_delta_.observe(first_delta_seconds);
}

void Metrics::set_in_flight(int64_t active, int64_t queued) {
  std::lock_guard lock(mu_);
  active_ = active;
  queued_ = queued;
}

std::string Metrics::prometheus_text() const {
  std::lock_guard lock(mu_);
  std::string out;
  header(out, "gemma4_http_requests_total", "HTTP requests by route and status code.", "counter");
  for (const auto& [key, n] : requests_)
    out += "gemma4_http_requests_total{route=\"" + key.first + "\",status=\"" + std::to_string(key.second) + "\"} " +
           std::to_string(n) + "\n";
  header(out, "gemma4_generations_total", "Finished generations by finish reason.", "counter");
  for (const auto& [reason, n] : finishes_)
    out += "gemma4_generations_total{finish_reason=\"" + reason + "\"} " + std::to_string(n) + "\n";
  header(out, "gemma4_prompt_tokens_total", "Prompt tokens processed or reused.", "counter");
  out += "gemma4_prompt_tokens_total " + std::to_string(prompt_tokens_) + "\n";
  header(out, "gemma4_prompt_tokens_cached_total", "Prompt tokens reused from the prefix cache.", "counter");
  out += "gemma4_prompt_tokens_cached_total " + std::to_string(cached_prompt_tokens_) + "\n";
  header(out, "gemma4_completion_tokens_total", "Tokens generated.", "counter");
  out += "gemma4_completion_tokens_total " + std::to_string(completion_tokens_) + "\n";
  header(out, "gemma4_requests_active", "Generations running now.", "gauge");
  out += "gemma4_requests_active " + std::to_string(active_) + "\n";
  header(out, "gemma4_requests_queued", "Requests waiting for a free slot.", "gauge");
  out += "gemma4_requests_queued " + std::to_string(queued_) + "\n";
  latency_.write(out, "gemma4_request_duration_seconds", "Chat completion time from admission to the last token.");
  first_delta_.write(out, "gemma4_time_to_first_delta_seconds", "Time from admission to the first streamed text.");
  return out;
}

}  // namespace gemma4::server
