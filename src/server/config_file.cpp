#include "doorman/server/config_file.hpp"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "doorman/base/error.hpp"
#include "doorman/base/printable.hpp"

namespace doorman::server {
namespace {

// The TOML types an option takes, from how the option is defined, so that a new option needs
// no entry here.
enum class ValueKind { boolean, whole_number, duration, text, text_list };

ValueKind kind_of(const CLI::Option& option) {
  if (option.get_expected_max() == 0) return ValueKind::boolean;
  if (option.get_expected_max() > 1) return ValueKind::text_list;
  const std::string type = option.get_type_name();
  if (type == "N") return ValueKind::whole_number;
  if (type == "DUR") return ValueKind::duration;
  return ValueKind::text;
}

// Options that only make sense on the command line.
bool file_may_set(const std::string& name) {
  return name != "config" && name != "help" && name != "version";
}

std::string where(const std::string& path, const toml::source_region& source) {
  return printable(path) + ":" + std::to_string(source.begin.line);
}

// The value as the option's command-line text, or why it has the wrong type.
Result<std::vector<std::string>, std::string> as_arguments(ValueKind kind, const toml::node& node,
                                                           const std::string& path) {
  switch (kind) {
    case ValueKind::boolean:
      if (const auto* value = node.as_boolean())
        return std::vector{std::string(value->get() ? "true" : "false")};
      return std::string("expected true or false");
    case ValueKind::whole_number:
      if (const auto* value = node.as_integer()) return std::vector{std::to_string(value->get())};
      return std::string("expected a whole number");
    case ValueKind::duration:
      if (const auto* value = node.as_string()) return std::vector{value->get()};
      if (const auto* value = node.as_integer()) return std::vector{std::to_string(value->get())};
      if (const auto* value = node.as_floating_point()) {
        return std::vector{fmt::format("{}", value->get())};
      }
      return std::string("expected a duration: a string such as \"5s\" or \"500ms\", or seconds");
    case ValueKind::text:
      if (const auto* value = node.as_string()) return std::vector{value->get()};
      return std::string("expected a string");
    case ValueKind::text_list: {
      if (const auto* value = node.as_string()) return std::vector{value->get()};
      const auto* array = node.as_array();
      if (array == nullptr) return std::string("expected a string or an array of strings");
      std::vector<std::string> texts;
      for (const toml::node& element : *array) {
        const auto* text = element.as_string();
        if (text == nullptr) {
          return "expected an array of strings, but " + where(path, element.source()) +
                 " is not a string";
        }
        texts.push_back(text->get());
      }
      return texts;
    }
  }
  return std::string("unexpected option kind");
}

// toml++ quotes what it saw ("expected 'true', saw 'to'"): on the password's line, or on a line
// a multi-line password string runs on to, that is part of the password. A line that names a
// password is suspect, and so is every line after one that is not TOML on its own (a string
// left open there may run on to the error).
bool may_quote_password(const std::string& contents, size_t error_line) {
  std::istringstream lines(contents);
  std::string line;
  for (size_t number = 1; number <= error_line && std::getline(lines, line); ++number) {
    std::string lower = line;
    for (char& character : lower)
      character = static_cast<char>(std::tolower(static_cast<unsigned char>(character)));
    if (lower.find("password") == std::string::npos) continue;
    if (number == error_line) return true;
    if (!lower.empty() && lower.back() == '\r') line.pop_back();
    try {
      (void)toml::parse(line);
    } catch (const toml::parse_error&) {
      return true;
    }
  }
  return false;
}

// TOML can write a NUL byte ("\u0000"), a command line cannot: a path or a name would be cut
// short at it by the system call it goes to (a pid file written somewhere else than named).
bool holds_nul(const std::vector<std::string>& texts) {
  return std::any_of(texts.begin(), texts.end(),
                     [](const std::string& text) { return text.find('\0') != std::string::npos; });
}

// CLI11 says "--backlog: backlog must be at least 1": the key is already named.
std::string without_option_name(std::string message, const std::string& name) {
  const std::string prefix = name + ": ";
  if (message.rfind(prefix, 0) == 0) message.erase(0, prefix.size());
  return message;
}

}  // namespace

Result<void, UsageError> apply_config_file(CLI::App& app, const std::string& path,
                                           ConfigOrigins& origins) {
  std::ifstream file(path);
  if (!file) return UsageError{"--config", Error("open", doorman::quoted(path), errno).message()};
  std::ostringstream contents;
  contents << file.rdbuf();
  if (file.bad())
    return UsageError{"--config", Error("read", doorman::quoted(path), errno).message()};
  return apply_config_text(app, contents.str(), path, origins);
}

Result<void, UsageError> apply_config_text(CLI::App& app, std::string_view text,
                                           const std::string& path, ConfigOrigins& origins) {
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& error) {
    if (may_quote_password(std::string(text), error.source().begin.line)) {
      return UsageError{where(path, error.source()) + ": password",
                        "not valid TOML (the line is not quoted: it may hold the password)"};
    }
    return UsageError{where(path, error.source()), printable(error.description())};
  }

  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    const std::string origin = where(path, key.source()) + ": " + printable(name);
    CLI::Option* option = file_may_set(name) ? app.get_option_no_throw("--" + name) : nullptr;
    if (option == nullptr) return UsageError{origin, "unknown option"};
    auto arguments = as_arguments(kind_of(*option), node, path);
    if (!arguments) return UsageError{origin, arguments.error()};
    if (holds_nul(*arguments)) return UsageError{origin, "a value must not hold a NUL byte"};
    if (option->count() > 0) continue;  // the command line has the last word
    origins[option->get_name()] = origin;
    try {
      option->add_result(std::move(arguments).value());
      option->run_callback();
    } catch (const CLI::Error& error) {
      return UsageError{origin, without_option_name(error.what(), option->get_name())};
    }
  }
  return {};
}

UsageError located(UsageError error, const ConfigOrigins& origins) {
  const auto found = origins.find(error.option);
  if (found != origins.end()) error.option = found->second;
  return error;
}

}  // namespace doorman::server
