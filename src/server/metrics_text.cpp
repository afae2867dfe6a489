#include "doorman/server/metrics_text.hpp"

#include <fmt/format.h>

#include <initializer_list>
#include <iterator>
#include <utility>

#include "doorman/version.hpp"

namespace doorman::server {
namespace {

using Labelled = std::pair<std::string_view, uint64_t>;

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void labelled(std::string& out, std::string_view name, std::string_view label,
              std::initializer_list<Labelled> values) {
  for (const auto& [value_label, value] : values)
    fmt::format_to(std::back_inserter(out), "{}{{{}=\"{}\"}} {}\n", name, label, value_label,
                   value);
}

template <typename Value>
void single(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            Value value) {
  family(out, name, type, help);
  fmt::format_to(std::back_inserter(out), "{} {}\n", name, value);
}

double seconds_of_micros(uint64_t micros) {
  return static_cast<double>(micros) / 1e6;
}

}  // namespace

std::string prometheus_text(const MetricsSnapshot& snapshot) {
  std::string out;
  out.reserve(4096);
  const CounterValues& total = snapshot.total;
  const bool stream = snapshot.type == SocketType::stream;
  // Each mode fills its own family; the other one is there too, at 0, so that dashboards and
  // alerts need not know the mode.
  const auto in_stream = [stream](uint64_t value) { return stream ? value : 0; };
  const auto in_datagram = [stream](uint64_t value) { return stream ? 0 : value; };

  single(out, "doorman_connections_accepted_total", "counter", "Connections accepted and admitted.",
         in_stream(total.accepted));
  family(
      out, "doorman_connections_total", "counter",
      "Connections finished, by outcome: welcomed (the password), rejected (another request), "
      "empty (end of stream before any byte), timed_out (nothing within --timeout), refused "
      "(over --max-connections or out of descriptors), error, bad_proxy_header (--proxy-protocol: "
      "closed unanswered, the header missing or malformed).");
  labelled(out, "doorman_connections_total", "outcome",
           {{"welcomed", in_stream(total.welcomed)},
            {"rejected", in_stream(total.rejected)},
            {"empty", in_stream(total.empty)},
            {"timed_out", in_stream(total.timed_out)},
            {"refused", in_stream(total.refused_over_limit + total.refused_no_descriptors)},
            {"error", in_stream(total.errors)},
            {"bad_proxy_header", in_stream(total.bad_proxy_header)}});
  single(out, "doorman_connections_active", "gauge", "Connections open now.", snapshot.active);
  single(out, "doorman_connections_limit", "gauge",
         "Connections open at most (--max-connections as applied).", snapshot.limit);

  family(out, "doorman_datagrams_total", "counter",
         "Datagrams received, by outcome: welcomed, rejected, dropped_loop (from the server's "
         "own address, or a reply), dropped_over_rate (over --dgram-rate), "
         "dropped_unbound_sender (no address to answer), error.");
  labelled(out, "doorman_datagrams_total", "outcome",
           {{"welcomed", in_datagram(total.welcomed)},
            {"rejected", in_datagram(total.rejected)},
            {"dropped_loop", in_datagram(total.dropped_loop)},
            {"dropped_over_rate", in_datagram(total.dropped_over_rate)},
            {"dropped_unbound_sender", in_datagram(total.dropped_unbound_sender)},
            {"error", in_datagram(total.errors)}});

  family(out, "doorman_worker_accepted_total", "counter",
         "Connections (datagrams in datagram mode) taken by each worker thread.");
  for (size_t worker = 0; worker < snapshot.accepted_per_worker.size(); ++worker) {
    fmt::format_to(std::back_inserter(out), "doorman_worker_accepted_total{{worker=\"{}\"}} {}\n",
                   worker, snapshot.accepted_per_worker[worker]);
  }

  const WaitHistogramValues& wait = snapshot.request_wait;
  family(out, "doorman_request_wait_seconds", "histogram",
         "Time from a connection's accept to its request.");
  uint64_t cumulative = 0;
  for (size_t bucket = 0; bucket < kWaitBucketsMicros.size(); ++bucket) {
    cumulative += wait.buckets[bucket];
    fmt::format_to(std::back_inserter(out), "doorman_request_wait_seconds_bucket{{le=\"{}\"}} {}\n",
                   seconds_of_micros(kWaitBucketsMicros[bucket]), cumulative);
  }
  cumulative += wait.buckets.back();
  fmt::format_to(std::back_inserter(out),
                 "doorman_request_wait_seconds_bucket{{le=\"+Inf\"}} {}\n"
                 "doorman_request_wait_seconds_sum {}\n"
                 "doorman_request_wait_seconds_count {}\n",
                 cumulative, static_cast<double>(wait.sum_nanos) / 1e9, cumulative);

  family(out, "doorman_build_info", "gauge", "The version of doorman-server, as a label.");
  fmt::format_to(std::back_inserter(out), "doorman_build_info{{version=\"{}\"}} 1\n", kVersion);
  single(out, "doorman_uptime_seconds", "gauge", "Seconds since the server started.",
         snapshot.uptime_seconds);

  const ProcessStats& process = snapshot.process;
  single(out, "process_cpu_seconds_total", "counter",
         "Total user and system CPU time spent in seconds.", process.cpu_seconds);
  single(out, "process_open_fds", "gauge", "Number of open file descriptors.", process.open_fds);
  single(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
         process.max_fds);
  single(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
         process.virtual_memory_bytes);
  single(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
         process.resident_memory_bytes);
  single(out, "process_start_time_seconds", "gauge",
         "Start time of the process since unix epoch in seconds.", process.start_time_seconds);
  return out;
}

std::string status_json(const MetricsSnapshot& snapshot) {
  const CounterValues& total = snapshot.total;
  std::string out;
  out.reserve(1024);
  auto into = std::back_inserter(out);
  // The count is taken before the sum in the histogram: a reader may see the count ahead.
  fmt::format_to(
      into,
      "{{\"version\":\"{}\",\"type\":\"{}\",\"timestamp\":{:.3f},\"uptime_seconds\":{:.3f},"
      "\"active\":{},\"limit\":{},\"counters\":{{\"accepted\":{},\"welcomed\":{},"
      "\"rejected\":{},\"empty\":{},\"timed_out\":{},\"refused\":{},\"errors\":{},"
      "\"dropped_loop\":{},\"dropped_over_rate\":{},\"dropped_unbound_sender\":{},"
      "\"bad_proxy_header\":{}}},"
      "\"request_wait\":{{\"count\":{},\"sum_seconds\":{}}},\"workers\":[",
      kVersion, to_string(snapshot.type), snapshot.timestamp_seconds, snapshot.uptime_seconds,
      snapshot.active, snapshot.limit, total.accepted, total.welcomed, total.rejected, total.empty,
      total.timed_out, total.refused_over_limit + total.refused_no_descriptors, total.errors,
      total.dropped_loop, total.dropped_over_rate, total.dropped_unbound_sender,
      total.bad_proxy_header, snapshot.request_wait.count,
      static_cast<double>(snapshot.request_wait.sum_nanos) / 1e9);
  for (size_t worker = 0; worker < snapshot.accepted_per_worker.size(); ++worker) {
    fmt::format_to(into, "{}{{\"accepted\":{}}}", worker == 0 ? "" : ",",
                   snapshot.accepted_per_worker[worker]);
  }
  out += "]}\n";
  return out;
}

}  // namespace doorman::server
