#include "ui/terminal.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>

namespace gemma4::ui {

bool is_terminal(FILE* stream) { return isatty(fileno(stream)) == 1; }

std::string format_bytes(uint64_t bytes) {
  char buf[32];
  const double b = static_cast<double>(bytes);
  if (bytes >= 1000000000ULL) std::snprintf(buf, sizeof buf, "%.2f GB", b / 1e9);
  else if (bytes >= 1000000ULL) std::snprintf(buf, sizeof buf, "%.1f MB", b / 1e6);
  else if (bytes >= 1000ULL) std::snprintf(buf, sizeof buf, "%.1f kB", b / 1e3);
  else std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  return buf;
}

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "?";
  long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

std::string progress_line(const std::string& label, uint64_t done, uint64_t total, double rate, bool bytes,
                          int bar_width) {
  auto amount = [&](uint64_t n) { return bytes ? format_bytes(n) : std::to_string(n); };
  std::string line = label;
  char buf[64];
  if (total > 0) {
    double fraction = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
    std::snprintf(buf, sizeof buf, " %3d%% [", static_cast<int>(fraction * 100));
    line += buf;
    int filled = static_cast<int>(fraction * bar_width);
    line += std::string(filled, '#') + std::string(bar_width - filled, ' ') + "] ";
    line += amount(done) + " / " + amount(total);
  } else {
    line += " " + amount(done);
  }
  if (rate > 0) {
    line += "  " + (bytes ? format_bytes(static_cast<uint64_t>(rate)) : std::to_string(std::lround(rate))) + "/s";
    if (total > done) line += "  ETA " + format_duration(static_cast<double>(total - done) / rate);
  }
  return line;
}

ProgressBar::ProgressBar(std::string label, uint64_t total, bool bytes, bool enabled)
    : label_(std::move(label)), total_(total), bytes_(bytes), enabled_(enabled),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  if (started_ && !finished_) std::fputc('\n', stderr);  // leave the cursor on a fresh line
}

void ProgressBar::update(uint64_t done, uint64_t total) {
  if (total) total_ = total;
  if (!started_) start_done_ = done;  // a resumed download's rate counts only new bytes
  done_ = done;
  auto now = std::chrono::steady_clock::now();
  if (started_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw(false);
}

void ProgressBar::finish() {
  if (finished_) return;
  draw(true);
  finished_ = true;
}

void ProgressBar::draw(bool final) {
  started_ = true;
  if (!enabled_) return;
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = elapsed > 0.2 ? static_cast<double>(done_ - start_done_) / elapsed : 0.0;
  // \x1b[K clears what a longer previous line left behind.
  std::fprintf(stderr, "\r%s\x1b[K%s", progress_line(label_, done_, total_, rate, bytes_).c_str(), final ? "\n" : "");
  std::fflush(stderr);
}

hub::ProgressFn download_progress(bool quiet) {
  if (quiet || std::getenv("HF_HUB_DISABLE_PROGRESS_BARS")) return {};
  bool tty = is_terminal(stderr);
  auto bars = std::make_shared<std::map<std::string, std::unique_ptr<ProgressBar>>>();
  return [bars, tty](const hub::DownloadProgress& p) {
    auto& bar = (*bars)[p.file];
    if (!bar) bar = std::make_unique<ProgressBar>(p.file, p.total, true, tty);
    bar->update(p.done, p.total);
    if (p.finished) {
      bar->finish();
      if (!tty) std::fprintf(stderr, "downloaded %s (%s)\n", p.file.c_str(), format_bytes(p.done).c_str());
      bars->erase(p.file);
    }
  };
}

std::string format_stats(const RunStats& s) {
  auto rate = [](int64_t tokens, double seconds) { return seconds > 0 ? tokens / seconds : 0.0; };
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "load %.2f s · first token %.2f s · prompt %lld tok, %.1f tok/s · generated %lld tok, %.1f tok/s · "
                "total %.2f s",
                s.load_seconds, s.first_token_seconds, static_cast<long long>(s.prompt_tokens),
                rate(s.prompt_tokens, s.prompt_seconds), static_cast<long long>(s.generated_tokens),
                rate(s.generated_tokens, s.generate_seconds), s.total_seconds);
  return buf;
}

void ReplyWriter::switch_to(Part part) {
  if (part == part_) return;
  std::string text;
  if (part_ == Part::thinking) text += style_.end();
  if (part_ != Part::none) text += at_line_start_ ? "\n" : "\n\n";  // a blank line between parts
  // Without colour, labels mark thinking; an answer with no thinking before it needs none.
  bool label = !style_.color() && (part == Part::thinking || part_ == Part::thinking);
  if (label) text += part == Part::thinking ? "[thinking]\n" : "[answer]\n";
  if (part == Part::thinking) text += style_.begin_thinking();
  std::fputs(text.c_str(), out_);
  part_ = part;
  at_line_start_ = true;
}

void ReplyWriter::thinking(const std::string& piece) {
  if (piece.empty()) return;
  switch_to(Part::thinking);
  std::fputs(piece.c_str(), out_);
  at_line_start_ = piece.back() == '\n';
  std::fflush(out_);
}

void ReplyWriter::answer(const std::string& piece) {
  if (piece.empty()) return;
  switch_to(Part::answer);
  std::fputs(piece.c_str(), out_);
  at_line_start_ = piece.back() == '\n';
  std::fflush(out_);
}

void ReplyWriter::finish() {
  if (part_ == Part::thinking) std::fputs(style_.end().c_str(), out_);
  if (!at_line_start_) std::fputc('\n', out_);
  std::fflush(out_);
  part_ = Part::none;
  at_line_start_ = true;
}

Style::Style(FILE* stream) : color_(is_terminal(stream) && std::getenv("NO_COLOR") == nullptr) {}

}  // namespace gemma4::ui
