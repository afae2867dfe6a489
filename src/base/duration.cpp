#include "doorman/base/duration.hpp"

#include "doorman/base/printable.hpp"

#include <charconv>
#include <cmath>
#include <utility>

namespace doorman {
namespace {

struct Unit {
  std::string_view suffix;
  double nanoseconds;
};

// Longest suffixes first so that "ms" is not read as "m" + "s".
constexpr Unit kUnits[] = {{"ns", 1},  {"us", 1e3}, {"ms", 1e6},
                           {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};

Error bad(std::string_view text, std::string reason) {
  return Error::described("parse duration", quoted(text), std::move(reason));
}

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  std::string_view number = text;
  double scale = 1e9;  // a bare number is seconds, as in the tutorial's settimeout(5)
  for (const Unit& unit : kUnits) {
    if (text.ends_with(unit.suffix)) {
      number = text.substr(0, text.size() - unit.suffix.size());
      scale = unit.nanoseconds;
      break;
    }
  }
  if (number.empty()) return bad(text, "expected a number with an optional unit: 5, 5s, 500ms");
  double value = 0;
  const auto [end, failure] = std::from_chars(number.data(), number.data() + number.size(), value,
                                              std::chars_format::fixed);
  if (failure != std::errc{} || end != number.data() + number.size()) {
    return bad(text, "expected a number with an optional unit: 5, 5s, 500ms, 2m");
  }
  if (!std::isfinite(value)) return bad(text, "expected a finite number: 5, 5s, 500ms, 2m");
  if (value < 0) return bad(text, "a duration cannot be negative");
  const double nanoseconds = value * scale;
  if (nanoseconds > 1e18) return bad(text, "too long (more than 30 years)");
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
