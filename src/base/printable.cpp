#include "doorman/base/printable.hpp"

namespace doorman {

std::string printable(std::string_view text) {
  std::string safe;
  safe.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f || byte == '\\') {
      constexpr char kHex[] = "0123456789abcdef";
      safe += "\\x";
      safe += kHex[byte >> 4];
      safe += kHex[byte & 0xf];
    } else {
      safe += c;
    }
  }
  return safe;
}

std::string quoted(std::string_view text) {
  return "'" + printable(text) + "'";
}

}  // namespace doorman
