#!/usr/bin/env python3
"""The cost of the balancer hop (docs/deployment.md): doorman-bench straight at a
doorman-server, and through HAProxy running examples/haproxy/haproxy.cfg to a second one with
--proxy-protocol, in alternating rounds so both see the same machine. Prints conn/s and p99 of
each round and the through/direct ratios of their medians. A measurement, not a test.

    python3 bench/balancer_hop.py --build build [--rounds 3] [--seconds 5] [--concurrency 50]
"""

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPOSITORY = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))


def start_server(build, *args):
    process = subprocess.Popen([os.path.join(build, 'doorman-server'), '--listen', '127.0.0.1:0',
                                '--backlog', '4096', *args], stderr=subprocess.PIPE, text=True)
    for line in process.stderr:
        match = re.search(r'listening on (\S+)$', line)
        if match:
            return process, match.group(1)
    raise SystemExit(f'doorman-server exited: {process.wait()}')


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def bench(build, target, seconds, concurrency):
    output = subprocess.run([os.path.join(build, 'doorman-bench'), '--connect', target,
                             '--duration', f'{seconds}s', '--concurrency', str(concurrency),
                             '--json', '--no-progress'], capture_output=True, text=True,
                            check=True, timeout=seconds + 30).stdout
    result = json.loads(output)
    return (result['connections_per_second'], result['connections']['latency_us']['p99'],
            result['errors'])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--build', default=os.path.join(REPOSITORY, 'build'))
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--seconds', type=float, default=5)
    parser.add_argument('--concurrency', type=int, default=50)
    options = parser.parse_args()

    direct, direct_address = start_server(options.build)
    proxied, proxied_address = start_server(options.build, '--proxy-protocol')
    front_port = free_port()
    backend_port = proxied_address.rsplit(':', 1)[1]
    env = dict(os.environ, FRONT_PORT=str(front_port), DOORMAN1_PORT=backend_port,
               DOORMAN2_PORT=backend_port)  # both servers of the example: the one instance
    haproxy = subprocess.Popen(['haproxy', '-db', '-f',
                                os.path.join(REPOSITORY, 'examples', 'haproxy', 'haproxy.cfg')],
                               env=env, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)  # HAProxy prints no readiness line; its first checks run meanwhile
        figures = {'direct': [], 'haproxy': []}
        for round_number in range(1, options.rounds + 1):
            for name, target in (('direct', direct_address),
                                 ('haproxy', f'127.0.0.1:{front_port}')):
                rate, p99, errors = bench(options.build, target, options.seconds,
                                          options.concurrency)
                figures[name].append((rate, p99))
                print(f'round {round_number} {name:8} {rate:9.0f} conn/s  p99 {p99:8.0f} us  '
                      f'{errors} errors', flush=True)
        rates = {name: statistics.median(r for r, _ in rows) for name, rows in figures.items()}
        p99s = {name: statistics.median(p for _, p in rows) for name, rows in figures.items()}
        print(f'median: direct {rates["direct"]:.0f} conn/s p99 {p99s["direct"]:.0f} us; '
              f'haproxy {rates["haproxy"]:.0f} conn/s p99 {p99s["haproxy"]:.0f} us; '
              f'conn/s ratio {rates["haproxy"] / rates["direct"]:.2f}, '
              f'p99 ratio {p99s["haproxy"] / p99s["direct"]:.2f}')
    finally:
        for process in (haproxy, direct, proxied):
            process.terminate()
            process.wait(10)


if __name__ == '__main__':
    sys.exit(main())
