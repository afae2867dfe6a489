#!/usr/bin/env bash
# The tutorial's three outcomes, with its own numbers: a server on localhost:8001 that gives each
# client 5 s, and a client that waits 2 s and sends '1'.
set -euo pipefail
build=${1:-build}
port=${DOORMAN_DEMO_PORT:-8001}
server_log=$(mktemp)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -f "$server_log"
}
trap cleanup EXIT

# Bold commands on a terminal; plain text into a file or a pipe.
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold= plain=; fi

server=("$build/doorman-server")
[ "$port" = 8001 ] || server+=(--listen "localhost:$port")
[ -x "$build/doorman-server" ] || server=("$build/tutorial-server" "$port")
printf '%s$ %s%s   # the tutorial'"'"'s defaults: 5 s to speak, password 1\n' "$bold" "${server[*]#"$build/"}" "$plain"
"${server[@]}" >"$server_log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  grep -q 'listening on' "$server_log" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$server_log" >&2; exit 1; }
  sleep 0.05
done
grep -q 'listening on' "$server_log" || { echo "demo: the server did not start" >&2; exit 1; }
sed 's/^/  server: /' "$server_log"

client="$build/doorman-client"
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; }

step doorman-client --connect "localhost:$port" "  # waits 2 s, sends '1'"
"$client" --connect "localhost:$port"

step doorman-client --connect "localhost:$port" --message 2 "  # another password"
"$client" --connect "localhost:$port" --message 2

step doorman-client --connect "localhost:$port" --delay 6 "  # slower than the server's 5 s"
status=0
"$client" --connect "localhost:$port" --delay 6 || status=$?
echo "(client exit status $status)"
sleep 0.2  # let the server's line reach its log before we show it
grep -h 'time out' "$server_log" | sed 's/^/  server: /' || echo "demo: the server reported no time out" >&2
