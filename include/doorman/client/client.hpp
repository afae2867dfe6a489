#pragma once
// The tutorial's client.py: connect, wait, send the message, read the reply. Calling thread.

#include <chrono>
#include <cstddef>
#include <string>

#include "doorman/base/duration.hpp"
#include "doorman/base/failure.hpp"
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

// The reply's bytes, exactly as received. Each kind of failure has its own exit status, so
// scripts can tell them apart: EX_NOHOST a name that does not resolve, EX_UNAVAILABLE no
// connection, EX_PROTOCOL closed without a reply, EX_TEMPFAIL no reply in time, EX_OSERR any
// other system error; the message names the address and the reason.
Result<std::string, Failure> run(const Config& config);

}  // namespace doorman::client
