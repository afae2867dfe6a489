// The PROXY protocol header (B12): parsed once per connection behind a balancer.

#include <benchmark/benchmark.h>

#include <string>

#include "doorman/proto/proxy_header.hpp"
#include "proxy_header_bytes.hpp"

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

// 192.0.2.10:56324 -> 198.51.100.1:8001, then the request.
std::string v2_inet() {
  using namespace doorman::testing;
  return proxy_v2(0x21, 0x11, inet_block("192.0.2.10", 56324, "198.51.100.1", 8001)) + "1";
}
std::string v2_inet6() {
  using namespace doorman::testing;
  return proxy_v2(0x21, 0x21, inet_block("2001::10", 56324, "2001::1", 8001)) + "1";
}

BENCHMARK_CAPTURE(parse, v1_tcp4, v1_tcp4());
BENCHMARK_CAPTURE(parse, v1_tcp6, v1_tcp6());
BENCHMARK_CAPTURE(parse, v2_inet, v2_inet());
BENCHMARK_CAPTURE(parse, v2_inet6, v2_inet6());

}  // namespace
