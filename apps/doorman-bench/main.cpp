// doorman-bench: the load generator for the tutorial's protocol (SPEC B8). Many clients connect,
// send the message and read the reply until the server closes; the report goes to stdout.
// Options -> Config -> run. Exit 0 when the run completed, even with errors: they are what the
// report is about; 69 when nothing could connect at all.

#include <cstdio>
#include <string>

#include "doorman/bench/command_line.hpp"
#include "doorman/bench/generator.hpp"
#include "doorman/cli/options.hpp"

int main(int argc, char** argv) {
  using namespace doorman;
  CLI::App app{
      "Load generator for the doorman protocol: clients connect, send the message and "
      "check the reply; the result has connections/s, latency percentiles and errors.",
      "doorman-bench"};
  bench::CommandLine line;
  bench::define_options(app, line);

  return options::run(app, argc, argv, [&] {
    auto config = bench::finish(app, line);
    if (!config) {
      const auto& error = config.error();
      std::fprintf(stderr, "doorman-bench: %s%s%s\n", error.option.c_str(),
                   error.option.empty() ? "" : ": ", error.reason.c_str());
      return EX_USAGE;
    }
    auto report = bench::run(*config);
    if (!report) {
      std::fprintf(stderr, "doorman-bench: %s\n", report.error().message.c_str());
      return bench::exit_status(report.error().failure);
    }
    const std::string text =
        line.json ? bench::format_json(*report) + "\n" : bench::format_text(*report);
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout)) {
      std::perror("doorman-bench: write to stdout");
      return EX_IOERR;
    }
    if (bench::unreachable(*report)) {
      std::fprintf(stderr, "doorman-bench: cannot reach %s: every connect was refused\n",
                   report->target.c_str());
      return EX_UNAVAILABLE;
    }
    return EX_OK;
  });
}
