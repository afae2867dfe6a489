#pragma once
// The little HTTP/1.x the metrics endpoint speaks (B7): a request head parsed from the bytes
// received so far, routed to a page or to an error status, and a response with
// `Connection: close`. Pure: no I/O. Any thread.

#include <cstddef>
#include <string>
#include <string_view>

namespace doorman::server {

// A request head larger than this is refused (431) rather than buffered.
inline constexpr size_t kMaxRequestHead = 8 * 1024;

struct RequestHead {
  enum class Status { incomplete, complete, too_large, malformed };
  Status status = Status::incomplete;
  std::string_view method;  // into the bytes parsed
  std::string_view path;    // without the query
};

// `received` is everything read from the connection so far.
RequestHead parse_request_head(std::string_view received);

enum class Page { none, status_page, metrics, status_json };

struct Route {
  int status = 404;
  Page page = Page::none;
};

// GET or HEAD of a known path is 200; another method on one is 405; any other path is 404.
Route route(std::string_view method, std::string_view path);

// A whole response; `head_only` leaves the body out but keeps its Content-Length.
std::string http_response(int status, std::string_view content_type, std::string_view body,
                          bool head_only = false);

// An error status as a whole plain-text response whose body says it in words.
std::string http_error_response(int status);

}  // namespace doorman::server
