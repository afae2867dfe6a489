#pragma once
// The tutorial's client.py: connect, wait, send the message, read the reply. Calling thread.

#include <chrono>
#include <cstddef>
#include <string>

#include "doorman/base/duration.hpp"
#include "doorman/base/result.hpp"
#include "doorman/net/address.hpp"

namespace doorman::client {

struct Config {
  Address server;  // the tutorial's localhost:8001 unless told otherwise
  SocketType type = SocketType::stream;
  Duration delay = std::chrono::seconds(2);
  std::string message = "1";
  Duration connect_timeout = std::chrono::seconds(10);
  Duration reply_timeout = std::chrono::seconds(10);
  size_t read_size = 1024;  // the tutorial's recv(1024): the reply is the first read
};

Address default_server();

// Each failure is its own exit status, so scripts can tell them apart.
enum class Failure { resolve, connect, closed_without_reply, no_reply, io };

struct Failed {
  Failure failure;
  std::string message;  // one line, naming the address and the reason
};

int exit_status(Failure failure) noexcept;

// The reply's bytes, exactly as received.
Result<std::string, Failed> run(const Config& config);

}  // namespace doorman::client
