// Address::parse on many generated inputs (a deterministic, fuzz-like sweep until a libFuzzer
// target exists): it never crashes, every error is one line, and whatever parses prints back
// to text that parses to the same address. Under `make sanitize` it also runs with ASan/UBSan.

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "doorman/net/address.hpp"

using namespace doorman;

namespace {

std::string generate(std::mt19937& random) {
  // Pieces users (and attackers) write, glued at random, plus a few raw bytes.
  static const char* const kPieces[] = {
      "unix:",     "@",         "/",   "[", "]",       ":",       "::",         "*",
      "localhost", "127.0.0.1", "::1", "%", "lo",      "8001",    "0",          "65535",
      "65536",     "-1",        " ",   "x", "a.b-c_d", "fe80::1", "2001:db8::", "99999999999"};
  std::uniform_int_distribution<size_t> count(0, 6);
  std::uniform_int_distribution<size_t> piece(0, std::size(kPieces));
  std::uniform_int_distribution<int> byte(0, 255);
  std::string text;
  for (size_t i = count(random); i > 0; --i) {
    const size_t which = piece(random);
    if (which == std::size(kPieces)) {
      text += static_cast<char>(byte(random));
    } else {
      text += kPieces[which];
    }
  }
  return text;
}

TEST(AddressProperty, ParsesPrintsAndReparsesTheSame) {
  std::mt19937 random(20261125);
  size_t parsed_count = 0;
  for (int i = 0; i < 200000; ++i) {
    const std::string text = generate(random);
    auto parsed = Address::parse(text, Address::PortZero::allowed);
    if (!parsed) {
      const std::string message = parsed.error().message();
      ASSERT_EQ(message.find('\n'), std::string::npos) << message;
      continue;
    }
    ++parsed_count;
    auto again = Address::parse(parsed->to_string(), Address::PortZero::allowed);
    ASSERT_TRUE(again.ok()) << text << " printed as " << parsed->to_string();
    EXPECT_EQ(*again, *parsed) << text;
  }
  EXPECT_GT(parsed_count, 1000u) << "the generator should reach the good forms too";
}

}  // namespace
