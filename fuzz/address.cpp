// Address::parse on arbitrary text (what users write on the command line, B2), in both PortZero
// modes. Properties: what parses prints back to text that parses to the same address; allowing
// port 0 only ever accepts more; a parsed address is consistent with its kind; an error is one
// printable line, whatever the text.

#include "doorman/net/address.hpp"
#include "check.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

using doorman::Address;

namespace {

void check_round_trip(const Address& address, Address::PortZero port_zero) {
  const auto again = Address::parse(address.to_string(), port_zero);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == address);
}

void check_consistent(const Address& address) {
  if (address.is_unix()) {
    FUZZ_CHECK(!address.path().empty());
    FUZZ_CHECK(address.host().empty() && address.port() == 0);
  } else {
    FUZZ_CHECK(!address.host().empty());
    FUZZ_CHECK(address.path().empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto strict = Address::parse(text, Address::PortZero::forbidden);
  const auto lenient = Address::parse(text, Address::PortZero::allowed);
  if (strict) {
    FUZZ_CHECK(lenient.ok());
    FUZZ_CHECK(*strict == *lenient);
    FUZZ_CHECK(strict->is_unix() || strict->port() != 0);
    check_consistent(*strict);
    check_round_trip(*strict, Address::PortZero::forbidden);
  } else {
    FUZZ_CHECK(is_one_printable_line(strict.error().message()));
  }
  if (lenient) {
    check_consistent(*lenient);
    check_round_trip(*lenient, Address::PortZero::allowed);
  } else {
    FUZZ_CHECK(!lenient.error().message().empty());
    FUZZ_CHECK(is_one_printable_line(lenient.error().message()));
  }
  return 0;
}
