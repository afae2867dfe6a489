"""Smoke test of doorman-bench against doorman-server on loopback.

usage: smoke_test.py DOORMAN_SERVER DOORMAN_BENCH

Starts the server on a kernel-chosen port, runs 200 connections through the bench and checks
its JSON result; then checks the exit statuses for an unreachable target (69) and a bad option
(64). Every wait is bounded and the server is stopped by its PID.
"""

import json
import subprocess
import sys

import local_server
from failures import report

RUN_TIMEOUT = 30


def bench(binary, *args):
    return subprocess.run([binary, '--no-progress', *args], capture_output=True, text=True,
                          timeout=RUN_TIMEOUT)


def main():
    server_binary, bench_binary = sys.argv[1], sys.argv[2]
    failures = []

    with local_server.running([server_binary, '--listen', '127.0.0.1:0', '--threads', '1',
                               '--backlog', '128']) as (_, port):
        run = bench(bench_binary, '--connect', f'127.0.0.1:{port}', '--count', '200',
                    '--concurrency', '10', '--json')
        if run.returncode != 0:
            failures.append(f'exit {run.returncode}, stderr: {run.stderr}')
        else:
            result = json.loads(run.stdout)
            if result['ok'] != 200 or result['errors'] != 0:
                failures.append(f'expected 200 ok and 0 errors: {run.stdout}')
            if result['connections']['latency_us']['count'] != 200:
                failures.append(f'expected 200 latencies: {run.stdout}')

    with local_server.refused_port() as port:
        refused = bench(bench_binary, '--connect', f'127.0.0.1:{port}', '--count', '20')
    if refused.returncode != 69:
        failures.append(f'unreachable target: exit {refused.returncode}, expected 69')

    usage = bench(bench_binary, '--concurrency', '0')
    if usage.returncode != 64 or 'concurrency must be at least 1' not in usage.stderr:
        failures.append(f'bad option: exit {usage.returncode}, stderr: {usage.stderr}')

    return report(failures)


if __name__ == '__main__':
    sys.exit(main())
