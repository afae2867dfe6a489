// doorman-server: the tutorial's server.py as an event-driven engine. Options -> Config -> serve.

#include "doorman/cli/options.hpp"
#include "doorman/server/command_line.hpp"
#include "doorman/server/server.hpp"

int main(int argc, char** argv) {
  using namespace doorman;
  CLI::App app{
      "The tutorial's socket server: every client gets --timeout to send the password "
      "and is answered 'welcome to server!' or 'please go out!'.",
      "doorman-server"};
  app.footer(
      "Signals: SIGINT, SIGTERM stop gracefully; SIGHUP reloads --config and the password\n"
      "file; SIGUSR1 logs the counters; SIGUSR2 upgrades: starts the binary again, hands it\n"
      "the listening sockets and, once it serves, stops gracefully.\n"
      "Exit status: 0 after SIGINT or SIGTERM; 64 a bad option; 69 an address that\n"
      "cannot be served (in use, unresolvable); 71 another system error; 77 no permission.");
  server::CommandLine line;
  server::define_options(app, line);

  // Before anything could replace the binary in place.
  const server::Relaunch relaunch = server::relaunch_of(argc, argv);
  return options::run(app, argc, argv, [&]() -> Result<void, Failure> {
    auto config = server::finish(app, line);
    if (!config) return usage_failure(config.error());
    // The log goes out of scope on return, its queued lines written, before run() prints a
    // failure: the failure stays the last line.
    const server::Log log(config->log_level, config->log_format);
    const server::Reread reread = [argc, argv](const server::Config& running) {
      return server::reread(argc, argv, running);
    };
    return server::serve(*config, log, reread, relaunch);
  });
}
