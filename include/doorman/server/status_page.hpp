#pragma once
// The status page that --metrics serves at `/` (B7): one self-contained HTML document (inline
// CSS and JavaScript, no external script, style or font) that polls /status.json every second
// and shows uptime, counters, active connections, each worker's share and a live chart, as
// HAProxy's stats page does. Any thread.

#include <string_view>

namespace doorman::server {

extern const std::string_view kStatusPage;

}  // namespace doorman::server
