// doorman-server: the tutorial's server.py as an event-driven engine. Options -> Config -> serve.

#include <cerrno>
#include <cstdio>

#include "doorman/cli/options.hpp"
#include "doorman/server/command_line.hpp"
#include "doorman/server/server.hpp"

// sysexits: no permission (a reserved port), the address is unavailable, or the system failed.
static int exit_status(const doorman::Error& error) {
  if (error.code() == EACCES || error.code() == EPERM) return EX_NOPERM;
  const std::string& operation = error.operation();
  if (operation == "bind" || operation == "resolve" || operation == "listen") return EX_UNAVAILABLE;
  return EX_OSERR;
}

int main(int argc, char** argv) {
  using namespace doorman;
  CLI::App app{
      "The tutorial's socket server: every client gets --timeout to send the password "
      "and is answered 'welcome to server!' or 'please go out!'.",
      "doorman-server"};
  server::CommandLine line;
  server::define_options(app, line);

  return options::run(app, argc, argv, [&] {
    auto config = server::finish(line);
    if (!config) {
      std::fprintf(stderr, "doorman-server: %s: %s\n", config.error().option.c_str(),
                   config.error().reason.c_str());
      return EX_USAGE;
    }
    // The log is gone, its queued lines written, before an error is printed after them.
    auto served = [&] {
      const server::Log log(config->log_level, config->log_format);
      return server::serve(*config, log);
    }();
    if (!served) {
      std::fprintf(stderr, "doorman-server: %s\n", served.error().message().c_str());
      return exit_status(served.error());
    }
    return EX_OK;
  });
}
