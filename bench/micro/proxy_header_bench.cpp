// The PROXY protocol header (B12): parsed once per connection behind a balancer.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "doorman/proto/proxy_header.hpp"

namespace {

void parse(benchmark::State& state, std::string bytes) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(bytes);
    auto parsed = doorman::proto::parse_proxy_header(bytes);
    benchmark::DoNotOptimize(parsed);
    if (parsed.status != doorman::proto::ProxyParseStatus::complete) {
      state.SkipWithError("the header did not parse");
      break;
    }
  }
}

std::string v1_tcp4() {
  return "PROXY TCP4 192.0.2.10 198.51.100.1 56324 8001\r\n1";
}
std::string v1_tcp6() {
  return "PROXY TCP6 2001:db8::10 2001:db8:ffff:ffff:ffff:ffff:ffff:1 56324 8001\r\n1";
}

std::string v2(uint8_t family, const std::string& addresses) {
  std::string header("\r\n\r\n\0\r\nQUIT\n", 12);
  header += static_cast<char>(0x21);  // version 2, PROXY
  header += static_cast<char>(family);
  header += static_cast<char>(addresses.size() >> 8);
  header += static_cast<char>(addresses.size() & 0xff);
  return header + addresses + "1";
}
std::string v2_inet() {
  // 192.0.2.10:56324 -> 198.51.100.1:8001
  return v2(0x11, std::string("\xc0\x00\x02\x0a\xc6\x33\x64\x01\xdc\x04\x1f\x41", 12));
}
std::string v2_inet6() {
  std::string addresses(36, '\0');
  addresses[0] = '\x20';
  addresses[1] = '\x01';
  addresses[15] = '\x10';
  addresses[16] = '\x20';
  addresses[17] = '\x01';
  addresses[31] = '\x01';
  addresses[32] = '\xdc';
  addresses[33] = '\x04';
  addresses[34] = '\x1f';
  addresses[35] = '\x41';
  return v2(0x21, addresses);
}

BENCHMARK_CAPTURE(parse, v1_tcp4, v1_tcp4());
BENCHMARK_CAPTURE(parse, v1_tcp6, v1_tcp6());
BENCHMARK_CAPTURE(parse, v2_inet, v2_inet());
BENCHMARK_CAPTURE(parse, v2_inet6, v2_inet6());

}  // namespace
