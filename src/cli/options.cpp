#include "doorman/cli/options.hpp"

#include <sysexits.h>

#include <charconv>

#include "doorman/version.hpp"

namespace doorman::options {

CLI::Option* add_duration(CLI::App& app, const std::string& name, Duration& target,
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

CLI::Option* add_socket_type(CLI::App& app, SocketType& target) {
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

CLI::Validator whole_number(std::string what, long long low, long long high) {
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

int run(CLI::App& app, int argc, char** argv, const std::function<Result<void, Failure>()>& body) {
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
    return report_failure(app.get_name(), {EX_USAGE, std::string(error.what()) + " (see --help)"});
  }
  auto done = body();
  if (!done) return report_failure(app.get_name(), done.error());
  return EX_OK;
}

}  // namespace doorman::options
