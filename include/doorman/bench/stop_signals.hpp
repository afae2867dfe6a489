#pragma once
// StopSignals: SIGINT and SIGTERM read from a signalfd instead of caught by a handler, so that a
// stop is one more descriptor for the generator's poll. They are blocked for as long as it lives,
// and every thread started meanwhile inherits the mask: they reach only the descriptor. Thread
// of its owner, which starts the workers.

#include <csignal>

#include "doorman/net/fd.hpp"

namespace doorman::bench {

class StopSignals {
 public:
  // Blocks the signals, then opens the descriptor; opened() says whether that worked (errno
  // says why not).
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  bool opened() const noexcept { return fd_.valid(); }
  int fd() const noexcept { return fd_.get(); }
  // The signal that has arrived since the last call, or 0 when none has.
  int take() const noexcept;

 private:
  sigset_t signals_{}, previous_{};
  Fd fd_;
};

}  // namespace doorman::bench
