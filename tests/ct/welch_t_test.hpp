#pragma once
// Welch's t-test between two classes of measurements, computed online: Welford's running mean and
// sum of squared deviations per class, so millions of measurements need no storage and no
// second pass, and the sum never loses precision to cancellation.

#include <array>
#include <cmath>
#include <cstdint>

namespace doorman::ct {

class WelchTTest {
 public:
  void push(double value, int which) noexcept {
    Class& c = classes_[static_cast<unsigned>(which)];
    c.count += 1;
    const double delta = value - c.mean;
    c.mean += delta / static_cast<double>(c.count);
    c.squared_deviations += delta * (value - c.mean);
  }

  uint64_t count(int which) const noexcept { return classes_[static_cast<unsigned>(which)].count; }
  double mean(int which) const noexcept { return classes_[static_cast<unsigned>(which)].mean; }

  // (mean A - mean B) / sqrt(var A / n A + var B / n B); 0 until both classes have a variance.
  double t() const noexcept {
    const Class& a = classes_[0];
    const Class& b = classes_[1];
    if (a.count < 2 || b.count < 2) return 0;
    const double variance_a = a.squared_deviations / static_cast<double>(a.count - 1);
    const double variance_b = b.squared_deviations / static_cast<double>(b.count - 1);
    const double spread = std::sqrt(variance_a / static_cast<double>(a.count) +
                                    variance_b / static_cast<double>(b.count));
    return spread == 0 ? 0 : (a.mean - b.mean) / spread;
  }

 private:
  struct Class {
    uint64_t count = 0;
    double mean = 0;
    double squared_deviations = 0;
  };
  std::array<Class, 2> classes_{};
};

}  // namespace doorman::ct
