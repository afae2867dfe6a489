#include "doorman/base/duration.hpp"

#include "doorman/base/printable.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <utility>

namespace doorman {
namespace {

struct Unit {
  std::string_view suffix;
  Duration::rep nanoseconds;
};

// Longest suffixes first so that "ms" is not read as "m" + "s".
constexpr Unit kUnits[] = {{"ns", 1},
                           {"us", 1'000},
                           {"ms", 1'000'000},
                           {"s", 1'000'000'000},
                           {"m", 60'000'000'000},
                           {"h", 3'600'000'000'000}};

constexpr Duration::rep kLongest = 1'000'000'000'000'000'000;  // about 31 years

Error bad(std::string_view text, std::string reason) {
  return Error::described("parse duration", quoted(text), std::move(reason));
}

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  std::string_view number = text;
  Duration::rep scale = 1'000'000'000;  // a bare number is seconds, as in settimeout(5)
  for (const Unit& unit : kUnits) {
    if (text.ends_with(unit.suffix)) {
      number = text.substr(0, text.size() - unit.suffix.size());
      scale = unit.nanoseconds;
      break;
    }
  }
  if (number.empty()) return bad(text, "expected a number with an optional unit: 5, 5s, 500ms");
  // A whole number is read exactly: through a double, one above 2^53 ns would come back rounded
  // and format_duration's text would not parse to the duration it was made from.
  if (std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    uint64_t whole = 0;
    const auto [end, failure] =
        std::from_chars(number.data(), number.data() + number.size(), whole);
    if (failure != std::errc{} || whole > static_cast<uint64_t>(kLongest / scale)) {
      return bad(text, "too long (more than 30 years)");
    }
    return Duration(static_cast<Duration::rep>(whole) * scale);
  }
  double value = 0;
  const auto [end, failure] = std::from_chars(number.data(), number.data() + number.size(), value,
                                              std::chars_format::fixed);
  if (failure != std::errc{} || end != number.data() + number.size()) {
    return bad(text, "expected a number with an optional unit: 5, 5s, 500ms, 2m");
  }
  if (!std::isfinite(value)) return bad(text, "expected a finite number: 5, 5s, 500ms, 2m");
  if (value < 0) return bad(text, "a duration cannot be negative");
  const double nanoseconds = value * static_cast<double>(scale);
  if (nanoseconds > static_cast<double>(kLongest))
    return bad(text, "too long (more than 30 years)");
  return Duration(static_cast<Duration::rep>(std::llround(nanoseconds)));
}

std::string format_duration(Duration duration) {
  const auto count = duration.count();
  const auto exact = [count](Duration::rep per, std::string_view suffix) -> std::string {
    if (count % per == 0) return std::to_string(count / per) + std::string(suffix);
    return {};
  };
  if (count == 0) return "0s";
  for (auto [per, suffix] : {std::pair<Duration::rep, std::string_view>{1'000'000'000, "s"},
                             {1'000'000, "ms"},
                             {1'000, "us"}}) {
    if (auto text = exact(per, suffix); !text.empty()) return text;
  }
  return std::to_string(count) + "ns";
}

}  // namespace doorman
