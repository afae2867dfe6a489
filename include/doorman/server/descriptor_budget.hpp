#pragma once
// The descriptor budget (design §5, B6): the limit raised at start, what the server needs
// besides its connections, and --max-connections as applied within the rest. Main thread.

#include <cstddef>

#include "doorman/base/error.hpp"
#include "doorman/server/config.hpp"
#include "doorman/server/listeners.hpp"
#include "doorman/server/log.hpp"

namespace doorman::server {

// Below this many connections at once, a limit that comes from the descriptor limit is warned
// about: it is a machine's default (1024) or less, not a choice.
inline constexpr size_t kFewConnections = 1000;

// The soft limit raised to the hard one, and past it when --max-connections needs more and the
// process may (what stops it is a warning); the limit now in force.
size_t raise_descriptor_limit(const Config& config, const Log& log);
size_t descriptors_besides_connections(const Config& config, const Listeners& listeners);
// --max-connections as applied: at most what the descriptors allow, all of that when not given.
size_t admitted_at_most(size_t given, size_t affordable, size_t descriptors, const Log& log);
// EMFILE and ENFILE at start-up are limits the user can change: the error says which.
Error with_descriptor_hint(Error error);

}  // namespace doorman::server
