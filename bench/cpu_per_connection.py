#!/usr/bin/env python3
"""Server CPU time per connection (P1): each server in turn pinned to core 0, doorman-bench
pinned to core 1, CPU from /proc/PID/stat over the run, as a ratio to the first server.

    bench/cpu_per_connection.py [--build build] [--count 20000] [--concurrency 50] [--rounds 3]

Servers are commands that bind port 0 and print `listening on ADDR:PORT` on stderr. Loopback
only; every run bounded.
"""

import argparse
import json
import os
import subprocess
import sys

import local_server

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def cpu_seconds(pid):
    with open(f'/proc/{pid}/stat') as stat:
        fields = stat.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')  # utime + stime


def measure(name, command, args):
    with local_server.running(['taskset', '-c', '0', *command]) as (server, port):
        before = cpu_seconds(server.pid)
        bench = subprocess.run(
            ['taskset', '-c', '1', os.path.join(args.build, 'doorman-bench'), '--connect',
             f'127.0.0.1:{port}', '--count', str(args.count), '--concurrency',
             str(args.concurrency), '--json', '--no-progress'],
            capture_output=True, text=True, timeout=300, check=True)
        used = cpu_seconds(server.pid) - before
    result = json.loads(bench.stdout)
    ok = result['ok']
    return {'name': name, 'cpu_us_per_conn': used / max(ok, 1) * 1e6,
            'conn_per_s': result['connections_per_second'], 'ok': ok,
            'p50_us': result['connections']['latency_us']['p50'],
            'p99_us': result['connections']['latency_us']['p99']}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--build', default=os.path.join(ROOT, 'build'))
    parser.add_argument('--count', type=int, default=20000)
    parser.add_argument('--concurrency', type=int, default=50)
    parser.add_argument('--rounds', type=int, default=3)
    args = parser.parse_args()
    servers = {
        'doorman-server': [os.path.join(args.build, 'doorman-server'), '--listen',
                           '127.0.0.1:0', '--threads', '1', '--backlog', '1024'],
        'tutorial-server (C++, one at a time)': [os.path.join(args.build, 'tutorial-server'),
                                                 '0'],
        'tutorial server.py (Python 3)': [sys.executable, os.path.join(
            ROOT, 'tests', 'support', 'tutorial_server.py'), '0'],
    }
    for round_ in range(args.rounds):
        rows = [measure(name, command, args) for name, command in servers.items()]
        base = rows[0]['cpu_us_per_conn']
        for row in rows:
            print(f"round {round_ + 1}  {row['name']:40} {row['cpu_us_per_conn']:7.1f} us/conn "
                  f"({row['cpu_us_per_conn'] / base:4.2f} x)  {row['conn_per_s']:8.0f} conn/s  "
                  f"p50 {row['p50_us']:7.0f} us  p99 {row['p99_us']:8.0f} us  ok {row['ok']}")


if __name__ == '__main__':
    main()
