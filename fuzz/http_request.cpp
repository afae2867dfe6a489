// The metrics endpoint's request parser (B7), bytes in, as received so far. Properties: a
// complete head's method is the input's first bytes, all capitals, and its path the bytes after
// the space, starting with '/', without the query, inside the request line; the verdict is the
// same whatever prefix of the input stops short of the head's end, and the same once the head's
// end has arrived, whatever follows it (bytes arrive in pieces of any size); too large only
// from kMaxRequestHead bytes on; every response it leads to is well formed.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "check.hpp"
#include "doorman/server/http_request.hpp"

namespace server = doorman::server;
using Status = server::RequestHead::Status;

namespace {

bool is_capitals(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// Status line, headers each ending in CRLF, a Content-Length that counts the body (left out for
// HEAD), Connection: close, and 405's Allow.
void check_response(std::string_view response, int status, size_t body_size, bool head_only) {
  const std::string status_line = "HTTP/1.1 " + std::to_string(status) + " ";
  FUZZ_CHECK(response.substr(0, status_line.size()) == status_line);
  const size_t head_end = response.find("\r\n\r\n");
  FUZZ_CHECK(head_end != std::string_view::npos);
  const std::string_view head = response.substr(0, head_end + 2);
  const std::string_view body = response.substr(head_end + 4);
  FUZZ_CHECK(body.size() == (head_only ? 0 : body_size));
  size_t lines = 0;
  for (size_t start = 0; start < head.size(); ++lines) {
    const size_t end = head.find("\r\n", start);
    FUZZ_CHECK(end != std::string_view::npos && end > start);
    FUZZ_CHECK(is_one_printable_line(head.substr(start, end - start)));
    start = end + 2;
  }
  FUZZ_CHECK(lines >= 3);
  FUZZ_CHECK(head.find("\r\nContent-Length: " + std::to_string(body_size) + "\r\n") !=
             std::string_view::npos);
  FUZZ_CHECK(head.find("\r\nConnection: close\r\n") != std::string_view::npos);
  FUZZ_CHECK((status == 405) == (head.find("\r\nAllow: GET, HEAD\r\n") != std::string_view::npos));
}

void check_error_response(int status) {
  const std::string response = server::http_error_response(status);
  const size_t body_start = response.find("\r\n\r\n") + 4;
  const std::string_view body = std::string_view(response).substr(body_start);
  check_response(response, status, body.size(), false);
  // One line of words a person reads in a browser or curl.
  FUZZ_CHECK(body.size() >= 2 && body.back() == '\n');
  FUZZ_CHECK(is_one_printable_line(body.substr(0, body.size() - 1)));
}

bool same_verdict(const server::RequestHead& a, const server::RequestHead& b) {
  return a.status == b.status && a.method.data() == b.method.data() &&
         a.method.size() == b.method.size() && a.path.data() == b.path.data() &&
         a.path.size() == b.path.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const HeapInput heap(data, size);
  const std::string_view input = heap.input;

  // The endpoint's other errors, sent whatever was received (a timeout, too many scrapes).
  [[maybe_unused]] static const bool checked_once =
      (check_error_response(408), check_error_response(503), true);

  const server::RequestHead whole = server::parse_request_head(input);
  const size_t terminator = input.find("\r\n\r\n");
  const size_t head_size = terminator == std::string_view::npos ? size + 1 : terminator + 4;
  switch (whole.status) {
    case Status::incomplete:
      FUZZ_CHECK(terminator == std::string_view::npos && size < server::kMaxRequestHead);
      break;
    case Status::too_large:
      FUZZ_CHECK(size >= server::kMaxRequestHead);
      FUZZ_CHECK(head_size > server::kMaxRequestHead);
      check_error_response(431);
      break;
    case Status::malformed:
      FUZZ_CHECK(head_size <= server::kMaxRequestHead);
      check_error_response(400);
      break;
    case Status::complete: {
      FUZZ_CHECK(head_size <= server::kMaxRequestHead);
      const std::string_view request_line = input.substr(0, input.find("\r\n"));
      FUZZ_CHECK(!whole.method.empty() && is_capitals(whole.method));
      FUZZ_CHECK(whole.method.data() == input.data());
      FUZZ_CHECK(input[whole.method.size()] == ' ');
      FUZZ_CHECK(whole.path.data() == input.data() + whole.method.size() + 1);
      FUZZ_CHECK(!whole.path.empty() && whole.path.front() == '/');
      FUZZ_CHECK(whole.path.find('?') == std::string_view::npos);
      FUZZ_CHECK(whole.method.size() + 1 + whole.path.size() < request_line.size());
      const server::Route routed = server::route(whole.method, whole.path);
      FUZZ_CHECK(routed.status == 200 || routed.status == 404 || routed.status == 405);
      FUZZ_CHECK((routed.status == 200) == (routed.page != server::Page::none));
      if (routed.status == 200) {
        FUZZ_CHECK(whole.method == "GET" || whole.method == "HEAD");
        // The input stands in for a page: its length, whatever its bytes.
        const bool head_only = whole.method == "HEAD";
        check_response(server::http_response(200, "text/plain", input, head_only), 200, size,
                       head_only);
      } else {
        check_error_response(routed.status);
      }
      break;
    }
  }

  // The same bytes in pieces: the two prefixes either side of the head's end, and a few more.
  const size_t step = size / 16 + 1;
  for (size_t prefix = 0; prefix <= size; prefix += step) {
    const server::RequestHead part = server::parse_request_head(input.substr(0, prefix));
    if (prefix < head_size) {
      FUZZ_CHECK(part.status == Status::incomplete || part.status == whole.status);
    } else {
      FUZZ_CHECK(same_verdict(part, whole));
    }
  }
  for (const size_t prefix : {head_size - 1, head_size}) {
    if (prefix > size) continue;
    const server::RequestHead part = server::parse_request_head(input.substr(0, prefix));
    if (prefix < head_size) {
      FUZZ_CHECK(part.status == Status::incomplete || part.status == whole.status);
    } else {
      FUZZ_CHECK(same_verdict(part, whole));
    }
  }
  return 0;
}
