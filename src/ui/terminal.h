// Terminal output shared by the commands: a progress bar, the after-answer statistics line,
// and colours that tell thinking from the answer. Everything degrades to plain text (or to
// silence, for the progress bar) when the stream is not a terminal or NO_COLOR is set.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "io/hub.h"

namespace gemma4::ui {

bool is_terminal(FILE* stream);

// "1.5 GB", "12.0 MB", "512 B" (decimal units, as download sizes are quoted).
std::string format_bytes(uint64_t bytes);
// "0:42", "1:02:03".
std::string format_duration(double seconds);

// One progress line: "label  45% [#########           ] 1.2 GB / 2.6 GB  35.1 MB/s  ETA 0:40".
// `total` 0 means unknown (no percentage or ETA); `rate` in units per second. `bytes` picks
// byte formatting for done/total/rate, else they are plain counts.
std::string progress_line(const std::string& label, uint64_t done, uint64_t total, double rate, bool bytes,
                          int bar_width = 24);

// A progress bar redrawn in place on stderr at most ~10 times a second. Disabled bars print
// nothing. finish() draws the final state and ends the line.
class ProgressBar {
 public:
  ProgressBar(std::string label, uint64_t total, bool bytes, bool enabled);
  ~ProgressBar();
  void update(uint64_t done, uint64_t total = 0);
  void finish();

 private:
  void draw(bool final);
  std::string label_;
  uint64_t total_, done_ = 0, start_done_ = 0;
  bool bytes_, enabled_, finished_ = false, started_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// A download progress callback for hub::HubOptions: one bar per file on a terminal, one
// line per finished file otherwise, nothing when quiet.
hub::ProgressFn download_progress(bool quiet);

// Timings of one generation, printed after the answer.
struct RunStats {
  double load_seconds = 0;         // reading the model (0 when already loaded)
  double first_token_seconds = 0;  // request start to the first generated token
  int64_t prompt_tokens = 0;
  double prompt_seconds = 0;       // prefill time
  int64_t generated_tokens = 0;
  double generate_seconds = 0;     // time spent producing generated_tokens
  double total_seconds = 0;
};
// "load 2.31 s · first token 0.84 s · prompt 57 tok, 68.2 tok/s · generated 120 tok, 15.3 tok/s · total 9.12 s"
std::string format_stats(const RunStats& stats);

// Colours for streamed output: thinking dim/grey, answer plain, notices and errors highlighted.
class Style {
 public:
  explicit Style(FILE* stream);  // colour only on a terminal and without NO_COLOR
  explicit Style(bool color) : color_(color) {}
  bool color() const { return color_; }
  std::string thinking(const std::string& text) const { return wrap("\x1b[2;3m", text); }  // dim italic
  std::string answer(const std::string& text) const { return text; }
  std::string notice(const std::string& text) const { return wrap("\x1b[36m", text); }  // cyan
  std::string error(const std::string& text) const { return wrap("\x1b[1;31m", text); }   // bold red
  // Opening / closing a colour around text streamed in pieces.
  std::string begin_thinking() const { return color_ ? "\x1b[2;3m" : ""; }
  std::string end() const { return color_ ? "\x1b[0m" : ""; }

 private:
  std::string wrap(const char* code, const std::string& text) const {
    return color_ ? code + text + "\x1b[0m" : text;
  }
  bool color_;
};

// Writes a streamed reply whose pieces are either thinking or answer, keeping the two visibly
// apart: with colour, thinking is dim; without, it sits between "[thinking]" / "[answer]" lines.
class ReplyWriter {
 public:
  ReplyWriter(FILE* out, Style style) : out_(out), style_(style) {}
  void thinking(const std::string& piece);
  void answer(const std::string& piece);
  void finish();  // resets colours, ends the line; the writer can then start a new reply

 private:
  enum class Part { none, thinking, answer };
  void switch_to(Part part);
  FILE* out_;
  Style style_;
  Part part_ = Part::none;
  bool at_line_start_ = true;
};

}  // namespace gemma4::ui
