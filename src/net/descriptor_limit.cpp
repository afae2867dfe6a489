#include "doorman/net/descriptor_limit.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <optional>

#include "doorman/base/error.hpp"

namespace doorman {
namespace {

// fs.nr_open: the most a hard descriptor limit may be raised to.
std::optional<rlim_t> nr_open() noexcept {
  std::FILE* file = std::fopen("/proc/sys/fs/nr_open", "re");
  if (file == nullptr) return std::nullopt;
  unsigned long long value = 0;
  const bool read = std::fscanf(file, "%llu", &value) == 1;
  std::fclose(file);
  return read ? std::optional<rlim_t>(static_cast<rlim_t>(value)) : std::nullopt;
}

size_t as_size(rlim_t value) noexcept {
  return value == RLIM_INFINITY ? size_t{1} << 20 : static_cast<size_t>(value);
}

}  // namespace

DescriptorLimit raise_descriptor_limit(size_t wanted) noexcept try {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return {1024, "getrlimit(RLIMIT_NOFILE): " + describe_errno(errno)};
  }
  std::string short_because;
  const auto wanted_limit = static_cast<rlim_t>(wanted);
  if (limit.rlim_max != RLIM_INFINITY && wanted_limit > limit.rlim_max) {
    const auto ceiling = nr_open();
    rlimit raised{};
    raised.rlim_max =
        std::max(limit.rlim_max, ceiling ? std::min(wanted_limit, *ceiling) : wanted_limit);
    raised.rlim_cur = raised.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      limit = raised;
      if (wanted_limit > limit.rlim_max) {
        short_because = "sysctl fs.nr_open is " + std::to_string(limit.rlim_max);
      }
    } else if (errno == EPERM) {
      short_because = "the hard limit " + std::to_string(limit.rlim_max) +
                      " (ulimit -Hn, LimitNOFILE=): raising it needs CAP_SYS_RESOURCE";
    } else {
      short_because = "setrlimit(RLIMIT_NOFILE): " + describe_errno(errno);
    }
  }
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      limit = raised;
    } else if (short_because.empty()) {
      short_because = "setrlimit(RLIMIT_NOFILE): " + describe_errno(errno);
    }
  }
  if (short_because.empty() && as_size(limit.rlim_cur) < wanted) {
    short_because = "the hard limit " + std::to_string(limit.rlim_max) + " (ulimit -Hn)";
  }
  return {as_size(limit.rlim_cur), std::move(short_because)};
} catch (...) {  // std::string's allocation: the limit still holds, only the reason is lost
  rlimit limit{};
  return {::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? as_size(limit.rlim_cur) : 1024, {}};
}

}  // namespace doorman
