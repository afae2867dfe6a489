#!/usr/bin/env bash
# Installs the Debian 12 packages that the build, the tests and the demo need, and only the
# missing ones: with everything present it returns at once and touches no package list.
set -euo pipefail

packages=(
  g++ make cmake ninja-build pkg-config      # the build
  libgtest-dev libgmock-dev libbenchmark-dev # tests and benchmarks
  libcli11-dev libfmt-dev                    # option parsing, formatting
  libtomlplusplus-dev                        # the configuration file (--config)
  python3 socat netcat-openbsd               # the clients and listeners of the integration tests
  util-linux procps strace iproute2          # setpriv, prlimit, ps, strace, ss
  clang-format                               # the format check
  clang-14 libfuzzer-14-dev                  # the fuzz targets (make fuzz)
  libsystemd-dev                             # socket activation and readiness (sd_listen_fds, sd_notify)
  systemd                                    # systemd-socket-activate, systemd-analyze (the unit tests)
  groff-base                                 # the man page check
  python3-prometheus-client                  # parses /metrics in the metrics tests
  chromium-headless-shell                    # renders the status page in the metrics tests
  libasio-dev                                # the Asio reference server (bench/peers)
  liburing-dev                               # the io_uring engine (--engine io_uring)
  python3-matplotlib                         # the benchmark's plot (make bench)
  haproxy nginx libnginx-mod-stream          # the balancers of examples/ and their tests
  linux-perf valgrind                        # bench/cost_per_connection.py: syscall tracepoints, callgrind
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
