// The terminal helpers' text (progress line, sizes, statistics).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "ui/terminal.h"

namespace gemma4::ui {
namespace {

TEST(HubUi, FormatsSizesAndDurations) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1500), "1.5 kB");
  EXPECT_EQ(format_bytes(12'300'000), "12.3 MB");
  EXPECT_EQ(format_bytes(10'246'000'000ULL), "10.25 GB");
  EXPECT_EQ(format_duration(42.4), "0:42");
  EXPECT_EQ(format_duration(3723), "1:02:03");
}

TEST(HubUi, ProgressLineShowsPercentRateAndEta) {
  std::string line = progress_line("model.safetensors", 500'000'000, 1'000'000'000, 50'000'000, true, 10);
  EXPECT_EQ(line, "model.safetensors  50% [#####     ] 500.0 MB / 1.00 GB  50.0 MB/s  ETA 0:10");
  EXPECT_EQ(progress_line("x", 3'000, 0, 0, true), "x 3.0 kB");  // unknown size: no bar, no ETA
  EXPECT_EQ(progress_line("tokens", 7, 10, 0, false, 4), "tokens  70% [##  ] 7 / 10");
}

TEST(HubUi, StatsLine) {
  RunStats s;
  s.load_seconds = 2.5;
  s.first_token_seconds = 0.75;
  s.prompt_tokens = 50;
  s.prompt_seconds = 0.5;
  s.generated_tokens = 30;
  s.generate_seconds = 2;
  s.total_seconds = 5.25;
  EXPECT_EQ(format_stats(s),
            "load 2.50 s · first token 0.75 s · prompt 50 tok, 100.0 tok/s · generated 30 tok, 15.0 tok/s · "
            "total 5.25 s");
}

TEST(HubUi, StyleIsPlainWithoutColor) {
  Style plain(false), color(true);
  EXPECT_EQ(plain.thinking("hmm"), "hmm");
  EXPECT_EQ(plain.begin_thinking() + plain.end(), "");
  EXPECT_EQ(color.thinking("hmm"), "\x1b[2;3mhmm\x1b[0m");
}

}  // namespace
}  // namespace gemma4::ui

namespace gemma4::ui {
namespace {

std::string write_reply(bool color, const std::vector<std::pair<bool, std::string>>& pieces) {
  char* buf = nullptr;
  size_t size = 0;
  FILE* f = open_memstream(&buf, &size);
  ReplyWriter w(f, Style(color));
  for (const auto& [is_thinking, text] : pieces) is_thinking ? w.thinking(text) : w.answer(text);
  w.finish();
  std::fclose(f);
  std::string out(buf, size);
  std::free(buf);
  return out;
}

TEST(HubUi, ReplyWriterKeepsThinkingApart) {
  EXPECT_EQ(write_reply(false, {{false, "Hello"}, {false, " there."}}), "Hello there.\n");
  EXPECT_EQ(write_reply(false, {{true, "Let me"}, {true, " think."}, {false, "384,400 km."}}),
            "[thinking]\nLet me think.\n\n[answer]\n384,400 km.\n");
  EXPECT_EQ(write_reply(true, {{true, "Hmm.\n"}, {false, "Yes."}}), "\x1b[2;3mHmm.\n\x1b[0m\nYes.\n");
}

}  // namespace
}  // namespace gemma4::ui
