#pragma once
// Connection: everything a worker knows about one TCP or Unix stream connection, in one slot of
// a table indexed by its descriptor (as Redis's fileEvents[fd]). Worker thread only.
//
// A connection's life (docs/design.md draws it):
//
//   accept4 -> one recv at once --bytes/EOF--> judge -> send --whole--> close (or lingering)
//                  |EAGAIN                               |short
//                  v                                     v
//           waiting_request --readable--> recv   sending_reply --writable--> send the rest
//                  |deadline: "time out"                 |deadline (the request's, unchanged)
//                  v                                     v
//                close                                 close, counted as an error
//
//   lingering (replied, SHUT_WR): --readable--> discard; EOF, error or linger deadline -> close
//
//   With --proxy-protocol, the first recv is the PROXY header's (B12): complete, with request
//   bytes after it -> judge them; complete alone -> waiting_request; incomplete ->
//   reading_proxy_header (EPOLLIN, the request's deadline); invalid, EOF or deadline -> close,
//   unanswered.
//
// A connection that is answered on the first recv never leaves `accepting`: it touches no list
// and no epoll registration.

#include <cstdint>
#include <string_view>

#include "doorman/loop/deadline_list.hpp"
#include "doorman/proto/judge.hpp"

namespace doorman::server {

enum class ConnectionState : uint8_t {
  closed,                // the slot is free
  accepting,             // accepted this turn, not registered anywhere yet
  reading_proxy_header,  // --proxy-protocol: EPOLLIN, in the request list; the header's bytes so
                         // far are kept by the worker apart from the slot
  waiting_request,       // EPOLLIN, in the request list until the request or --timeout
  sending_reply,         // EPOLLOUT, still in the request list: the request's deadline stands
  lingering,             // half-closed after the reply, EPOLLIN, discarding until EOF or the linger
};

std::string_view to_string(ConnectionState state) noexcept;

// What epoll watches the descriptor for, so that a change costs one epoll_ctl and no change
// costs none.
enum class Interest : uint8_t { none, input, output };

struct Connection {
  loop::DeadlineLink link;  // the request list or the linger list, as `state` says
  ConnectionState state = ConnectionState::closed;
  Interest interest = Interest::none;
  proto::Verdict verdict = proto::Verdict::go_away;  // the reply being sent
  uint8_t reply_sent = 0;                            // bytes of the reply the kernel has taken
  // More than --read-size came: the rest must not turn the close into a reset.
  bool overflowed = false;
  // Which of its kind's TimeoutLists the connection waits in (one per --timeout a reload set).
  uint8_t deadline_list = 0;
  // --engine io_uring: the operations the kernel holds for this descriptor (a receive or a
  // send; a cancelled one until its completion). The descriptor is closed only at zero, so its
  // number cannot be reused while a completion for it may still come.
  uint8_t in_flight = 0;
};
// The table holds one slot per descriptor number in every worker: its size is part of the
// memory per connection.
static_assert(sizeof(Connection) <= 24);
static_assert(proto::kWelcome.size() < 256 && proto::kGoAway.size() < 256);

}  // namespace doorman::server
