#include "doorman/server/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "doorman/base/printable.hpp"

namespace doorman::server {
namespace {

// getpwnam_r and getgrnam_r want a buffer of a size only sysconf can suggest, and may still
// say ERANGE: grow it until the entry fits.
template <typename Entry, typename Lookup>
Result<std::optional<Entry>> look_up(const char* what, const std::string& name, Lookup lookup) {
  std::vector<char> buffer(1024);
  for (;;) {
    Entry entry{};
    Entry* found = nullptr;
    const int code = lookup(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (code == ERANGE && buffer.size() < (size_t{1} << 20)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (code != 0) return Error(std::string("look up ") + what, quoted(name), code);
    if (found == nullptr) return std::optional<Entry>{};
    return std::optional<Entry>{entry};
  }
}

// The user's groups as initgroups would set them: does group root (gid 0) come along?
bool in_root_group(const std::string& user, gid_t primary) {
  std::vector<gid_t> groups(32);
  for (;;) {
    int count = static_cast<int>(groups.size());
    if (::getgrouplist(user.c_str(), primary, groups.data(), &count) >= 0) {
      groups.resize(static_cast<size_t>(count));
      break;
    }
    if (count <= static_cast<int>(groups.size())) return false;  // no larger size suggested
    groups.resize(static_cast<size_t>(count));
  }
  return std::find(groups.begin(), groups.end(), gid_t{0}) != groups.end();
}

}  // namespace

Result<Identity> resolve_identity(const std::string& user,
                                  const std::optional<std::string>& group) {
  auto account = look_up<passwd>("user", user, ::getpwnam_r);
  if (!account) return std::move(account).error();
  if (!*account) return Error::described("look up user", quoted(user), "no such user");
  Identity identity;
  identity.user = user;
  identity.uid = (*account)->pw_uid;
  identity.gid = (*account)->pw_gid;
  if (identity.uid == 0) {
    return Error::described("run as", quoted(user), "root keeps every privilege",
                            "name an unprivileged user, such as nobody");
  }
  if (group) {
    auto named = look_up<struct group>("group", *group, ::getgrnam_r);
    if (!named) return std::move(named).error();
    if (!*named) return Error::described("look up group", quoted(*group), "no such group");
    identity.gid = (*named)->gr_gid;
    identity.group_given = true;
  }
  // Group root keeps what root's files grant their group: refused here, saying so, rather than
  // by the drop's own check (with gid 0, setgid(0) still succeeds: "root could be taken back").
  const std::string unprivileged_group = "give --group an unprivileged group, such as nogroup";
  if (identity.gid == 0 && group) {
    return Error::described("run as group", quoted(*group),
                            "refusing to run with group root (gid 0) after dropping privileges",
                            "name an unprivileged group, such as nogroup");
  }
  if (identity.gid == 0) {
    return Error::described("run as", quoted(user),
                            "its primary group is root (gid 0), which it would keep",
                            unprivileged_group);
  }
  if (!group && in_root_group(user, identity.gid)) {
    return Error::described("run as", quoted(user),
                            "it is a member of group root (gid 0), which it would keep",
                            unprivileged_group);
  }
  return identity;
}

Result<void> drop_privileges(const Identity& identity) {
  const std::string who = quoted(identity.user);
  const std::string only_root = "only root can change user: run as root, or without --user";
  if (identity.group_given) {
    if (::setgroups(1, &identity.gid) != 0) return Error("setgroups", who, errno, only_root);
  } else if (::initgroups(identity.user.c_str(), identity.gid) != 0) {
    return Error("initgroups", who, errno, only_root);
  }
  if (::setgid(identity.gid) != 0) return Error("setgid", who, errno, only_root);
  if (::setuid(identity.uid) != 0) return Error("setuid", who, errno, only_root);

  uid_t real = 0, effective = 0, saved = 0;
  if (::getresuid(&real, &effective, &saved) != 0) return Error("getresuid", who, errno);
  if (real != identity.uid || effective != identity.uid || saved != identity.uid) {
    return Error::described("setuid", who, "a real, effective or saved user id was left behind");
  }
  gid_t real_group = 0, effective_group = 0, saved_group = 0;
  if (::getresgid(&real_group, &effective_group, &saved_group) != 0) {
    return Error("getresgid", who, errno);
  }
  if (real_group != identity.gid || effective_group != identity.gid ||
      saved_group != identity.gid) {
    return Error::described("setgid", who, "a real, effective or saved group id was left behind");
  }
  // The proof: were root still within reach, this would succeed.
  if (::setuid(0) == 0 || ::setgid(0) == 0) {
    return Error::described("drop privileges", who, "root could be taken back");
  }
  return {};
}

bool running_as(const Identity& identity) {
  uid_t real = 0, effective = 0, saved = 0;
  gid_t real_group = 0, effective_group = 0, saved_group = 0;
  if (::getresuid(&real, &effective, &saved) != 0) return false;
  if (::getresgid(&real_group, &effective_group, &saved_group) != 0) return false;
  return real == identity.uid && effective == identity.uid && saved == identity.uid &&
         real_group == identity.gid && effective_group == identity.gid &&
         saved_group == identity.gid;
}

bool running_as_root() {
  return ::geteuid() == 0;
}

}  // namespace doorman::server
