#pragma once
// The fuzz targets' assertion: it holds in every build type (assert does not under NDEBUG), and a
// broken property aborts, which libFuzzer records as a finding with the input that caused it.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_CHECK(condition)                                                               \
  do {                                                                                      \
    if (!(condition)) {                                                                     \
      std::fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                         \
    }                                                                                       \
  } while (false)

// No control byte (C0 or DEL): no line break, no terminal escape sequence.
inline bool is_one_printable_line(std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}
