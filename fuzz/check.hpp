#pragma once
// The fuzz targets' assertion: it holds in every build type (assert does not under NDEBUG), and a
// broken property aborts, which libFuzzer records as a finding with the input that caused it.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
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

// The input as exactly `size` bytes on the heap of their own, so a read past the end is one the
// sanitizer sees (libFuzzer's buffer may have room after it). `input` views `bytes`.
struct HeapInput {
  HeapInput(const uint8_t* data, size_t size)
      : bytes(std::make_unique<char[]>(size)), input(bytes.get(), size) {
    std::copy(data, data + size, bytes.get());
  }
  std::unique_ptr<char[]> bytes;
  std::string_view input;
};
