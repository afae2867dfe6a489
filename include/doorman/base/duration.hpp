#pragma once
// Durations as users write them: "5" (seconds), "5s", "0.5s", "500ms", "250us", "2m". Any thread.

#include <chrono>
#include <string>
#include <string_view>

#include "doorman/base/result.hpp"

namespace doorman {

using Duration = std::chrono::nanoseconds;

Result<Duration> parse_duration(std::string_view text);
// In the largest unit that holds it as a whole number: "5s", "500ms", "1500ms", "250us".
std::string format_duration(Duration duration);

}  // namespace doorman
