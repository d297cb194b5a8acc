#include "ui/interrupt.h"

#include <csignal>

namespace gemma4::ui {
namespace {

volatile std::sig_atomic_t g_requested = 0;
struct sigaction g_previous;

void on_sigint(int) {
  if (g_requested) {
    // Nobody reacted to the first Ctrl-C: behave like the default and end the program.
    sigaction(SIGINT, &g_previous, nullptr);
    std::raise(SIGINT);
    return;
  }
  g_requested = 1;
}

}  // namespace

InterruptScope::InterruptScope() {
  g_requested = 0;
  struct sigaction action = {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &g_previous);
}

InterruptScope::~InterruptScope() { sigaction(SIGINT, &g_previous, nullptr); }

bool InterruptScope::requested() { return g_requested != 0; }
void InterruptScope::clear() { g_requested = 0; }

}  // namespace gemma4::ui
