// The metrics endpoint's pure parts (B7): request heads, routes, the wait histogram's buckets and
// the Prometheus text's histogram.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "doorman/server/http_request.hpp"
#include "doorman/server/metrics_text.hpp"
#include "doorman/server/wait_histogram.hpp"

namespace doorman::server {
namespace {

using Status = RequestHead::Status;

TEST(RequestHead, WaitsForTheEmptyLine) {
  EXPECT_EQ(parse_request_head("GET /metrics HTTP/1.1\r\nHost: x\r\n").status, Status::incomplete);
  const RequestHead head = parse_request_head("GET /metrics?a=b HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(head.status, Status::complete);
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.path, "/metrics");
}

TEST(RequestHead, RefusesWhatIsNotHttp1) {
  EXPECT_EQ(parse_request_head("GET /metrics HTTP/2.0\r\n\r\n").status, Status::malformed);
  EXPECT_EQ(parse_request_head("GET metrics HTTP/1.1\r\n\r\n").status, Status::malformed);
  EXPECT_EQ(parse_request_head("get / HTTP/1.1\r\n\r\n").status, Status::malformed);
  EXPECT_EQ(parse_request_head("GET\r\n\r\n").status, Status::malformed);
}

TEST(RequestHead, TooLargeWithOrWithoutItsEnd) {
  const std::string padding(kMaxRequestHead, 'a');
  EXPECT_EQ(parse_request_head("GET / HTTP/1.1\r\nX: " + padding).status, Status::too_large);
  EXPECT_EQ(parse_request_head("GET / HTTP/1.1\r\nX: " + padding + "\r\n\r\n").status,
            Status::too_large);
}

TEST(Route, KnownPathsMethodsAndTheRest) {
  EXPECT_EQ(route("GET", "/").page, Page::status_page);
  EXPECT_EQ(route("HEAD", "/metrics").page, Page::metrics);
  EXPECT_EQ(route("GET", "/status.json").page, Page::status_json);
  EXPECT_EQ(route("POST", "/metrics").status, 405);
  EXPECT_EQ(route("POST", "/elsewhere").status, 404);
  EXPECT_EQ(route("GET", "/metrics/").status, 404);
}

TEST(HttpResponse, HeadKeepsTheLengthAndDropsTheBody) {
  const std::string full = http_response(200, "text/plain", "hello");
  EXPECT_NE(full.find("Content-Length: 5\r\n"), std::string::npos);
  EXPECT_TRUE(full.ends_with("\r\n\r\nhello"));
  EXPECT_TRUE(http_response(200, "text/plain", "hello", true).ends_with("\r\n\r\n"));
  EXPECT_NE(http_response(405, "text/plain", "").find("Allow: GET, HEAD\r\n"), std::string::npos);
}

TEST(WaitHistogram, BucketsByUpperBound) {
  using std::chrono::microseconds;
  WaitHistogram histogram;
  histogram.record_none();
  histogram.record(microseconds(500));         // on the first bound: in it
  histogram.record(microseconds(501));         // just above
  histogram.record(std::chrono::seconds(10));  // beyond the last: +Inf
  const WaitHistogramValues values = histogram.read();
  EXPECT_EQ(values.count, 4U);
  EXPECT_EQ(values.buckets[0], 2U);
  EXPECT_EQ(values.buckets[1], 1U);
  EXPECT_EQ(values.buckets.back(), 1U);
  EXPECT_EQ(values.sum_nanos, 500'000U + 501'000U + 10'000'000'000U);
}

TEST(PrometheusText, HistogramIsCumulative) {
  MetricsSnapshot snapshot;
  WaitHistogram histogram;
  histogram.record_none();
  histogram.record(std::chrono::milliseconds(3));
  snapshot.request_wait = histogram.read();
  snapshot.accepted_per_worker = {2};
  const std::string text = prometheus_text(snapshot);
  EXPECT_NE(text.find("doorman_request_wait_seconds_bucket{le=\"0.0005\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("doorman_request_wait_seconds_bucket{le=\"0.005\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("doorman_request_wait_seconds_bucket{le=\"+Inf\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("doorman_request_wait_seconds_count 2\n"), std::string::npos);
  EXPECT_NE(text.find("doorman_worker_accepted_total{worker=\"0\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE doorman_connections_total counter\n"), std::string::npos);
}

}  // namespace
}  // namespace doorman::server
