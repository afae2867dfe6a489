#pragma once
// Running as another user (--user, --group): the server binds its listeners and reads its
// password as root, then gives root up for good before it serves anyone. Main thread.

#include <sys/types.h>

#include <optional>
#include <string>

#include "doorman/base/result.hpp"

namespace doorman::server {

struct Identity {
  std::string user;
  uid_t uid = 0;
  gid_t gid = 0;
  // --group given: the supplementary groups are that group alone; otherwise the user's own
  // (initgroups), and the group is the user's primary group.
  bool group_given = false;
};

// The user and group named on the command line. An unknown name is an Error with no errno.
Result<Identity> resolve_identity(const std::string& user, const std::optional<std::string>& group);

// setgroups, setgid, setuid, in that order (each later one needs the privilege the one before
// it still has), then checks that every real, effective and saved id is the target's and that
// root cannot be taken back.
Result<void> drop_privileges(const Identity& identity);
// Whether every user and group id (real, effective, saved) already is the identity's: a process
// started by an upgrade of a server that dropped to it has nothing left to drop (and could not).
bool running_as(const Identity& identity);

// Running as root with nothing to drop to: the caller warns.
bool running_as_root();

}  // namespace doorman::server
