#pragma once
// Command-line plumbing shared by the three programs' mains: typed options that validate their
// value, and one place that turns a bad command line into one line on stderr and exit 64.

#include <sysexits.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <functional>
#include <string>

#include "doorman/base/duration.hpp"
#include "doorman/base/printable.hpp"
#include "doorman/net/address.hpp"
#include "doorman/version.hpp"

namespace doorman::options {

inline CLI::Option* add_duration(CLI::App& app, const std::string& name, Duration& target,
                                 const std::string& description) {
  return app
      .add_option_function<std::string>(
          name,
          [name, &target](const std::string& text) {
            auto parsed = parse_duration(text);
            if (!parsed) throw CLI::ValidationError(name, parsed.error().reason());
            target = *parsed;
          },
          description)
      ->type_name("DUR")
      ->default_str(format_duration(target));
}

inline CLI::Option* add_socket_type(CLI::App& app, SocketType& target) {
  return app
      .add_option_function<std::string>(
          "--type",
          [&target](const std::string& text) {
            auto parsed = parse_socket_type(text);
            if (!parsed) throw CLI::ValidationError("--type", parsed.error().reason());
            target = *parsed;
          },
          "socket type: stream (TCP, Unix stream) or dgram (UDP, Unix datagram)")
      ->type_name("stream|dgram")
      ->default_str(std::string(to_string(target)));
}

// A whole number from `low` to `high`, checked before conversion so the message names the
// quantity: "backlog must be at least 1".
inline CLI::Validator whole_number(std::string what, long long low, long long high) {
  return CLI::Validator(
      [what, low, high](std::string& text) -> std::string {
        long long value = 0;
        const auto [end, failure] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (failure != std::errc{} || end != text.data() + text.size()) {
          return what + " must be a whole number";
        }
        if (value < low) return what + " must be at least " + std::to_string(low);
        if (value > high) return what + " must be at most " + std::to_string(high);
        return {};
      },
      "");
}

// An octal file mode such as 0660 or 660.
inline Result<unsigned> parse_file_mode(std::string_view text) {
  unsigned mode = 0;
  const auto [end, failure] = std::from_chars(text.data(), text.data() + text.size(), mode, 8);
  if (text.empty() || failure != std::errc{} || end != text.data() + text.size() || mode > 0777) {
    return Error::described("parse mode", quoted(text),
                            "expected an octal file mode from 0 to 0777, such as 0660");
  }
  return mode;
}

// Runs `body` after parsing; usage errors exit 64 (EX_USAGE) with one line naming the option.
inline int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  app.set_version_flag("--version", std::string(app.get_name()) + " " + std::string(kVersion));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForVersion& version) {
    return app.exit(version);
  } catch (const CLI::ParseError& error) {
    std::fprintf(stderr, "%s: %s (see --help)\n", app.get_name().c_str(), error.what());
    return EX_USAGE;
  }
  return body();
}

}  // namespace doorman::options
