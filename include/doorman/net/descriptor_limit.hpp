#pragma once
// The descriptor limit (RLIMIT_NOFILE) as both programs need it: every connection is a
// descriptor, and the soft limit is often 1024 while far more are allowed.

#include <cstddef>
#include <string>

namespace doorman {

struct DescriptorLimit {
  size_t limit = 0;  // the soft limit now in force
  // When `limit` is below what was wanted: the limit or sysctl that stopped it, said so that a
  // user can change it ("the hard limit (ulimit -Hn) ..."); empty otherwise.
  std::string short_because;
};

// Raises the soft limit to the hard one, and the hard one itself towards `wanted` when the
// process may (CAP_SYS_RESOURCE; at most fs.nr_open). Never lowers either.
DescriptorLimit raise_descriptor_limit(size_t wanted) noexcept;

}  // namespace doorman
