// The Asio reference (P1, P2): the protocol as a well-written standalone Asio server with C++20
// coroutines would serve it, to show where a good general-purpose library lands against the
// floor.
//
//   asio_server [--threads N] [--timeout SECONDS] PORT   (binds 127.0.0.1:PORT; 0: one is picked)
//
// Each thread runs its own io_context (concurrency hint 1: no locking) with its own acceptor on
// the same port through SO_REUSEPORT, so the kernel spreads connections and threads share
// nothing. A session first reads without waiting: the request is usually there already, and
// then no timer is armed at all. Only a client that has not spoken yet gets the read raced
// against a steady_timer (awaitable_operators ||): whichever finishes first cancels the other.
#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <sys/socket.h>

namespace {

using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto tupled = asio::experimental::as_tuple(asio::use_awaitable);

constexpr std::string_view welcome = "welcome to server!";
constexpr std::string_view go_out = "please go out!";

asio::awaitable<void> answer(tcp::socket& client, std::string_view request) {
  std::string_view reply = request == "1" ? welcome : go_out;
  co_await asio::async_write(client, asio::buffer(reply), tupled);
}

asio::awaitable<void> serve(tcp::socket client, std::chrono::milliseconds timeout) {
  char request[1024];
  asio::error_code error;
  client.non_blocking(true, error);
  std::size_t got = client.read_some(asio::buffer(request), error);
  if (error == asio::error::would_block) {
    asio::steady_timer deadline(client.get_executor(), timeout);
    auto first = co_await (client.async_read_some(asio::buffer(request), tupled) ||
                           deadline.async_wait(tupled));
    if (first.index() == 1) co_return;  // timed out: the socket closes on the way out
    std::tie(error, got) = std::get<0>(first);
  }
  if (error == asio::error::eof) {
    got = 0;  // the tutorial answers an empty read like a wrong password
  } else if (error) {
    co_return;
  }
  co_await answer(client, std::string_view(request, got));
}

asio::awaitable<void> accept_all(tcp::acceptor& acceptor, std::chrono::milliseconds timeout) {
  for (;;) {
    auto [error, client] = co_await acceptor.async_accept(tupled);
    if (error) continue;  // e.g. out of descriptors, or the client already gone
    asio::co_spawn(acceptor.get_executor(), serve(std::move(client), timeout), asio::detached);
  }
}

tcp::acceptor open_acceptor(asio::io_context& context, unsigned short port) {
  tcp::acceptor acceptor(context);
  tcp::endpoint endpoint(asio::ip::make_address_v4("127.0.0.1"), port);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  int on = 1;
  ::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
  acceptor.bind(endpoint);
  acceptor.listen(4096);  // the kernel caps it at net.core.somaxconn
  return acceptor;
}

void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

[[noreturn]] void usage() {
  std::fputs("usage: asio_server [--threads N] [--timeout SECONDS] PORT\n", stderr);
  std::exit(64);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1;
  double timeout_seconds = 5;
  long port = -1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
      timeout_seconds = std::strtod(argv[++i], nullptr);
    } else if (port < 0) {
      char* end = nullptr;
      port = std::strtol(argv[i], &end, 10);
      if (*end != '\0' || port < 0 || port > 65535) usage();
    } else {
      usage();
    }
  }
  if (port < 0 || threads < 1 || timeout_seconds <= 0) usage();
  raise_descriptor_limit();
  const std::chrono::milliseconds timeout(static_cast<long>(timeout_seconds * 1000));

  try {
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    std::vector<tcp::acceptor> acceptors;
    auto bound = static_cast<unsigned short>(port);
    for (int i = 0; i < threads; ++i) {
      contexts.push_back(std::make_unique<asio::io_context>(1));
      acceptors.push_back(open_acceptor(*contexts.back(), bound));
      bound = acceptors.back().local_endpoint().port();  // port 0: the others join the first's
    }
    std::fprintf(stderr, "listening on 127.0.0.1:%u\n", static_cast<unsigned>(bound));
    std::vector<std::thread> running;
    for (int i = 0; i < threads; ++i) {
      asio::co_spawn(*contexts[static_cast<std::size_t>(i)],
                     accept_all(acceptors[static_cast<std::size_t>(i)], timeout), asio::detached);
      running.emplace_back([&context = *contexts[static_cast<std::size_t>(i)]] { context.run(); });
    }
    for (auto& thread : running)
      thread.join();
  } catch (const std::exception& failure) {
    std::fprintf(stderr, "asio_server: 127.0.0.1:%ld: %s\n", port, failure.what());
    return 71;
  }
}
