#!/usr/bin/env bash
# Two doorman-server instances behind HAProxy on loopback, in the foreground; Ctrl-C stops all
# three. Then: doorman-client --port "$FRONT_PORT" 1, or doorman-bench --port "$FRONT_PORT".
#
#   examples/haproxy/run.sh          (FRONT_PORT=8001 DOORMAN1_PORT=8101 DOORMAN2_PORT=8102)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export FRONT_PORT=${FRONT_PORT:-8001} DOORMAN1_PORT=${DOORMAN1_PORT:-8101}
export DOORMAN2_PORT=${DOORMAN2_PORT:-8102}
server=${DOORMAN_SERVER:-$here/../../build/doorman-server}

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait
}
trap stop INT TERM EXIT

for port in "$DOORMAN1_PORT" "$DOORMAN2_PORT"; do
  "$server" --listen "127.0.0.1:$port" --proxy-protocol --log-level debug &
  pids+=($!)
done
haproxy -db -f "$here/haproxy.cfg" &
pids+=($!)
echo "run.sh: HAProxy on 127.0.0.1:$FRONT_PORT, doorman on $DOORMAN1_PORT and $DOORMAN2_PORT" >&2
wait -n  # the first one to exit ends the demo
