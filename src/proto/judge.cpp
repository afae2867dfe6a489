#include "doorman/proto/judge.hpp"

#include <cstddef>

namespace doorman::proto {

namespace {

// An empty assembly statement that claims to read and rewrite `value`: the optimiser can no
// longer know what the accumulator holds after each byte, so it can neither end the loop early
// (an OR of bytes stops changing once it reaches 0xff, and a compiler may notice) nor turn the
// loop into memcmp. tests/ct/constant_time.cpp measures the result.
inline void hide_from_optimiser(unsigned& value) noexcept {
  __asm__ volatile("" : "+r"(value));
}

}  // namespace

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  // Every byte of the request is looked at, against the password repeated (a wrapping index,
  // no division), so the work depends on the lengths only, never on where the bytes differ.
  // The request's length is no secret: it is the client's own.
  if (b.empty()) return a.empty();
  unsigned difference = a.size() == b.size() ? 0U : 1U;
  size_t j = 0;
  for (const char c : a) {
    difference |= static_cast<unsigned char>(c) ^ static_cast<unsigned char>(b[j]);
    hide_from_optimiser(difference);
    j = j + 1 == b.size() ? 0 : j + 1;
  }
  return difference == 0;
}

Verdict judge(std::string_view request, std::string_view password) noexcept {
  return constant_time_equal(request, password) ? Verdict::welcome : Verdict::go_away;
}

}  // namespace doorman::proto
