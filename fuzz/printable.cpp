// printable and quoted on arbitrary bytes: what they make of text from outside goes into one log
// line. Properties: no control byte (so no line break and no escape sequence) in the output;
// nothing is lost (the output decodes back to the input); quoted is printable between quotes.

#include "doorman/base/printable.hpp"
#include "check.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The inverse of printable: \xNN back to its byte. Fails the check on anything printable cannot
// have written.
std::string decode(std::string_view safe) {
  std::string text;
  for (size_t i = 0; i < safe.size(); ++i) {
    if (safe[i] != '\\') {
      text += safe[i];
      continue;
    }
    FUZZ_CHECK(i + 3 < safe.size());
    FUZZ_CHECK(safe[i + 1] == 'x');
    const int high = hex_value(safe[i + 2]);
    const int low = hex_value(safe[i + 3]);
    FUZZ_CHECK(high >= 0 && low >= 0);
    text += static_cast<char>(high * 16 + low);
    i += 3;
  }
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string safe = doorman::printable(text);
  FUZZ_CHECK(is_one_printable_line(safe));
  FUZZ_CHECK(decode(safe) == text);
  FUZZ_CHECK(doorman::quoted(text) == "'" + safe + "'");
  return 0;
}
