#pragma once
// The two machine-readable views of a MetricsSnapshot (B7): the Prometheus text exposition
// format 0.0.4 for /metrics, and the JSON that /status.json gives the status page. Any thread.

#include <string>
#include <string_view>

#include "doorman/server/metrics_snapshot.hpp"

namespace doorman::server {

inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

std::string prometheus_text(const MetricsSnapshot& snapshot);
std::string status_json(const MetricsSnapshot& snapshot);

}  // namespace doorman::server
