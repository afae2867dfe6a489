#pragma once
// Text from outside (a peer's socket name, a command-line value) made safe to put in one line:
// a newline or an escape sequence in it could forge a log line or drive the terminal. Any
// thread.

#include <string>
#include <string_view>

namespace doorman {

// Control bytes and the backslash as \xNN; everything else as it is.
std::string printable(std::string_view text);
// printable(text) between single quotes, as errors quote what the user wrote.
std::string quoted(std::string_view text);

}  // namespace doorman
