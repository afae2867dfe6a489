#include "doorman/server/http_request.hpp"

#include <fmt/format.h>

namespace doorman::server {
namespace {

bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

std::string_view reason_of(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

}  // namespace

RequestHead parse_request_head(std::string_view received) {
  RequestHead head;
  const auto end = received.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    // A request line that is already wrong need not wait for the rest.
    head.status = received.size() >= kMaxRequestHead ? RequestHead::Status::too_large
                                                     : RequestHead::Status::incomplete;
    return head;
  }
  if (end + 4 > kMaxRequestHead) {
    head.status = RequestHead::Status::too_large;
    return head;
  }
  const std::string_view line = received.substr(0, received.find("\r\n"));
  const auto first_space = line.find(' ');
  const auto last_space = line.rfind(' ');
  head.status = RequestHead::Status::malformed;
  if (first_space == std::string_view::npos || first_space == last_space) return head;
  const std::string_view method = line.substr(0, first_space);
  const std::string_view target = line.substr(first_space + 1, last_space - first_space - 1);
  const std::string_view version = line.substr(last_space + 1);
  if (!is_token(method) || target.empty() || target.front() != '/' ||
      (version != "HTTP/1.1" && version != "HTTP/1.0")) {
    return head;
  }
  head.status = RequestHead::Status::complete;
  head.method = method;
  head.path = target.substr(0, target.find('?'));
  return head;
}

Route route(std::string_view method, std::string_view path) {
  Page page = Page::none;
  if (path == "/") page = Page::status_page;
  if (path == "/metrics") page = Page::metrics;
  if (path == "/status.json") page = Page::status_json;
  if (page == Page::none) return {404, Page::none};
  if (method != "GET" && method != "HEAD") return {405, Page::none};
  return {200, page};
}

std::string http_response(int status, std::string_view content_type, std::string_view body,
                          bool head_only) {
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n"
      "{}Connection: close\r\n\r\n",
      status, reason_of(status), content_type, body.size(),
      status == 405 ? "Allow: GET, HEAD\r\n" : "");
  if (!head_only) out += body;
  return out;
}

std::string http_error_response(int status) {
  return http_response(status, "text/plain; charset=utf-8",
                       status == 503   ? "too many scrapes at once\n"
                       : status == 431 ? "request head too large\n"
                       : status == 408 ? "request timed out\n"
                       : status == 405 ? "method not allowed\n"
                       : status == 404 ? "not found\n"
                                       : "bad request\n");
}

}  // namespace doorman::server
