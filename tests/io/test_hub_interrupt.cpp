// Ctrl-C while an InterruptScope is alive raises a flag instead of ending the process.
#include <gtest/gtest.h>

#include <csignal>

#include "ui/interrupt.h"

namespace gemma4::ui {
namespace {

TEST(HubUi, CtrlCStopsTheAnswerNotTheProgram) {
  InterruptScope scope;
  EXPECT_FALSE(InterruptScope::requested());
  std::raise(SIGINT);  // the process survives
  EXPECT_TRUE(InterruptScope::requested());
  InterruptScope::clear();
  EXPECT_FALSE(InterruptScope::requested());
}

}  // namespace
}  // namespace gemma4::ui
