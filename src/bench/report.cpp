#include "doorman/bench/report.hpp"

#include <fmt/format.h>

#include <numeric>

#include "doorman/base/printable.hpp"

namespace doorman::bench {
namespace {

// Every kind, in the enum's order (the index is the kind): how people read it and its JSON key.
struct KindName {
  ErrorKind kind;
  std::string_view text;
  std::string_view key;
};
constexpr std::array<KindName, kErrorKinds> kKinds = {{
    {ErrorKind::connect_refused, "connect refused", "connect_refused"},
    {ErrorKind::connect_timeout, "connect timeout", "connect_timeout"},
    {ErrorKind::reset, "reset", "reset"},
    {ErrorKind::closed_without_reply, "closed without reply", "closed_without_reply"},
    {ErrorKind::wrong_reply, "wrong reply", "wrong_reply"},
    {ErrorKind::timeout, "timeout", "timeout"},
    {ErrorKind::other, "other", "other"},
}};
static_assert([] {
  for (size_t i = 0; i < kKinds.size(); ++i) {
    if (static_cast<size_t>(kKinds[i].kind) != i) return false;
  }
  return true;
}());

struct Percentile {
  double p;
  std::string_view name;
};
constexpr std::array<Percentile, 4> kPercentiles = {
    {{50, "p50"}, {90, "p90"}, {99, "p99"}, {99.9, "p99.9"}}};

double seconds(std::chrono::nanoseconds duration) {
  return std::chrono::duration<double>(duration).count();
}
double micros(std::chrono::nanoseconds duration) {
  return static_cast<double>(duration.count()) / 1e3;
}

// Three significant figures in the unit that reads best: 812us, 2.41ms, 5.00s.
std::string human(std::chrono::nanoseconds duration) {
  const double us = micros(duration);
  if (us < 1000) return fmt::format("{:.3g}us", us);
  if (us < 1e6) return fmt::format("{:.3g}ms", us / 1e3);
  return fmt::format("{:.3f}s", us / 1e6);
}

std::string errors_text(const Tally& tally) {
  std::string text;
  for (const KindName& named : kKinds) {
    const uint64_t count = tally.errors[static_cast<size_t>(named.kind)];
    if (count == 0) continue;
    if (!text.empty()) text += ", ";
    text += fmt::format("{} {}", named.text, count);
  }
  return text.empty() ? "none" : text;
}

std::string json_string(std::string_view text) {
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      quoted += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else {
      quoted += c;
    }
  }
  return quoted + '"';
}

// The first wrong reply, escaped: it comes from the network and may hold anything.
std::string first_wrong_text(std::string_view label, const Tally& tally,
                             std::string_view expected) {
  if (tally.errors[static_cast<size_t>(ErrorKind::wrong_reply)] == 0) return {};
  return fmt::format("{}{} (expected {})\n", label, quoted(tally.first_wrong_reply), expected);
}

std::string json_latency(const Histogram& latency) {
  std::string fields;
  for (const Percentile& percentile : kPercentiles) {
    fields +=
        fmt::format("\"{}\":{:.1f},", percentile.name, micros(latency.percentile(percentile.p)));
  }
  return fmt::format("{{\"count\":{},\"min\":{:.1f},\"mean\":{:.1f},{}\"max\":{:.1f}}}",
                     latency.count(), micros(latency.min()), micros(latency.mean()), fields,
                     micros(latency.max()));
}

std::string json_tally(const Tally& tally) {
  std::string errors;
  for (const KindName& named : kKinds) {
    if (!errors.empty()) errors += ',';
    errors += fmt::format("\"{}\":{}", named.key, tally.errors[static_cast<size_t>(named.kind)]);
  }
  return fmt::format(
      "{{\"ok\":{},\"errors\":{},\"errors_by_kind\":{{{}}},\"last_other_error\":{},"
      "\"first_wrong_reply\":{},\"latency_us\":{}}}",
      tally.ok, tally.error_count(), errors, json_string(tally.last_other),
      json_string(printable(tally.first_wrong_reply)), json_latency(tally.latency));
}

}  // namespace

std::string_view describe(ErrorKind kind) noexcept {
  return kKinds[static_cast<size_t>(kind)].text;
}

std::string_view json_key(ErrorKind kind) noexcept {
  return kKinds[static_cast<size_t>(kind)].key;
}

uint64_t Tally::error_count() const noexcept {
  return std::accumulate(errors.begin(), errors.end(), uint64_t{0});
}

void Tally::merge(const Tally& other) {
  ok += other.ok;
  for (size_t i = 0; i < kErrorKinds; ++i)
    errors[i] += other.errors[i];
  latency.merge(other.latency);
  if (!other.last_other.empty()) last_other = other.last_other;
  if (first_wrong_reply.empty()) first_wrong_reply = other.first_wrong_reply;
}

double Report::connections_per_second() const noexcept {
  const double span = seconds(elapsed);
  return span > 0 ? static_cast<double>(measured.ok) / span : 0;
}

uint64_t total_errors(const Report& report) noexcept {
  return report.measured.error_count() + report.silent_held.error_count() +
         report.slow_clients.error_count();
}

bool unreachable(const Report& report) noexcept {
  const Tally& tally = report.measured;
  const uint64_t refused = tally.errors[static_cast<size_t>(ErrorKind::connect_refused)];
  return tally.ok == 0 && refused > 0 && refused == tally.error_count();
}

std::string format_text(const Report& report) {
  const Tally& measured = report.measured;
  std::string text =
      fmt::format("target       {} ({}), {} concurrent, {}, {} thread{}\n", report.target,
                  report.type, report.concurrency,
                  report.rate > 0 ? fmt::format("open loop at {:g}/s", report.rate) : "closed loop",
                  report.threads, report.threads == 1 ? "" : "s");
  text +=
      fmt::format("connections  {} ok, {} errors in {:.3f}s: {:.0f} per second\n", measured.ok,
                  measured.error_count(), seconds(report.elapsed), report.connections_per_second());
  if (measured.latency.count() > 0) {
    text += "latency     ";
    for (const Percentile& percentile : kPercentiles) {
      text +=
          fmt::format(" {} {}", percentile.name, human(measured.latency.percentile(percentile.p)));
    }
    text += fmt::format(" max {}\n", human(measured.latency.max()));
  }
  text += fmt::format("errors       {}\n", errors_text(measured));
  if (!measured.last_other.empty()) text += fmt::format("last other   {}\n", measured.last_other);
  text += first_wrong_text("first wrong  ", measured, quoted(report.expect));
  if (report.unfinished > 0 || report.interrupted) {
    text += fmt::format("unfinished   {} ({})\n", report.unfinished,
                        report.interrupted ? "interrupted" : "in flight when the duration ended");
  }
  if (report.late_starts > 0) {
    text += fmt::format("late starts  {} (started more than 2ms behind the schedule)\n",
                        report.late_starts);
  }
  if (report.silent > 0) {
    const Tally& silent = report.silent_held;
    text += fmt::format("silent       {} held; {} closed by the server", report.silent, silent.ok);
    if (silent.ok > 0) {
      text += fmt::format(" after p50 {} max {}", human(silent.latency.percentile(50)),
                          human(silent.latency.max()));
    }
    text += fmt::format("; errors: {}\n", errors_text(silent));
    text += first_wrong_text("silent wrong ", silent, "only the close");
  }
  if (report.slow > 0) {
    const Tally& slow = report.slow_clients;
    text += fmt::format("slow         {} ok, p50 {}; errors: {}\n", slow.ok,
                        human(slow.latency.percentile(50)), errors_text(slow));
    text += first_wrong_text("slow wrong   ", slow, quoted(report.expect));
  }
  return text;
}

std::string format_json(const Report& report) {
  return fmt::format(
      "{{\"target\":{},\"type\":{},\"concurrency\":{},\"rate\":{},\"threads\":{},"
      "\"elapsed_s\":{:.6f},\"ok\":{},\"errors\":{},\"connections_per_second\":{:.1f},"
      "\"unfinished\":{},\"late_starts\":{},\"interrupted\":{},\"expect\":{},\"connections\":{},"
      "\"silent\":{{\"held\":{},\"outcome\":{}}},\"slow\":{{\"clients\":{},\"outcome\":{}}}}}",
      json_string(report.target), json_string(report.type), report.concurrency,
      report.rate > 0 ? fmt::format("{:g}", report.rate) : "null", report.threads,
      seconds(report.elapsed), report.measured.ok, report.measured.error_count(),
      report.connections_per_second(), report.unfinished, report.late_starts, report.interrupted,
      json_string(printable(report.expect)), json_tally(report.measured), report.silent,
      json_tally(report.silent_held), report.slow, json_tally(report.slow_clients));
}

}  // namespace doorman::bench
