// The --metrics socket across an upgrade (SIGUSR2, upgrade.hpp): the old process hands it over
// with the listening sockets and stops accepting on it once the new one serves; the new one
// serves it instead of binding the address again.

#include "doorman/server/metrics_server.hpp"

namespace doorman::server {

// The socket an upgrade handed over is served if --metrics still names its address.
bool MetricsServer::is_bound_to(const SocketAddress& bound, const Address& address) {
  if (address.is_unix()) return bound.to_string() == address.to_string();
  auto resolved = address.resolve(SocketType::stream, Address::Purpose::bind);
  if (!resolved) return false;
  for (SocketAddress candidate : *resolved) {
    if (address.port() == 0) candidate.set_port(bound.port());
    if (candidate == bound) return true;
  }
  return false;
}

// Only the socket served: a name resolving to several addresses binds each, but one is served.
std::vector<Listeners::Handed> MetricsServer::to_hand_over() const {
  std::vector<Listeners::Handed> served;
  for (const Listeners::Handed& handed : listeners_.to_hand_over()) {
    if (handed.fd == listener_) served.push_back(handed);
  }
  return served;  // none once handed over
}

void MetricsServer::handed_over() {
  listeners_.handed_over();  // its files only, which the metrics thread never touches
  handing_over_.store(true, std::memory_order_release);
  loop_.wake();
}

// The new process holds the same socket: closing ours would not take it out of our epoll.
void MetricsServer::stop_accepting() {
  if (listener_ < 0) return;
  (void)loop_.remove(listener_);
  listeners_.close_own(0);
  listeners_.close_shared();
  listener_ = -1;
}

}  // namespace doorman::server
