// doorman-ct: does comparing a request with the password take the same time whatever the guess
// (B10)? The method is dudect's (Reparaz, Balasch, Verbauwhede, "Dude, is my code constant
// time?", 2017): time millions of comparisons of two classes of guesses, the class of each drawn
// at random so that noise falls on both alike, and ask Welch's t-test whether the two timing
// distributions have the same mean — on the raw timings, on timings cropped at many percentiles
// (a leak can hide in the fast ones under the slow tail of interrupts), and on the squared
// distances from the mean (a leak in the spread, the "second order" test). |t| >= 4.5 is a leak.
//
// A control proves the method can see one: the same harness run on an early-exit loop, the
// comparison a naive server would write.

#include <sched.h>
#include <sysexits.h>
#include <time.h>

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "doorman/proto/judge.hpp"
#include "welch_t_test.hpp"

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace {

using doorman::ct::WelchTTest;
using doorman::proto::Verdict;

constexpr double kLeakThreshold = 4.5;  // dudect's: beyond it the timings certainly differ
constexpr int kCrops = 100;             // dudect's number of cropping percentiles
constexpr size_t kBatch = 10'000;       // measurements timed before their statistics are taken
constexpr size_t kWarmUp = 10;          // dudect drops the first few timings of every batch
constexpr uint64_t kSecondOrderAfter = 10'000;  // the mean must settle before distances from it

#if defined(__x86_64__)
constexpr std::string_view kTickUnit = "TSC cycles";
// The fences keep the timed call from being reordered around the reads of the counter.
inline uint64_t ticks_before() noexcept {
  _mm_lfence();
  return __rdtsc();
}
inline uint64_t ticks_after() noexcept {
  unsigned cpu = 0;
  const uint64_t ticks = __rdtscp(&cpu);
  _mm_lfence();
  return ticks;
}
#else
constexpr std::string_view kTickUnit = "ns";
inline uint64_t ticks_now() noexcept {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC_RAW, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000U + static_cast<uint64_t>(now.tv_nsec);
}
inline uint64_t ticks_before() noexcept {
  return ticks_now();
}
inline uint64_t ticks_after() noexcept {
  return ticks_now();
}
#endif

using Comparison = Verdict (*)(std::string_view request, std::string_view password) noexcept;

// The control: stops at the first byte that differs, so a guess that is right but for its last
// byte takes longer than one wrong from the start. Not inlined, so it is called exactly as
// judge is.
[[gnu::noinline]] Verdict early_exit_judge(std::string_view request,
                                           std::string_view password) noexcept {
  if (request.size() != password.size()) return Verdict::go_away;
  for (size_t i = 0; i < request.size(); ++i) {
    if (request[i] != password[i]) return Verdict::go_away;
  }
  return Verdict::welcome;
}

struct Experiment {
  std::string_view comparison_name;
  Comparison compare;
  size_t password_length;
  bool control;

  // One measurement times this many calls with the same guess. A counter that advances in
  // coarse steps (26 cycles on some virtual machines, longer than a whole 1-byte comparison)
  // would otherwise put nearly every timing on one or two values, and a crop of one value
  // says nothing. A difference of d per call becomes one of d * calls.
  size_t calls_per_measurement() const { return std::max<size_t>(1, 512 / password_length); }
};

constexpr std::array kExperiments{
    Experiment{"judge", &doorman::proto::judge, 1, false},
    Experiment{"judge", &doorman::proto::judge, 32, false},
    Experiment{"judge", &doorman::proto::judge, 1024, false},
    Experiment{"early-exit loop (control)", &early_exit_judge, 32, true},
    Experiment{"early-exit loop (control)", &early_exit_judge, 1024, true},
};

// Class A (0) and class B (1), each a guess of the password's length. With one byte, "wrong in
// the last byte" and "wrong in the first" are the same guess, so class A is the right guess.
std::string_view class_a_description(size_t length) {
  return length == 1 ? "the password itself" : "wrong in the last byte only";
}
constexpr std::string_view kClassBDescription = "random bytes, wrong from the first";

std::string make_password(size_t length, std::mt19937_64& random) {
  if (length == 1) return "1";  // the tutorial's
  std::string password(length, '\0');
  std::uniform_int_distribution<int> printable(0x21, 0x7e);
  for (char& c : password)
    c = static_cast<char>(printable(random));
  return password;
}

char different_byte(char from, std::mt19937_64& random) {
  std::uniform_int_distribution<int> nonzero(1, 255);
  return static_cast<char>(static_cast<unsigned char>(from) ^ nonzero(random));
}

void make_guess(char* guess, std::string_view password, int which, std::mt19937_64& random) {
  if (which == 0) {
    std::copy(password.begin(), password.end(), guess);
    if (password.size() > 1) guess[password.size() - 1] = different_byte(password.back(), random);
    return;
  }
  std::uniform_int_distribution<int> any_byte(0, 255);
  for (size_t i = 0; i < password.size(); ++i)
    guess[i] = static_cast<char>(any_byte(random));
  guess[0] = different_byte(password[0], random);
}

// One batch: the guesses of both classes in one buffer, so that where a guess lives in memory
// (and in the caches) says nothing of its class; then the timings, in that random order.
class Batch {
 public:
  explicit Batch(size_t length)
      : length_(length), guesses_(kBatch * length), which_(kBatch), ticks_(kBatch) {}

  void measure(const Experiment& experiment, std::string_view password, std::mt19937_64& random) {
    std::bernoulli_distribution coin(0.5);
    for (size_t i = 0; i < kBatch; ++i) {
      which_[i] = coin(random) ? 1 : 0;
      make_guess(&guesses_[i * length_], password, which_[i], random);
    }
    const size_t calls = experiment.calls_per_measurement();
    unsigned verdicts = 0;
    for (size_t i = 0; i < kBatch; ++i) {
      const std::string_view guess(&guesses_[i * length_], length_);
      const uint64_t before = ticks_before();
      for (size_t call = 0; call < calls; ++call) {
        verdicts += static_cast<unsigned>(experiment.compare(guess, password));
      }
      const uint64_t after = ticks_after();
      ticks_[i] = static_cast<int64_t>(after - before);
    }
    // The verdicts are used, so no call can be dropped as dead.
    verdict_sink_ = verdict_sink_ + verdicts;
  }

  size_t size() const { return kBatch; }
  int which(size_t i) const { return which_[i]; }
  int64_t ticks(size_t i) const { return ticks_[i]; }
  std::vector<int64_t> sorted_ticks() const {
    std::vector<int64_t> sorted = ticks_;
    std::sort(sorted.begin(), sorted.end());
    return sorted;
  }

 private:
  size_t length_;
  std::vector<char> guesses_;
  std::vector<int> which_;
  std::vector<int64_t> ticks_;
  inline static volatile unsigned verdict_sink_ = 0;
};

// The fraction of the timings that crop `index` keeps: dudect's 1 - 0.5^(10 (index + 1) / 100),
// from the fastest 7% up to the fastest 99.9%, dense near the slow tail.
double kept_fraction(int index) {
  return 1 - std::pow(0.5, 10.0 * (index + 1) / kCrops);
}

class Statistics {
 public:
  void add(const Batch& batch) {
    take_thresholds(batch.sorted_ticks());
    for (size_t i = kWarmUp; i < batch.size(); ++i) {
      const int64_t ticks = batch.ticks(i);
      if (ticks < 0) continue;  // the counter went backwards: a migration, not a timing
      const int which = batch.which(i);
      const auto value = static_cast<double>(ticks);
      uncropped_.push(value, which);
      for (size_t crop = 0; crop < kCrops; ++crop) {
        if (ticks < thresholds_[crop]) cropped_[crop].push(value, which);
      }
      if (uncropped_.count(0) > kSecondOrderAfter) {
        const double distance = value - uncropped_.mean(which);
        second_order_.push(distance * distance, which);
      }
    }
  }

  const WelchTTest& uncropped() const { return uncropped_; }
  const WelchTTest& cropped(int index) const { return cropped_[static_cast<size_t>(index)]; }
  const WelchTTest& second_order() const { return second_order_; }

  struct Largest {
    double t;
    std::string test;
  };
  Largest largest() const {
    Largest largest{uncropped_.t(), "uncropped"};
    auto consider = [&](double t, std::string test) {
      if (std::abs(t) > std::abs(largest.t)) largest = {t, std::move(test)};
    };
    for (int i = 0; i < kCrops; ++i)
      consider(cropped(i).t(), crop_name(i));
    consider(second_order_.t(), "second order");
    return largest;
  }

  static std::string crop_name(int index) {
    return fmt::format("crop {} (fastest {:.1f}%)", index, 100 * kept_fraction(index));
  }

 private:
  // dudect takes the thresholds from its first batch only. On a shared machine the speed drifts
  // (other work, a busy sibling hyper-thread), and thresholds from one moment can sit wholly
  // beside the timings of the next, leaving every crop with one class or none: a leak the
  // control makes plain went unseen that way. Each batch's own percentiles follow the drift;
  // they are taken over both classes together, so they favour neither.
  void take_thresholds(const std::vector<int64_t>& sorted) {
    for (int i = 0; i < kCrops; ++i) {
      const auto at = static_cast<size_t>(kept_fraction(i) * static_cast<double>(sorted.size()));
      thresholds_[static_cast<size_t>(i)] = sorted[std::min(at, sorted.size() - 1)];
    }
  }

  std::array<int64_t, kCrops> thresholds_{};
  WelchTTest uncropped_;
  std::array<WelchTTest, kCrops> cropped_;
  WelchTTest second_order_;
};

struct Options {
  uint64_t measurements = 1'000'000;
  bool assert_control = false;
  bool all_crops = false;
  uint64_t seed = std::random_device{}();
};

bool leaks(double t) {
  return std::abs(t) >= kLeakThreshold;
}

// Returns true when the verdict is the expected one: no leak for judge, a leak for the control.
bool run(const Experiment& experiment, const Options& options) {
  std::mt19937_64 random(options.seed ^ experiment.password_length);
  const std::string password = make_password(experiment.password_length, random);
  fmt::print("{}, {}-byte password, {} calls per measurement\n  class A: {}; class B: {}\n",
             experiment.comparison_name, experiment.password_length,
             experiment.calls_per_measurement(), class_a_description(experiment.password_length),
             kClassBDescription);

  Batch batch(experiment.password_length);
  Statistics statistics;
  const uint64_t batches = (2 * options.measurements + kBatch - 1) / kBatch;
  for (uint64_t b = 0; b < batches; ++b) {
    batch.measure(experiment, password, random);
    statistics.add(batch);
  }

  const WelchTTest& all = statistics.uncropped();
  fmt::print("  measurements  A {}  B {}   mean {:.1f} and {:.1f} {}\n", all.count(0), all.count(1),
             all.mean(0), all.mean(1), kTickUnit);
  fmt::print("  t             uncropped {:+.2f}", all.t());
  for (int crop : {9, 32, 65, 99}) {
    fmt::print("  fastest {:.1f}% {:+.2f}", 100 * kept_fraction(crop),
               statistics.cropped(crop).t());
  }
  fmt::print("  second order {:+.2f}\n", statistics.second_order().t());
  if (options.all_crops) {
    for (int crop = 0; crop < kCrops; ++crop) {
      fmt::print("    {:<28} t {:+8.2f}  A {:>8}  B {:>8}\n", Statistics::crop_name(crop),
                 statistics.cropped(crop).t(), statistics.cropped(crop).count(0),
                 statistics.cropped(crop).count(1));
    }
  }
  const Statistics::Largest largest = statistics.largest();
  const bool leak = leaks(largest.t);
  fmt::print("  max |t|       {:.2f} ({}, of {} tests): {}\n", std::abs(largest.t), largest.test,
             kCrops + 2,
             leak ? "the timings differ, NOT constant time" : "no difference seen, constant time");
  if (!experiment.control) return !leak;
  if (!leak) {
    fmt::print("  the control's leak was not seen{}\n",
               options.assert_control ? ": the method has no power here" : "");
  }
  return leak || !options.assert_control;
}

// The smallest non-zero difference between two reads of the counter: its resolution here.
int64_t counter_step() {
  int64_t step = std::numeric_limits<int64_t>::max();
  for (int i = 0; i < 10'000; ++i) {
    const uint64_t before = ticks_before();
    const uint64_t after = ticks_after();
    if (after > before) step = std::min(step, static_cast<int64_t>(after - before));
  }
  return step;
}

bool pin_to_one_cpu() {
  // The last CPU this process may use: the first ones take most interrupts. Migrating between
  // CPUs would add timings from two counters and two caches.
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return false;
  for (int cpu = CPU_SETSIZE - 1; cpu >= 0; --cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) return false;
    fmt::print("pinned to CPU {}\n", cpu);
    return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Is the password comparison constant time? dudect's method (B10).", "doorman-ct"};
  app.add_option("--measurements", options.measurements,
                 "measurements per class (on average: each one's class is drawn at random)")
      ->type_name("N")
      ->check(CLI::Range(uint64_t{kBatch}, uint64_t{1'000'000'000}))
      ->capture_default_str();
  app.add_option("--control", options.assert_control,
                 "assert: fail unless the control's leak is seen; report: only print it")
      ->type_name("assert|report")
      ->transform(
          CLI::CheckedTransformer(std::map<std::string, bool>{{"assert", true}, {"report", false}}))
      ->default_str("report");
  app.add_flag("--all-crops", options.all_crops, "print the t statistic of every crop");
  app.add_option("--seed", options.seed, "seed of the guesses and of their classes")
      ->type_name("N");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? EX_OK : EX_USAGE;
  }

  if (!pin_to_one_cpu()) std::perror("doorman-ct: pin to one CPU (measuring unpinned)");
  fmt::print("seed {}, |t| >= {} is a leak, timings in {} (the counter's step: {})\n\n",
             options.seed, kLeakThreshold, kTickUnit, counter_step());
  const auto start = std::chrono::steady_clock::now();
  bool every_verdict_expected = true;
  for (const Experiment& experiment : kExperiments) {
    every_verdict_expected = run(experiment, options) && every_verdict_expected;
    std::fflush(stdout);
  }
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  fmt::print("\n{} in {:.1f} s\n",
             every_verdict_expected ? "constant time" : "FAILED: see the verdicts above",
             elapsed.count());
  return every_verdict_expected ? EX_OK : 1;
}
