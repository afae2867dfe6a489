#!/usr/bin/env bash
# Two doorman-server instances behind nginx's stream module on loopback, in the foreground;
# Ctrl-C stops all three. Then: doorman-client --port "$FRONT_PORT" 1.
#
#   examples/nginx/run.sh            (FRONT_PORT=8001 DOORMAN1_PORT=8101 DOORMAN2_PORT=8102)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export FRONT_PORT=${FRONT_PORT:-8001} DOORMAN1_PORT=${DOORMAN1_PORT:-8101}
export DOORMAN2_PORT=${DOORMAN2_PORT:-8102}
server=${DOORMAN_SERVER:-$here/../../build/doorman-server}
RUN_DIR=$(mktemp -d /tmp/doorman-nginx.XXXXXX)
export RUN_DIR

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait
  rm -rf "$RUN_DIR"
}
trap stop INT TERM EXIT

# nginx expands no variables in its configuration: fill in the ${...} of nginx.conf.
sed -e "s|\${FRONT_PORT}|$FRONT_PORT|g" -e "s|\${DOORMAN1_PORT}|$DOORMAN1_PORT|g" \
  -e "s|\${DOORMAN2_PORT}|$DOORMAN2_PORT|g" -e "s|\${RUN_DIR}|$RUN_DIR|g" \
  "$here/nginx.conf" >"$RUN_DIR/nginx.conf"

for port in "$DOORMAN1_PORT" "$DOORMAN2_PORT"; do
  "$server" --listen "127.0.0.1:$port" --proxy-protocol --log-level debug &
  pids+=($!)
done
# -p: nginx's prefix (relative paths, temp files) in RUN_DIR; -e: its start-up log to stderr.
nginx -p "$RUN_DIR" -e stderr -c "$RUN_DIR/nginx.conf" -g 'daemon off;' &
pids+=($!)
echo "run.sh: nginx on 127.0.0.1:$FRONT_PORT, doorman on $DOORMAN1_PORT and $DOORMAN2_PORT" >&2
wait -n  # the first one to exit ends the demo
