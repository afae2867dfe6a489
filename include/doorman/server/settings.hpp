#pragma once
// Settings: what a worker applies to each new connection and a reload (SIGHUP, B5) may change
// without rebinding. Immutable once posted: the main thread builds a new one for each reload
// and keeps every one it built for the server's life (a few hundred bytes a reload), so a
// worker may go on reading the one it has until it picks up the next; it never waits for a lock.

#include <cstddef>
#include <string>

#include "doorman/base/duration.hpp"
#include "doorman/server/config.hpp"

namespace doorman::server {

struct Settings {
  std::string password;
  Duration timeout{};
  size_t read_size = 0;
  Duration linger_timeout{};
};

inline Settings settings_of(const Config& config) {
  return Settings{config.password, config.timeout, config.read_size, config.linger_timeout};
}

}  // namespace doorman::server
