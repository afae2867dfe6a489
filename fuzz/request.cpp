// The request path, bytes in and reply out: proto::judge, then reply_for. The input is a password
// and a request: its first byte is the password's length, the next bytes the password, the rest
// the request. Properties: the reply is one of the tutorial's two, and the welcome iff the request
// equals the password byte for byte (so a request always welcomes itself as password).

#include "check.hpp"
#include "doorman/proto/judge.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace proto = doorman::proto;

namespace {

void check_reply(std::string_view request, std::string_view password) {
  const std::string_view reply = proto::reply_for(proto::judge(request, password));
  FUZZ_CHECK(reply == proto::kWelcome || reply == proto::kGoAway);
  FUZZ_CHECK((reply == proto::kWelcome) == (request == password));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string_view password = rest.substr(0, data[0]);
  const std::string_view request = rest.substr(password.size());
  check_reply(request, password);
  check_reply(password, password);
  check_reply(request, request);
  return 0;
}
