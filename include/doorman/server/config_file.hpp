#pragma once
// --config FILE (B11): a TOML file that holds doorman-server's options under their long names
// (`listen = ["127.0.0.1:8001"]`, `timeout = "5s"`, `backlog = 5`, `defer-accept = true`).
// Main thread.
//
// Each value is handed to the command-line option of the same name, as if it had been typed, so
// the file and the command line share one set of checks; an option the command line gives is
// left as the command line says. Every error is one line naming the file, the line and the key.

#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <string_view>

#include "doorman/base/failure.hpp"
#include "doorman/base/result.hpp"

namespace doorman::server {

// Where each option taken from the file was written ("--listen" -> "FILE:3: listen"), so that a
// check made after parsing (finish()) can point at the file rather than the command line.
using ConfigOrigins = std::map<std::string, std::string>;

// Reads `path` and applies every key the command line did not give to `app`'s options (app has
// already parsed the command line). Unknown keys, wrong types and values the option refuses are
// usage errors; nothing is applied from a file with a syntax error.
Result<void, UsageError> apply_config_file(CLI::App& app, const std::string& path,
                                           ConfigOrigins& origins);

// The same for the file's text, already read: `path` only names it in the errors.
Result<void, UsageError> apply_config_text(CLI::App& app, std::string_view text,
                                           const std::string& path, ConfigOrigins& origins);

// `error`, pointed at the file when its option came from there.
UsageError located(UsageError error, const ConfigOrigins& origins);

}  // namespace doorman::server
