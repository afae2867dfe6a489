#pragma once
// doorman-server's command line: the options, with the tutorial's defaults (S11), and the checks
// CLI11 cannot make on its own. Main thread.

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "doorman/base/failure.hpp"
#include "doorman/base/result.hpp"
#include "doorman/server/config.hpp"
#include "doorman/server/config_file.hpp"

namespace doorman::server {

struct CommandLine {
  Config config;
  // Parsed after CLI11 is done, so the errors can name the option.
  std::vector<std::string> listen;
  std::string log_level = "info";
  std::string log_format = "text";
  std::string unix_mode = "0660";
  const CLI::Option* type = nullptr;  // was --type given?
  // The password sources (B10), of which at most one may be given, and the identity to drop to.
  std::optional<std::string> password;
  std::optional<std::string> password_file;
  std::optional<std::string> user;
  std::optional<std::string> group;
  std::string metrics;
  std::optional<std::string> config_file;  // --config (B11)
};

void define_options(CLI::App& app, CommandLine& line);

// The finished Config, or which option is wrong and why (in --config's file: which line). Applies
// --config's file to what the command line left unset (`app` has parsed the command line into
// `line`), takes DOORMAN_PASSWORD out of the environment (see password_source.hpp) and reads
// --password-file: main thread, before any other thread starts.
Result<Config, UsageError> finish(CLI::App& app, CommandLine& line);

// SIGHUP (B5): the same command line and its --config file read again, and the password file.
// DOORMAN_PASSWORD was scrubbed at start: the password it gave (`running`'s) is kept unless the
// file now names --password or --password-file. Main thread.
Result<Config, UsageError> reread(int argc, const char* const* argv, const Config& running);

}  // namespace doorman::server
