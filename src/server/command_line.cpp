#include "doorman/server/command_line.hpp"

#include <charconv>
#include <string>

#include "doorman/base/printable.hpp"
#include "doorman/cli/options.hpp"
#include "doorman/server/password_source.hpp"
#include "doorman/server/privileges.hpp"

namespace doorman::server {
namespace {

// An octal file mode such as 0660 or 660.
Result<unsigned> parse_file_mode(std::string_view text) {
  unsigned mode = 0;
  const auto [end, failure] = std::from_chars(text.data(), text.data() + text.size(), mode, 8);
  if (text.empty() || failure != std::errc{} || end != text.data() + text.size() || mode > 0777) {
    return Error::described("parse mode", quoted(text),
                            "expected an octal file mode from 0 to 0777, such as 0660");
  }
  return mode;
}

// Sets config.password from the one source given (the default "1" only when none is) and
// says which it was, for the errors that follow. DOORMAN_PASSWORD is scrubbed whatever happens.
// On a reload, `kept` is the password the environment gave at start, which yields to a source the
// configuration now names.
Result<std::string, UsageError> take_password(const CommandLine& line, Config& config,
                                              const std::optional<std::string>* kept) {
  const std::string variable = kPasswordVariable;
  if (kept != nullptr && *kept) {
    config.environment_password = **kept;
    if (!line.password && !line.password_file) {
      config.password = **kept;
      config.password_from_environment = true;
      return variable;
    }
  }
  const std::optional<std::string> from_environment =
      kept != nullptr ? std::nullopt : take_password_from_environment();
  if (from_environment && line.password) {
    return UsageError{"", variable + " is set and --password is given: use one password source"};
  }
  if (from_environment && line.password_file) {
    return UsageError{"",
                      variable + " is set and --password-file is given: use one password source"};
  }
  if (line.password && line.password_file) {
    return UsageError{"--password-file", "cannot be used with --password: use one password source"};
  }
  if (from_environment) {
    config.password = *from_environment;
    config.environment_password = *from_environment;
    config.password_from_environment = true;
    return variable;
  }
  if (line.password_file) {
    std::optional<uid_t> run_as;
    if (config.run_as) run_as = config.run_as->uid;
    auto read = read_password_file(*line.password_file, run_as);
    if (!read) return UsageError{"--password-file", read.error().message()};
    config.password = std::move(read->password);
    if (read->warning) config.warnings.push_back(*read->warning);
    return std::string("--password-file");
  }
  if (line.password) config.password = *line.password;
  return std::string("--password");
}

Result<Config, UsageError> finish_options(const CommandLine& line,
                                          const std::optional<std::string>* kept_password);

Result<Config, UsageError> finish_with_file(CLI::App& app, CommandLine& line,
                                            const std::optional<std::string>* kept_password) {
  ConfigOrigins origins;
  if (line.config_file) {
    if (auto applied = apply_config_file(app, *line.config_file, origins); !applied) {
      return std::move(applied).error();
    }
  }
  auto config = finish_options(line, kept_password);
  if (!config) return located(std::move(config).error(), origins);
  return config;
}

}  // namespace

void define_options(CLI::App& app, CommandLine& line) {
  Config& config = line.config;
  app.add_option("--listen", line.listen,
                 "address to serve, repeatable: host:port, [v6]:port, *:port, [::]:port, "
                 "unix:/path, unix:@abstract (default localhost:8001)")
      ->type_name("ADDR");
  line.type = options::add_socket_type(app, config.type);
  app.add_option("--backlog", config.backlog,
                 "listen queue length, at least 1 (the tutorial's is 5; a short queue drops "
                 "connections under a burst)")
      ->type_name("N")
      ->default_str("somaxconn")
      ->check(options::whole_number("backlog", 1, 1 << 20));
  options::add_duration(app, "--timeout", config.timeout,
                        "how long a client has to send its request");
  app.add_option("--read-size", config.read_size,
                 "the request is the first read of at most this many bytes (1-65536)")
      ->type_name("N")
      ->capture_default_str()
      ->check(options::whole_number("read size", 1, 65536));
  app.add_option("--password", line.password,
                 "the request that is welcomed; every user can read it in ps: prefer "
                 "--password-file or the DOORMAN_PASSWORD environment variable")
      ->type_name("TEXT")
      ->default_str(config.password);
  app.add_option("--password-file", line.password_file,
                 "read the password from the first line of this file (before dropping "
                 "privileges); refused if group or others may write it, or if it is owned by "
                 "a user other than root or the server's (--user)")
      ->type_name("PATH");
  app.add_option("--user", line.user,
                 "once bound and the password read, become this user (setgroups, setgid, "
                 "setuid); Unix socket files (--metrics' too) and the --pid-file are handed over "
                 "to it")
      ->type_name("NAME");
  app.add_option("--group", line.group,
                 "with --user: this group alone instead of the user's primary and "
                 "supplementary groups; not root")
      ->type_name("NAME");
  app.add_option("--threads", config.threads, "worker threads (default: one per CPU)")
      ->type_name("N")
      ->check(options::whole_number("threads", 1, 1024));
  app.add_option("--max-connections", config.max_connections,
                 "beyond this many open connections, new ones are closed at once "
                 "(default and most: what the descriptor limit allows)")
      ->type_name("N")
      ->check(options::whole_number("max connections", 1, 1 << 30));
  app.add_option("--unix-mode", line.unix_mode, "file mode of Unix socket files, in octal")
      ->type_name("OCTAL")
      ->capture_default_str();
  options::add_duration(app, "--linger-timeout", config.linger_timeout,
                        "after replying to a request that filled the read, discard what the "
                        "client still sends for at most this long before closing");
  options::add_duration(app, "--drain-timeout", config.drain_timeout,
                        "on SIGINT or SIGTERM, how long the connections in flight have to "
                        "finish (default: --timeout)")
      ->default_str("--timeout");
  app.add_flag("--defer-accept", config.defer_accept,
               "TCP_DEFER_ACCEPT: the kernel hands over a connection only once data has "
               "arrived, or once it stops deferring (after about --timeout). Cheaper per "
               "connection, but a silent client's 'time out' comes after about twice --timeout");
  app.add_option_function<std::string>(
         "--engine",
         [&config](const std::string& text) {
           if (text == "epoll") {
             config.engine = Engine::epoll;
           } else if (text == "io_uring") {
             config.engine = Engine::io_uring;
           } else {
             throw CLI::ValidationError("--engine",
                                        doorman::quoted(text) + " is neither epoll nor io_uring");
           }
         },
         "how stream connections are served: epoll (a system call per step) or io_uring "
         "(multishot accept, operations submitted in batches); io_uring falls back to epoll "
         "with a warning where the kernel or a seccomp filter refuses it. Datagram sockets "
         "use epoll either way")
      ->type_name("epoll|io_uring")
      ->default_str("epoll");
  app.add_flag("--proxy-protocol", config.proxy_protocol,
               "every connection starts with a PROXY protocol header, v1 or v2 (HAProxy's "
               "send-proxy, send-proxy-v2): its source is the client that is logged; a "
               "connection without a valid one is closed unanswered");
  app.add_option_function<unsigned>(
         "--dgram-rate", [&config](const unsigned& rate) { config.dgram_rate = rate; },
         "datagram mode: replies a second to one source address (any port, across all "
         "threads), as many at once; 0: no cap (default: " +
             std::to_string(kDefaultDgramRate) +
             " for every source but loopback and Unix ones; a value given applies to all)")
      ->type_name("N")
      ->check(options::whole_number("dgram rate", 0, 1'000'000));
  app.add_option("--log-level", line.log_level, "debug, info, warning or error")
      ->type_name("LEVEL")
      ->capture_default_str();
  app.add_option("--metrics", line.metrics,
                 "serve Prometheus metrics at /metrics and a status page at / over HTTP on this "
                 "address (any --listen form; port 0: the kernel picks one)")
      ->type_name("ADDR");
  app.add_option("--log-format", line.log_format,
                 "text, or json: one object per line with time, level, msg, and event, peer and a "
                 "summary's counts where they apply")
      ->type_name("FORMAT")
      ->capture_default_str();
  app.add_option("--pid-file", config.pid_file,
                 "once serving, write the process id to this file (atomically, before --user "
                 "takes effect); removed on exit unless it names another process (the one a "
                 "SIGUSR2 upgrade started), or emptied where --user may not remove it")
      ->type_name("PATH");
  app.add_option("--config", line.config_file,
                 "read options from this TOML file, each under its long name (listen = "
                 "[\"127.0.0.1:8001\"], timeout = \"5s\"); the command line overrides it; "
                 "SIGHUP reads it again")
      ->type_name("FILE");
}

Result<Config, UsageError> finish(CLI::App& app, CommandLine& line) {
  return finish_with_file(app, line, nullptr);
}

Result<Config, UsageError> reread(int argc, const char* const* argv, const Config& running) {
  CLI::App app;
  CommandLine line;
  define_options(app, line);
  app.set_version_flag("--version", "");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return UsageError{"", error.what()};
  }
  return finish_with_file(app, line, &running.environment_password);
}

namespace {

Result<Config, UsageError> finish_options(const CommandLine& line,
                                          const std::optional<std::string>* kept_password) {
  Config config = line.config;
  config.type_given = line.type != nullptr && line.type->count() > 0;
  for (const std::string& text : line.listen) {
    auto address = Address::parse(text, Address::PortZero::allowed);
    if (!address) return UsageError{"--listen", address.error().reason()};
    config.listen.push_back(*address);
  }
  if (!line.metrics.empty()) {
    auto address = Address::parse(line.metrics, Address::PortZero::allowed);
    if (!address) return UsageError{"--metrics", address.error().reason()};
    config.metrics = *address;
  }
  auto level = parse_log_level(line.log_level);
  if (!level) return UsageError{"--log-level", level.error().reason()};
  config.log_level = *level;
  auto format = parse_log_format(line.log_format);
  if (!format) return UsageError{"--log-format", format.error().reason()};
  config.log_format = *format;
  auto mode = parse_file_mode(line.unix_mode);
  if (!mode) return UsageError{"--unix-mode", mode.error().reason()};
  config.unix_mode = *mode;
  if (config.timeout.count() <= 0) return UsageError{"--timeout", "must be more than 0"};
  if (config.proxy_protocol && config.type == SocketType::datagram) {
    return UsageError{"--proxy-protocol", "needs stream sockets: a datagram has no header"};
  }

  // Before the password: who may own a password file depends on the user the server becomes.
  if (line.group && !line.user) return UsageError{"--group", "needs --user"};
  if (line.user) {
    auto identity = resolve_identity(*line.user, line.group);
    if (!identity) {
      const std::string& operation = identity.error().operation();
      const bool group_at_fault = operation == "look up group" || operation == "run as group";
      return UsageError{group_at_fault ? "--group" : "--user", identity.error().message()};
    }
    config.run_as = std::move(identity).value();
  }

  auto source = take_password(line, config, kept_password);
  if (!source) return std::move(source).error();
  if (config.password.empty()) return UsageError{*source, "the password must not be empty"};
  if (config.password.size() > config.read_size) {
    return UsageError{*source,
                      "the password is longer than --read-size: no request could match it"};
  }

  return config;
}

}  // namespace

}  // namespace doorman::server
