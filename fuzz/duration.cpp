// parse_duration on arbitrary text and format_duration on arbitrary durations. Properties: a
// parsed duration lies in [0, 1e18 ns]; format_duration's text parses back to the same duration;
// an error is one printable line, whatever the text.

#include "doorman/base/duration.hpp"
#include "check.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

using doorman::Duration;

namespace {

constexpr Duration::rep kLongest = 1'000'000'000'000'000'000;  // what parse_duration accepts

void check_round_trip(Duration duration) {
  const auto again = doorman::parse_duration(doorman::format_duration(duration));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == duration);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto parsed = doorman::parse_duration(text)) {
    FUZZ_CHECK(parsed->count() >= 0 && parsed->count() <= kLongest);
    check_round_trip(*parsed);
  } else {
    FUZZ_CHECK(is_one_printable_line(parsed.error().message()));
  }
  // The first eight bytes as a duration in range, so formatting sees every magnitude.
  uint64_t bits = 0;
  if (size > 0) std::memcpy(&bits, data, size < sizeof bits ? size : sizeof bits);
  check_round_trip(Duration(static_cast<Duration::rep>(bits % (kLongest + 1))));
  return 0;
}
