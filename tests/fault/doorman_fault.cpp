// doorman-fault: an LD_PRELOAD library that makes the server's system calls fail the way a
// loaded machine makes them fail, at a rate, so the integration tests can show that no such
// failure crashes the server, makes it spin, leaks a descriptor or loses a client it should
// have served.
//
//   DOORMAN_FAULT="send:short:0.5,recv:EINTR:0.05,accept4:EMFILE:0.01"
//   DOORMAN_FAULT_SEED=42             (optional; the same seed gives each thread the same draws)
//   DOORMAN_FAULT_LOG=/tmp/faults.log (optional; one line per injected fault, see below)
//
// A rule is CALL:ACTION:RATE. CALL is accept4, recv, send, recvmmsg, sendmmsg, epoll_wait or
// close; ACTION is an errno name (ECONNABORTED, EMFILE, ENFILE, ENOBUFS, ENOMEM, EPERM, EINTR,
// EAGAIN, and for the calls that only a bug or a dying disk makes fail: EBADF, EINVAL, EIO) or
// `short`; RATE is the probability, 0 to 1, that one call takes the fault. Rules are
// tried in the order given and the first that fires wins. Without DOORMAN_FAULT nothing changes.
//
// An errno fault fails the call without making it, as the kernel does for these errors (the
// queue, the buffers stay as they were) — except close, which Linux always performs: the
// descriptor is closed, then the error is reported. `short` makes send and recv move 1 to 5
// bytes (never all of a longer buffer, never 0), and recvmmsg and sendmmsg move fewer messages
// (at least one). Only sockets are affected by close.
//
// The log line is `CALL ERRNO PEER` (PEER: the socket's peer as `127.0.0.1:PORT`, `[::1]:PORT`,
// `unix` or `-`), so a test can tell which clients a fault hit. While any rule is set, a close
// that the kernel refuses with EBADF is logged too, as `close twice -`: a descriptor closed a
// second time (a close retried after an injected failure, say), which may have been another
// connection's by then.

#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace {

enum class Call { accept4, recv, send, recvmmsg, sendmmsg, epoll_wait, close, count };

constexpr std::array<std::string_view, static_cast<size_t>(Call::count)> kCallNames = {
    "accept4", "recv", "send", "recvmmsg", "sendmmsg", "epoll_wait", "close"};

struct ErrnoName {
  std::string_view name;
  int code;
};
constexpr std::array<ErrnoName, 11> kErrnos = {{{"ECONNABORTED", ECONNABORTED},
                                                {"EMFILE", EMFILE},
                                                {"ENFILE", ENFILE},
                                                {"ENOBUFS", ENOBUFS},
                                                {"ENOMEM", ENOMEM},
                                                {"EPERM", EPERM},
                                                {"EINTR", EINTR},
                                                {"EAGAIN", EAGAIN},
                                                {"EBADF", EBADF},
                                                {"EINVAL", EINVAL},
                                                {"EIO", EIO}}};

constexpr int kShort = -1;  // a rule's action: a short count instead of an error
constexpr int kTwice = -2;  // not an action: logged when the kernel refuses a close
constexpr size_t kShortMax = 5;

struct Rule {
  Call call;
  int action;          // an errno, or kShort
  uint64_t threshold;  // fires when a 64-bit draw is below it
  bool always;         // rate 1: fires on every draw
};

constexpr size_t kMaxRules = 32;
std::array<Rule, kMaxRules> rules;
size_t rule_count = 0;
uint64_t seed = 0x9e3779b97f4a7c15ULL;
int log_fd = -1;
std::atomic<uint64_t> next_thread{1};

// The real function: the next definition after ours in the search order.
template <typename Function>
Function* real(const char* name) {
  return reinterpret_cast<Function*>(::dlsym(RTLD_NEXT, name));
}

using Accept4 = int(int, sockaddr*, socklen_t*, int);
using Recv = ssize_t(int, void*, size_t, int);
using Send = ssize_t(int, const void*, size_t, int);
using RecvMmsg = int(int, mmsghdr*, unsigned, int, timespec*);
using SendMmsg = int(int, mmsghdr*, unsigned, int);
using EpollWait = int(int, epoll_event*, int, int);
using Close = int(int);

// splitmix64: a per-thread stream, so threads never share (or lock) a generator.
uint64_t draw() {
  thread_local uint64_t state =
      seed + next_thread.fetch_add(1, std::memory_order_relaxed) * 0xbf58476d1ce4e5b9ULL;
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

[[noreturn]] void bad_configuration(std::string_view rule, const char* why) {
  std::fprintf(stderr, "doorman-fault: bad DOORMAN_FAULT rule '%.*s': %s\n",
               static_cast<int>(rule.size()), rule.data(), why);
  std::_Exit(70);
}

void parse_rule(std::string_view text) {
  const size_t first = text.find(':');
  const size_t second = first == std::string_view::npos ? first : text.find(':', first + 1);
  if (second == std::string_view::npos) bad_configuration(text, "expected CALL:ACTION:RATE");
  const std::string_view call = text.substr(0, first);
  const std::string_view action = text.substr(first + 1, second - first - 1);
  const std::string rate_text(text.substr(second + 1));

  Rule rule{};
  const auto named = std::find(kCallNames.begin(), kCallNames.end(), call);
  if (named == kCallNames.end()) bad_configuration(text, "unknown call");
  rule.call = static_cast<Call>(named - kCallNames.begin());
  if (action == "short") {
    rule.action = kShort;
  } else {
    const auto code = std::find_if(kErrnos.begin(), kErrnos.end(),
                                   [&](const ErrnoName& one) { return one.name == action; });
    if (code == kErrnos.end()) bad_configuration(text, "unknown action");
    rule.action = code->code;
  }
  char* end = nullptr;
  const double rate = std::strtod(rate_text.c_str(), &end);
  if (end == rate_text.c_str() || *end != '\0' || !(rate >= 0.0 && rate <= 1.0)) {
    bad_configuration(text, "the rate must be a number from 0 to 1");
  }
  rule.always = rate >= 1.0;
  rule.threshold = rule.always ? 0 : static_cast<uint64_t>(rate * 18446744073709551616.0);
  if (rule_count == kMaxRules) bad_configuration(text, "too many rules");
  rules[rule_count++] = rule;
}

void configure() {
  const char* faults = std::getenv("DOORMAN_FAULT");
  if (faults == nullptr) return;
  if (const char* given = std::getenv("DOORMAN_FAULT_SEED")) {
    seed = std::strtoull(given, nullptr, 0);
  }
  if (const char* path = std::getenv("DOORMAN_FAULT_LOG")) {
    log_fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  }
  std::string_view rest(faults);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view one = rest.substr(0, comma);
    if (!one.empty()) parse_rule(one);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
}

// Set up when the library is loaded, after the globals above (a dynamic initialisation, in
// order); a call before it (from another library's initialisation) sees no rule.
[[maybe_unused]] const bool configured = (configure(), true);

// The action of the first rule for `call` that fires, or 0: no fault this time.
int fault_for(Call call) {
  for (size_t i = 0; i < rule_count; ++i) {
    const Rule& rule = rules[i];
    if (rule.call != call) continue;
    if (rule.always || draw() < rule.threshold) return rule.action;
  }
  return 0;
}

std::string_view errno_name(int code) {
  for (const ErrnoName& one : kErrnos) {
    if (one.code == code) return one.name;
  }
  return code == kShort ? "short" : code == kTwice ? "twice" : "?";
}

void record(Call call, int action, int fd) {
  if (log_fd < 0) return;
  char peer[INET6_ADDRSTRLEN + 16] = "-";
  sockaddr_storage address{};
  socklen_t size = sizeof(address);
  if (fd >= 0 && ::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0) {
    char host[INET6_ADDRSTRLEN] = "";
    if (address.ss_family == AF_INET) {
      const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
      ::inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
      std::snprintf(peer, sizeof(peer), "%s:%u", host, ntohs(v4->sin_port));
    } else if (address.ss_family == AF_INET6) {
      const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
      ::inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
      std::snprintf(peer, sizeof(peer), "[%s]:%u", host, ntohs(v6->sin6_port));
    } else {
      std::snprintf(peer, sizeof(peer), "unix");
    }
  }
  const std::string_view name = kCallNames[static_cast<size_t>(call)];
  const std::string_view what = errno_name(action);
  char line[160];
  const int length =
      std::snprintf(line, sizeof(line), "%.*s %.*s %s\n", static_cast<int>(name.size()),
                    name.data(), static_cast<int>(what.size()), what.data(), peer);
  // One write per line: O_APPEND keeps the lines of concurrent threads whole.
  if (length > 0) {
    [[maybe_unused]] const ssize_t written = ::write(log_fd, line, static_cast<size_t>(length));
  }
}

// Fails the call: records it, and sets errno last (recording makes system calls).
template <typename Value>
Value fail(Call call, int code, int fd) {
  record(call, code, fd);
  errno = code;
  return static_cast<Value>(-1);
}

size_t short_length(size_t length) {
  return 1 + static_cast<size_t>(draw() % std::min(kShortMax, length - 1));
}

bool is_socket(int fd) {
  struct stat status {};
  return ::fstat(fd, &status) == 0 && S_ISSOCK(status.st_mode);
}

}  // namespace

extern "C" {

int accept4(int listener, sockaddr* address, socklen_t* size, int flags) {
  const int action = fault_for(Call::accept4);
  if (action > 0) return fail<int>(Call::accept4, action, -1);
  static Accept4* const next = real<Accept4>("accept4");
  return next(listener, address, size, flags);
}

ssize_t recv(int fd, void* buffer, size_t length, int flags) {
  const int action = fault_for(Call::recv);
  if (action > 0) return fail<ssize_t>(Call::recv, action, fd);
  if (action == kShort && length > 1) {
    record(Call::recv, action, fd);
    length = short_length(length);
  }
  static Recv* const next = real<Recv>("recv");
  return next(fd, buffer, length, flags);
}

ssize_t send(int fd, const void* buffer, size_t length, int flags) {
  const int action = fault_for(Call::send);
  if (action > 0) return fail<ssize_t>(Call::send, action, fd);
  if (action == kShort && length > 1) {
    record(Call::send, action, fd);
    length = short_length(length);
  }
  static Send* const next = real<Send>("send");
  return next(fd, buffer, length, flags);
}

int recvmmsg(int fd, mmsghdr* messages, unsigned count, int flags, timespec* timeout) {
  const int action = fault_for(Call::recvmmsg);
  if (action > 0) return fail<int>(Call::recvmmsg, action, fd);
  if (action == kShort && count > 1) {
    record(Call::recvmmsg, action, fd);
    count = static_cast<unsigned>(short_length(count));
  }
  static RecvMmsg* const next = real<RecvMmsg>("recvmmsg");
  return next(fd, messages, count, flags, timeout);
}

int sendmmsg(int fd, mmsghdr* messages, unsigned count, int flags) {
  const int action = fault_for(Call::sendmmsg);
  if (action > 0) return fail<int>(Call::sendmmsg, action, fd);
  if (action == kShort && count > 1) {
    record(Call::sendmmsg, action, fd);
    count = static_cast<unsigned>(short_length(count));
  }
  static SendMmsg* const next = real<SendMmsg>("sendmmsg");
  return next(fd, messages, count, flags);
}

int epoll_wait(int epoll, epoll_event* events, int count, int timeout_ms) {
  const int action = fault_for(Call::epoll_wait);
  if (action > 0) return fail<int>(Call::epoll_wait, action, -1);
  static EpollWait* const next = real<EpollWait>("epoll_wait");
  return next(epoll, events, count, timeout_ms);
}

int close(int fd) {
  // Found on first use, not at load time: another library's constructor may close first.
  static Close* const next = real<Close>("close");
  if (rule_count == 0) return next(fd);
  const int action = fault_for(Call::close);
  if (action > 0 && is_socket(fd)) {
    record(Call::close, action, fd);  // before the close: the peer is still known
    next(fd);
    errno = action;
    return -1;
  }
  const int closed = next(fd);
  if (closed != 0 && errno == EBADF) {
    record(Call::close, kTwice, -1);
    errno = EBADF;
  }
  return closed;
}

}  // extern "C"
