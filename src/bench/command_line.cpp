#include "doorman/bench/command_line.hpp"

#include <unistd.h>

#include <cstdlib>

#include "doorman/bench/source_addresses.hpp"
#include "doorman/cli/options.hpp"

namespace doorman::bench {

void define_options(CLI::App& app, CommandLine& line) {
  Config& config = line.config;
  config.target = default_target();
  line.connect = config.target.to_string();
  // Progress is for someone watching; a script reading stderr gets only what went wrong.
  config.progress = ::isatty(STDERR_FILENO) == 1;

  app.add_option("--connect", line.connect,
                 "target: host:port, [v6]:port, unix:/path, unix:@abstract; without it only "
                 "loopback is used")
      ->type_name("ADDR")
      ->capture_default_str();
  app.add_option("--source", line.sources,
                 "bind each connection to the next of these local addresses (default: the "
                 "kernel's choice; 127.0.0.2, ... for more loopback connections than one address "
                 "has ports)")
      ->type_name("ADDR[,ADDR...]");
  options::add_socket_type(app, config.type);
  app.add_option("--concurrency", config.concurrency, "connections in flight at most")
      ->type_name("N")
      ->check(options::whole_number("concurrency", 1, 1'000'000))
      ->capture_default_str();
  app.add_option("--rate", config.rate,
                 "open loop: start R connections per second (default: closed loop)")
      ->type_name("R")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            char* end = nullptr;
            const double rate = std::strtod(text.c_str(), &end);
            if (text.empty() || end != text.c_str() + text.size()) {
              return "rate must be a number, such as 100 or 2.5";
            }
            return check_rate(rate);
          },
          ""));
  app.add_option("--count", line.count,
                 "stop after N connections (default 10000 without --duration)")
      ->type_name("N")
      ->check(options::whole_number("count", 1, 1'000'000'000'000));
  options::add_duration(app, "--duration", line.duration,
                        "stop after this long (with --count: at the first reached)")
      ->default_str("");
  app.add_option("--message", config.message, "the bytes each client sends")
      ->type_name("TEXT")
      ->capture_default_str();
  app.add_option("--expect", config.expect, "the reply that counts as success")
      ->type_name("TEXT")
      ->capture_default_str();
  app.add_option("--silent", config.silent, "also hold N connections open that never send")
      ->type_name("N")
      ->check(options::whole_number("silent connections", 0, 1'000'000));
  app.add_option("--slow", config.slow, "also run N clients that send only after --slow-delay")
      ->type_name("N")
      ->check(options::whole_number("slow clients", 0, 1'000'000));
  options::add_duration(app, "--slow-delay", config.slow_delay,
                        "how long a slow client waits before sending");
  options::add_duration(app, "--timeout", config.timeout,
                        "give up on a connection this long after its connect");
  app.add_option("--threads", config.threads, "event-loop threads of the generator")
      ->type_name("N")
      ->check(options::whole_number("threads", 1, 1024))
      ->capture_default_str();
  app.add_option("--max-errors", line.max_errors,
                 "exit 1 when the run has more than N errors (default: errors do not fail it)")
      ->type_name("N")
      ->check(options::whole_number("max errors", 0, 1'000'000'000'000));
  app.add_flag("--json", line.json, "print the result as one JSON object");
  app.add_flag_callback(
      "--progress", [&config] { config.progress = true; },
      "a progress line per second on stderr (default: if it is a terminal)");
  app.add_flag_callback(
      "--no-progress", [&config] { config.progress = false; }, "no progress line");
}

Result<Config, UsageError> finish(const CLI::App& app, const CommandLine& line) {
  Config config = line.config;
  auto target = Address::parse(line.connect);
  if (!target) return UsageError{"--connect", target.error().reason()};
  config.target = *target;
  config.target_named = app.count("--connect") > 0;
  if (app.count("--source") > 0) {
    auto sources = parse_sources(line.sources);
    if (!sources) {
      return UsageError{"--source", sources.error().address() + ": " + sources.error().reason()};
    }
    config.sources = std::move(sources).value();
  }
  if (app.count("--count") > 0) config.count = line.count;
  if (app.count("--duration") > 0) config.duration = line.duration;
  if (app.count("--max-errors") > 0) config.max_errors = line.max_errors;
  if (auto valid = validate(config); !valid) return UsageError{"", valid.error().reason()};
  return config;
}

}  // namespace doorman::bench
