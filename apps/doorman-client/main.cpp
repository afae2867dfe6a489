// doorman-client: the tutorial's client.py. Connects, waits, sends the message and prints the
// reply; every failure is one line on stderr and its own exit status.

#include <sysexits.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "doorman/cli/options.hpp"
#include "doorman/client/client.hpp"

int main(int argc, char** argv) {
  using namespace doorman;
  client::Config config{.server = client::default_server()};
  std::string server_text = config.server.to_string();

  CLI::App app{"The tutorial's socket client: connect, wait, send a message, print the reply.",
               "doorman-client"};
  app.footer(
      "Exit status: 0 the reply was printed; 64 a bad option; 68 a host that does not resolve;\n"
      "69 cannot connect; 71 another system error; 74 cannot write to stdout; 75 no reply\n"
      "within --reply-timeout; 76 the server closed the connection without a reply.");
  app.add_option("--connect", server_text,
                 "server address: host:port, [v6]:port, unix:/path, unix:@abstract")
      ->type_name("ADDR")
      ->capture_default_str();
  options::add_socket_type(app, config.type);
  options::add_duration(app, "--delay", config.delay, "wait this long after connecting");
  app.add_option("--message", config.message, "the bytes to send (no newline is added)")
      ->type_name("TEXT")
      ->capture_default_str();
  options::add_duration(app, "--connect-timeout", config.connect_timeout,
                        "give up connecting after this long");
  options::add_duration(app, "--reply-timeout", config.reply_timeout,
                        "give up waiting for the reply after this long");
  app.add_option("--read-size", config.read_size, "the most bytes of the reply read")
      ->type_name("N")
      ->check(options::whole_number("read size", 1, 65536))
      ->capture_default_str();

  return options::run(app, argc, argv, [&]() -> Result<void, Failure> {
    auto server = Address::parse(server_text);
    if (!server) return usage_failure({"--connect", server.error().reason()});
    config.server = *server;

    auto reply = client::run(config);
    if (!reply) return std::move(reply).error();
    reply->push_back('\n');
    if (std::fwrite(reply->data(), 1, reply->size(), stdout) != reply->size() ||
        std::fflush(stdout) != 0) {
      return Failure{EX_IOERR, std::string("write to stdout: ") + std::strerror(errno)};
    }
    return {};
  });
}
