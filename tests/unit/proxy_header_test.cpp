#include "doorman/proto/proxy_header.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "proxy_header_bytes.hpp"

using namespace doorman::proto;

namespace {

using doorman::testing::big_endian;
using doorman::testing::inet_block;
using doorman::testing::kProxyV2Signature;
using doorman::testing::proxy_v2;

std::string inet4_block() {
  // 192.0.2.1:56324 -> 198.51.100.7:8001, as laid out in HAProxy's PROXY protocol specification.
  return inet_block("192.0.2.1", 56324, "198.51.100.7", 8001);
}

std::string inet6_block() {
  return inet_block("2001:db8::1", 4000, "::1", 8001);
}

std::string unix_block(const std::string& source, const std::string& destination) {
  std::string block(216, '\0');
  block.replace(0, source.size(), source);
  block.replace(108, destination.size(), destination);
  return block;
}

std::string tlv(uint8_t type, const std::string& value) {
  return static_cast<char>(type) + big_endian(static_cast<uint16_t>(value.size())) + value;
}

ProxyParse parse(const std::string& bytes) {
  return parse_proxy_header(bytes);
}

// Every proper prefix of a complete header is "need more", and the whole gives `header`.
void expect_arrives_byte_by_byte(const std::string& whole) {
  const ProxyParse full = parse(whole);
  ASSERT_EQ(full.status, ProxyParseStatus::complete) << full.reason;
  for (size_t size = 0; size < full.header.length; ++size) {
    EXPECT_EQ(parse(whole.substr(0, size)).status, ProxyParseStatus::need_more) << size;
  }
}

}  // namespace

TEST(ProxyHeaderV1, Tcp4WithTheRequestAfterIt) {
  const std::string line = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
  const ProxyParse result = parse(line + "1");
  ASSERT_EQ(result.status, ProxyParseStatus::complete) << result.reason;
  EXPECT_EQ(result.header.version, 1);
  EXPECT_EQ(result.header.command, ProxyCommand::proxy);
  EXPECT_EQ(result.header.family, ProxyFamily::inet);
  EXPECT_EQ(result.header.length, line.size());
  EXPECT_EQ(
      (std::array<uint8_t, 4>{result.header.source.address[0], result.header.source.address[1],
                              result.header.source.address[2], result.header.source.address[3]}),
      (std::array<uint8_t, 4>{192, 168, 0, 1}));
  EXPECT_EQ(result.header.source.port, 56324);
  EXPECT_EQ(result.header.destination.address[3], 11);
  EXPECT_EQ(result.header.destination.port, 443);
}

TEST(ProxyHeaderV1, Tcp6) {
  const std::string line = "PROXY TCP6 2001:db8::1 ::1 65535 0\r\n";
  const ProxyParse result = parse(line);
  ASSERT_EQ(result.status, ProxyParseStatus::complete) << result.reason;
  EXPECT_EQ(result.header.family, ProxyFamily::inet6);
  EXPECT_EQ(result.header.source.address[0], 0x20);
  EXPECT_EQ(result.header.source.address[15], 0x01);
  EXPECT_EQ(result.header.destination.address[15], 0x01);
  EXPECT_EQ(result.header.source.port, 65535);
  EXPECT_EQ(result.header.destination.port, 0);
}

TEST(ProxyHeaderV1, UnknownIgnoresTheRestOfItsLine) {
  for (const std::string line : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff::1 ::1 1 2\r\n"}) {
    const ProxyParse result = parse(line + "x");
    ASSERT_EQ(result.status, ProxyParseStatus::complete) << line;
    EXPECT_EQ(result.header.family, ProxyFamily::unspecified);
    EXPECT_EQ(result.header.length, line.size());
  }
}

TEST(ProxyHeaderV1, TheLongestLineIs107Bytes) {
  const std::string longest =
      "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
      "65535 65535\r\n";
  ASSERT_EQ(longest.size(), 107U);
  EXPECT_EQ(parse(longest).status, ProxyParseStatus::complete);
  const std::string one_more = "PROXY UNKNOWN " + std::string(92, 'f') + "\r\n";
  ASSERT_EQ(one_more.size(), 108U);
  const ProxyParse result = parse(one_more);
  EXPECT_EQ(result.status, ProxyParseStatus::invalid);
  EXPECT_EQ(result.reason, "v1 line longer than 107 bytes");
  // Without its CRLF, 107 bytes are already too many.
  EXPECT_EQ(parse("PROXY UNKNOWN " + std::string(93, 'f')).status, ProxyParseStatus::invalid);
}

TEST(ProxyHeaderV1, ArrivesByteByByte) {
  expect_arrives_byte_by_byte("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nrequest");
  expect_arrives_byte_by_byte("PROXY TCP6 2001:db8::1 ::1 65535 0\r\n");
  expect_arrives_byte_by_byte("PROXY UNKNOWN\r\n");
}

TEST(ProxyHeaderV1, StrictSyntaxIsRefused) {
  for (const std::string line : {
           "PROXY TCP4 192.168.0.1  192.168.0.11 56324 443\r\n",   // two spaces
           "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443 \r\n",   // trailing space
           "PROXY TCP4 192.168.0.1 192.168.0.11 56324\r\n",        // four fields
           "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443 7\r\n",  // six fields
           "PROXY TCP4 192.168.0.1 192.168.0.11 056324 443\r\n",   // leading zero
           "PROXY TCP4 192.168.0.1 192.168.0.11 65536 443\r\n",    // port out of range
           "PROXY TCP4 192.168.0.1 192.168.0.11 -1 443\r\n",       // sign
           "PROXY TCP4 192.168.0.1 192.168.0.11 +1 443\r\n",       // sign
           "PROXY TCP4 256.0.0.1 192.168.0.11 1 443\r\n",          // octet out of range
           "PROXY TCP4 1.2.3 192.168.0.11 1 443\r\n",              // three octets
           "PROXY TCP4 ::1 192.168.0.11 1 443\r\n",                // IPv6 under TCP4
           "PROXY TCP6 192.168.0.1 ::1 1 443\r\n",                 // IPv4 under TCP6
           "PROXY TCP5 192.168.0.1 192.168.0.11 1 443\r\n",        // no such protocol
           "PROXY UNKNOWNX\r\n",                                   // not UNKNOWN
           "PROXY \r\n",                                           // nothing
           "PROXY tcp4 192.168.0.1 192.168.0.11 1 443\r\n",        // case matters
       }) {
    const ProxyParse result = parse(line);
    EXPECT_EQ(result.status, ProxyParseStatus::invalid) << line;
    EXPECT_FALSE(result.reason.empty()) << line;
  }
}

TEST(ProxyHeaderV1, TruncatedIsNeedMore) {
  EXPECT_EQ(parse("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r").status,
            ProxyParseStatus::need_more);
  EXPECT_EQ(parse("PROX").status, ProxyParseStatus::need_more);
  EXPECT_EQ(parse("").status, ProxyParseStatus::need_more);
}

TEST(ProxyHeader, GarbageAndPlainRequestsAreRefusedAtTheFirstByteThatDiffers) {
  for (const std::string bytes : {"1", "GET / HTTP/1.1\r\n", "PROXI", "proxy ", "\r\n\r\n\x01"}) {
    const ProxyParse result = parse(bytes);
    EXPECT_EQ(result.status, ProxyParseStatus::invalid) << bytes;
    EXPECT_EQ(result.reason, "no PROXY protocol signature") << bytes;
  }
}

TEST(ProxyHeaderV2, Tcp4WithTheRequestAfterIt) {
  const std::string header = proxy_v2(0x21, 0x11, inet4_block());
  ASSERT_EQ(header.size(), 28U);
  const ProxyParse result = parse(header + "1");
  ASSERT_EQ(result.status, ProxyParseStatus::complete) << result.reason;
  EXPECT_EQ(result.header.version, 2);
  EXPECT_EQ(result.header.command, ProxyCommand::proxy);
  EXPECT_EQ(result.header.family, ProxyFamily::inet);
  EXPECT_EQ(result.header.length, 28U);
  EXPECT_EQ(result.header.source.address[0], 192);
  EXPECT_EQ(result.header.source.address[3], 1);
  EXPECT_EQ(result.header.source.port, 56324);
  EXPECT_EQ(result.header.destination.address[0], 198);
  EXPECT_EQ(result.header.destination.port, 8001);
}

TEST(ProxyHeaderV2, Tcp6) {
  const ProxyParse result = parse(proxy_v2(0x21, 0x21, inet6_block()));
  ASSERT_EQ(result.status, ProxyParseStatus::complete) << result.reason;
  EXPECT_EQ(result.header.family, ProxyFamily::inet6);
  EXPECT_EQ(result.header.length, 52U);
  EXPECT_EQ(result.header.source.address[0], 0x20);
  EXPECT_EQ(result.header.source.address[15], 0x01);
  EXPECT_EQ(result.header.source.port, 4000);
  EXPECT_EQ(result.header.destination.port, 8001);
}

TEST(ProxyHeaderV2, Unix) {
  // The paths are views into the parsed bytes: those must outlive the result.
  const std::string bytes = proxy_v2(0x21, 0x31, unix_block("/run/client.sock", "/run/d.sock"));
  const ProxyParse result = parse(bytes);
  ASSERT_EQ(result.status, ProxyParseStatus::complete) << result.reason;
  EXPECT_EQ(result.header.family, ProxyFamily::unix_path);
  EXPECT_EQ(result.header.length, 232U);
  EXPECT_EQ(result.header.source.path, "/run/client.sock");
  EXPECT_EQ(result.header.destination.path, "/run/d.sock");
  // A path that fills its 108 bytes has no terminating NUL.
  const ProxyParse unterminated =
      parse(proxy_v2(0x21, 0x31, unix_block(std::string(108, 'a'), "/d")));
  EXPECT_EQ(unterminated.status, ProxyParseStatus::invalid);
}

TEST(ProxyHeaderV2, UnspecifiedFamilyCarriesNoAddress) {
  const ProxyParse result = parse(proxy_v2(0x21, 0x00, ""));
  ASSERT_EQ(result.status, ProxyParseStatus::complete) << result.reason;
  EXPECT_EQ(result.header.family, ProxyFamily::unspecified);
  EXPECT_EQ(result.header.length, 16U);
}

TEST(ProxyHeaderV2, LocalSkipsWhateverTheBlockHolds) {
  for (const std::string& block : {std::string(), inet4_block(), std::string(7, 'x')}) {
    const ProxyParse result = parse(proxy_v2(0x20, 0x11, block) + "1");
    ASSERT_EQ(result.status, ProxyParseStatus::complete) << result.reason;
    EXPECT_EQ(result.header.command, ProxyCommand::local);
    EXPECT_EQ(result.header.family, ProxyFamily::unspecified);
    EXPECT_EQ(result.header.length, 16 + block.size());
  }
}

TEST(ProxyHeaderV2, TlvsAreSkippedWithinTheLength) {
  // PP2_TYPE_ALPN, PP2_TYPE_AUTHORITY, PP2_TYPE_NOOP, as HAProxy sends them.
  const std::string tlvs = tlv(0x01, "h2") + tlv(0x02, "example.com") + tlv(0x04, "");
  const ProxyParse result = parse(proxy_v2(0x21, 0x11, inet4_block() + tlvs) + "1");
  ASSERT_EQ(result.status, ProxyParseStatus::complete) << result.reason;
  EXPECT_EQ(result.header.length, 28 + tlvs.size());
  EXPECT_EQ(result.header.source.port, 56324);

  EXPECT_EQ(parse(proxy_v2(0x21, 0x11, inet4_block() + "\x01\x00")).reason, "v2 TLV cut short");
  EXPECT_EQ(parse(proxy_v2(0x21, 0x11, inet4_block() + std::string("\x01\x00\x05xy", 5))).reason,
            "v2 TLV longer than the header");
}

TEST(ProxyHeaderV2, ArrivesByteByByte) {
  expect_arrives_byte_by_byte(proxy_v2(0x21, 0x11, inet4_block()) + "1");
  expect_arrives_byte_by_byte(proxy_v2(0x21, 0x21, inet6_block() + tlv(0x04, "pad")));
  expect_arrives_byte_by_byte(proxy_v2(0x21, 0x31, unix_block("/a", "/b")));
  expect_arrives_byte_by_byte(proxy_v2(0x20, 0x00, ""));
}

TEST(ProxyHeaderV2, InvalidFixedFields) {
  EXPECT_EQ(parse(proxy_v2(0x11, 0x11, inet4_block())).reason, "v2 version not 2");
  EXPECT_EQ(parse(proxy_v2(0x22, 0x11, inet4_block())).reason, "v2 command not LOCAL or PROXY");
  EXPECT_EQ(parse(proxy_v2(0x21, 0x41, inet4_block())).reason, "v2 address family unknown");
  EXPECT_EQ(parse(proxy_v2(0x21, 0x13, inet4_block())).reason, "v2 transport unknown");
  // Judged as soon as the byte is there, before the length is known.
  EXPECT_EQ(parse(kProxyV2Signature + "\x11").status, ProxyParseStatus::invalid);
  EXPECT_EQ(parse(kProxyV2Signature + "\x21\x41").status, ProxyParseStatus::invalid);
}

TEST(ProxyHeaderV2, WrongSignature) {
  std::string header = proxy_v2(0x21, 0x11, inet4_block());
  header[7] = 'X';
  EXPECT_EQ(parse(header).reason, "no PROXY protocol signature");
}

TEST(ProxyHeaderV2, AddressBlockShorterThanItsFamily) {
  EXPECT_EQ(parse(proxy_v2(0x21, 0x11, inet4_block().substr(0, 11))).reason,
            "v2 address block shorter than its family needs");
  EXPECT_EQ(parse(proxy_v2(0x21, 0x21, inet4_block())).reason,
            "v2 address block shorter than its family needs");
  EXPECT_EQ(parse(proxy_v2(0x21, 0x31, inet6_block())).reason,
            "v2 address block shorter than its family needs");
}

TEST(ProxyHeaderV2, TruncatedIsNeedMore) {
  const std::string header = proxy_v2(0x21, 0x11, inet4_block());
  EXPECT_EQ(parse(header.substr(0, 27)).status, ProxyParseStatus::need_more);
  EXPECT_EQ(parse(header.substr(0, 15)).status, ProxyParseStatus::need_more);
  EXPECT_EQ(parse(header.substr(0, 1)).status, ProxyParseStatus::need_more);
}

TEST(ProxyHeaderV2, OversizedIsRefusedFromTheLengthAlone) {
  const std::string largest =
      proxy_v2(0x21, 0x11, inet4_block() + tlv(0x04, std::string(505, 'p')));
  ASSERT_EQ(largest.size(), kMaxProxyHeader);
  EXPECT_EQ(parse(largest).status, ProxyParseStatus::complete);
  const std::string over = proxy_v2(0x21, 0x11, inet4_block() + tlv(0x04, std::string(506, 'p')));
  // The 16 fixed bytes are enough to know.
  const ProxyParse result = parse(over.substr(0, 16));
  EXPECT_EQ(result.status, ProxyParseStatus::invalid);
  EXPECT_EQ(result.reason, "v2 header longer than 536 bytes");
  EXPECT_EQ(parse(kProxyV2Signature + "\x21\x11\xff\xff").reason,
            "v2 header longer than 536 bytes");
}
