// Ctrl-C that stops the current answer, not the program (for `run`, `chat`, `serve`).
// While an InterruptScope is alive, SIGINT only raises a flag the generation loop polls;
// a second Ctrl-C before the loop has noticed the first ends the program as usual.
#pragma once

namespace gemma4::ui {

class InterruptScope {
 public:
  InterruptScope();   // installs the handler
  ~InterruptScope();  // restores the previous one
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

  static bool requested();  // Ctrl-C pressed since the last clear()
  static void clear();      // call when starting the next answer
};

}  // namespace gemma4::ui
