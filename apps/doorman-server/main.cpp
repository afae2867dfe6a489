// doorman-server: the tutorial's server.py as an event-driven engine. Options -> Config -> serve.

#include <cstdio>
#include <string>
#include <vector>

#include "doorman/server/server.hpp"
#include "doorman/util/options.hpp"

int main(int argc, char** argv) {
  using namespace doorman;
  server::Config config;
  std::vector<std::string> listen_texts;
  std::string log_level = "info";
  std::string unix_mode = "0660";

  CLI::App app{
      "The tutorial's socket server: every client gets --timeout to send the password "
      "and is answered 'welcome to server!' or 'please go out!'.",
      "doorman-server"};
  app.add_option("--listen", listen_texts,
                 "address to serve, repeatable: host:port, [v6]:port, *:port, [::]:port, "
                 "unix:/path, unix:@abstract (default localhost:8001)")
      ->type_name("ADDR");
  options::add_socket_type(app, config.type);
  app.add_option("--backlog", config.backlog, "listen queue length, at least 1")
      ->type_name("N")
      ->capture_default_str()
      ->check(options::whole_number("backlog", 1, 1 << 20));
  options::add_duration(app, "--timeout", config.timeout,
                        "how long a client has to send its request");
  app.add_option("--read-size", config.read_size,
                 "the request is the first read of this many bytes")
      ->type_name("N")
      ->capture_default_str()
      ->check(options::whole_number("read size", 1, 65536));
  app.add_option("--password", config.password, "the request that is welcomed")
      ->type_name("TEXT")
      ->capture_default_str();
  app.add_option("--threads", config.threads, "worker threads (default: one per CPU)")
      ->type_name("N")
      ->check(options::whole_number("threads", 1, 1024));
  app.add_option("--max-connections", config.max_connections,
                 "beyond this many open connections, new ones are closed at once "
                 "(default: what the descriptor limit allows)")
      ->type_name("N")
      ->check(options::whole_number("max connections", 1, 1 << 30));
  app.add_option("--unix-mode", unix_mode, "file mode of Unix socket files, in octal")
      ->type_name("OCTAL")
      ->capture_default_str();
  options::add_duration(app, "--linger-timeout", config.linger_timeout,
                        "after replying to a request that filled the read, discard what the "
                        "client still sends for at most this long before closing");
  app.add_flag("--defer-accept", config.defer_accept,
               "TCP_DEFER_ACCEPT: the kernel hands over a connection only once it has data. "
               "Cheaper per connection, but a silent client is never accepted, so it gets no "
               "'time out' line: the kernel drops it");
  app.add_option("--log-level", log_level, "debug, info, warning or error")
      ->type_name("LEVEL")
      ->capture_default_str();

  return options::run(app, argc, argv, [&] {
    const auto usage = [](const std::string& option, const std::string& why) {
      std::fprintf(stderr, "doorman-server: %s: %s\n", option.c_str(), why.c_str());
      return EX_USAGE;
    };
    for (const std::string& text : listen_texts) {
      auto address = Address::parse(text, Address::PortZero::allowed);
      if (!address) return usage("--listen", address.error().reason());
      config.listen.push_back(*address);
    }
    auto level = server::parse_log_level(log_level);
    if (!level) return usage("--log-level", level.error().reason());
    config.log_level = *level;
    auto mode = options::parse_file_mode(unix_mode);
    if (!mode) return usage("--unix-mode", mode.error().reason());
    config.unix_mode = *mode;
    if (config.timeout.count() <= 0) return usage("--timeout", "must be more than 0");
    if (config.password.empty()) return usage("--password", "must not be empty");
    if (config.password.size() > config.read_size) {
      return usage("--password", "longer than --read-size: no request could match it");
    }

    const server::Log log(config.log_level);
    if (auto served = server::serve(config, log); !served) {
      std::fprintf(stderr, "doorman-server: %s\n", served.error().message().c_str());
      return served.error().code() == 0 ? EX_UNAVAILABLE : EX_OSERR;
    }
    return EX_OK;
  });
}
