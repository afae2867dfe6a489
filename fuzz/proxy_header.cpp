// The PROXY protocol header parser, bytes in. Properties: it reads only within the input (the
// sanitizers' bounds checks, with the input copied to a buffer of exactly its size); a complete
// header is no longer than the input and no longer than the cap; every prefix of the input is
// need-more, the same header, or (only when the whole is invalid too) invalid, so that the
// bytes may arrive in pieces of any size.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "check.hpp"
#include "doorman/proto/proxy_header.hpp"

namespace proto = doorman::proto;

namespace {

bool same_endpoint(const proto::ProxyEndpoint& a, const proto::ProxyEndpoint& b) {
  return a.address == b.address && a.port == b.port && a.path == b.path;
}

bool same_header(const proto::ProxyHeader& a, const proto::ProxyHeader& b) {
  return a.version == b.version && a.command == b.command && a.family == b.family &&
         a.length == b.length && same_endpoint(a.source, b.source) &&
         same_endpoint(a.destination, b.destination);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const HeapInput heap(data, size);
  const std::string_view input = heap.input;
  const proto::ProxyParse whole = proto::parse_proxy_header(input);
  if (whole.status == proto::ProxyParseStatus::invalid) FUZZ_CHECK(!whole.reason.empty());
  if (whole.status != proto::ProxyParseStatus::complete) return 0;
  FUZZ_CHECK(whole.header.length <= size);
  FUZZ_CHECK(whole.header.length <= proto::kMaxProxyHeader);
  FUZZ_CHECK(whole.header.version == 1 || whole.header.version == 2);
  if (whole.header.version == 1) FUZZ_CHECK(whole.header.length <= proto::kMaxProxyHeaderV1);
  for (size_t prefix = 0; prefix <= size; ++prefix) {
    const proto::ProxyParse part = proto::parse_proxy_header(input.substr(0, prefix));
    if (prefix < whole.header.length) {
      FUZZ_CHECK(part.status == proto::ProxyParseStatus::need_more);
    } else {
      FUZZ_CHECK(part.status == proto::ProxyParseStatus::complete);
      FUZZ_CHECK(same_header(part.header, whole.header));
    }
  }
  return 0;
}
