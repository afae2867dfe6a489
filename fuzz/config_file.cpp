// The --config file's text (B11), bytes in, applied to doorman-server's own options as the file
// would be, then finished as the command line is. Properties: nothing throws out of it; every
// error is one printable line, with a reason, naming the file and a line of it; every option
// taken from the file is recorded as coming from FILE:LINE; no value holds a byte a command line
// could not (NUL); a finished configuration holds only values the options document
// (docs/man/doorman.toml.5, doorman-server --help).

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "check.hpp"
#include "doorman/base/failure.hpp"
#include "doorman/server/command_line.hpp"
#include "doorman/server/config_file.hpp"

namespace server = doorman::server;

namespace {

constexpr std::string_view kPath = "fuzz.toml";
constexpr doorman::Duration::rep kLongest = 1'000'000'000'000'000'000;  // parse_duration's most

// "fuzz.toml:LINE" at the start of `text`, with LINE one of the text's lines.
bool names_a_line_of(std::string_view text, std::string_view input) {
  const std::string prefix = std::string(kPath) + ":";
  if (text.substr(0, prefix.size()) != prefix) return false;
  text.remove_prefix(prefix.size());
  const size_t digits = std::min(text.find_first_not_of("0123456789"), text.size());
  if (digits == 0 || digits > 9) return false;
  const size_t line = std::stoul(std::string(text.substr(0, digits)));
  const size_t lines = static_cast<size_t>(std::count(input.begin(), input.end(), '\n')) + 1;
  return line >= 1 && line <= lines;
}

bool no_nul(const std::string& text) {
  return text.find('\0') == std::string::npos;
}
bool no_nul(const std::optional<std::string>& text) {
  return !text || no_nul(*text);
}

void check_error(const doorman::UsageError& error) {
  FUZZ_CHECK(!error.reason.empty());
  FUZZ_CHECK(is_one_printable_line(doorman::usage_failure(error).message));
}

bool within(doorman::Duration duration) {
  return duration.count() >= 0 && duration.count() <= kLongest;
}

void check_config(const server::Config& config) {
  FUZZ_CHECK(config.backlog == 0 || (config.backlog >= 1 && config.backlog <= (1 << 20)));
  FUZZ_CHECK(config.timeout.count() > 0 && within(config.timeout));
  FUZZ_CHECK(config.read_size >= 1 && config.read_size <= 65536);
  FUZZ_CHECK(config.threads <= 1024);
  FUZZ_CHECK(config.max_connections <= (size_t{1} << 30));
  FUZZ_CHECK(config.unix_mode <= 0777);
  FUZZ_CHECK(within(config.linger_timeout));
  FUZZ_CHECK(within(config.drain_timeout));
  FUZZ_CHECK(!config.dgram_rate || *config.dgram_rate <= 1'000'000);
  FUZZ_CHECK(!config.password.empty() && config.password.size() <= config.read_size);
  FUZZ_CHECK(!(config.proxy_protocol && config.type == doorman::SocketType::datagram));
  FUZZ_CHECK(!config.run_as);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // doorman-server's options, as its main defines them, with an empty command line.
  CLI::App app{"", "doorman-server"};
  server::CommandLine line;
  server::define_options(app, line);
  app.set_version_flag("--version", "");
  const char* const argv[] = {"doorman-server"};
  app.parse(1, argv);

  server::ConfigOrigins origins;
  const auto applied = server::apply_config_text(app, input, std::string(kPath), origins);
  if (!applied) {
    check_error(applied.error());
    FUZZ_CHECK(names_a_line_of(applied.error().option, input));
    return 0;
  }
  for (const auto& [option, origin] : origins) {
    FUZZ_CHECK(names_a_line_of(origin, input));
    FUZZ_CHECK(is_one_printable_line(origin));
  }

  // Every value is one a command line could have given, so none holds a NUL byte: the paths and
  // names would be cut short at it by the system calls they go to.
  FUZZ_CHECK(no_nul(line.password) && no_nul(line.password_file) && no_nul(line.user) &&
             no_nul(line.group) && no_nul(line.config.pid_file) && no_nul(line.metrics) &&
             no_nul(line.unix_mode) && no_nul(line.log_level) && no_nul(line.log_format));
  FUZZ_CHECK(std::all_of(line.listen.begin(), line.listen.end(),
                         [](const std::string& text) { return no_nul(text); }));

  // The password file and the user database are the system's, not the file's text: the fuzzer
  // is to read no file the bytes happen to name. --group alone is still refused.
  line.password_file.reset();
  if (line.user) line.group.reset();
  line.user.reset();
  const auto config = server::finish(app, line);
  if (!config) {
    // The command line is empty: whatever is wrong, the file wrote it.
    const doorman::UsageError error = server::located(config.error(), origins);
    check_error(error);
    FUZZ_CHECK(names_a_line_of(error.option, input));
    return 0;
  }
  check_config(*config);
  return 0;
}
