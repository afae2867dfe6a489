#include "doorman/base/error.hpp"

#include <cctype>
#include <cstring>
#include <string>
#include <utility>

namespace doorman {

Error::Error(std::string operation, std::string address, int code, std::string hint)
    : operation_(std::move(operation)),
      address_(std::move(address)),
      code_(code),
      hint_(std::move(hint)) {}

Error Error::described(std::string operation, std::string address, std::string reason,
                       std::string hint) {
  Error error;
  error.operation_ = std::move(operation);
  error.address_ = std::move(address);
  error.described_ = std::move(reason);
  error.hint_ = std::move(hint);
  return error;
}

std::string Error::reason() const {
  return code_ != 0 ? describe_errno(code_) : described_;
}

std::string Error::message() const {
  std::string line = operation_;
  if (!address_.empty()) line += " " + address_;
  line += ": " + reason();
  if (!hint_.empty()) line += " \xE2\x80\x94 " + hint_;  // an em dash
  return line;
}

std::string errno_name(int code) {
  // strerrorname_np (glibc 2.32) knows every name; the fallback keeps other libcs honest.
  if (const char* name = ::strerrorname_np(code)) return name;
  return "errno " + std::to_string(code);
}

std::string describe_errno(int code) {
  std::string text = ::strerror(code);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text + " (" + errno_name(code) + ")";
}

}  // namespace doorman
