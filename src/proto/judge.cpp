#include "doorman/proto/judge.hpp"

#include <cstddef>

namespace doorman::proto {

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  // Every byte of the request is looked at, and the password is indexed modulo its length, so
  // the work depends on the request's length only. The length itself is not secret enough to
  // hide: it is the request's own.
  unsigned difference = a.size() == b.size() ? 0U : 1U;
  if (b.empty()) return a.empty();
  for (size_t i = 0; i < a.size(); ++i) {
    difference |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i % b.size()]);
  }
  // Keep the compiler from turning the loop into an early exit.
  volatile unsigned sink = difference;
  return sink == 0;
}

Verdict judge(std::string_view request, std::string_view password) noexcept {
  return constant_time_equal(request, password) ? Verdict::welcome : Verdict::go_away;
}

}  // namespace doorman::proto
