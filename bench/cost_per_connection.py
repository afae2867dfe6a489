#!/usr/bin/env python3
"""What one connection costs doorman-server and the floor, item by item (docs/performance.md,
"Cost per connection, item by item").

    bench/cost_per_connection.py [--build build] [--only syscalls|callgrind|cpu ...]
                                 [--server NAME=ARGV ...] [--repetitions 7] [--scale 1]
                                 [--out DIR]

For each server, at 50 concurrent clients (20,000 connections) and at one (4,000):
- syscalls: `perf stat -p` on the server during the load only, with the syscall tracepoints
  (every call, and the accept4 and recvfrom calls that failed, EAGAIN at these loads) and the
  software counters task-clock and context-switches; divided by the connections completed.
- callgrind: the server under `valgrind --tool=callgrind`, its counts zeroed once it listens
  and dumped after the load (callgrind_control), so the figure is instructions per connection
  of the load alone, repeatable on a noisy machine; `callgrind_annotate` of each dump is in DIR.
- cpu: the servers' CPU per connection from /proc/PID/task/*/schedstat, as bench/run.py reads
  it, each repetition running every server once in a rotated order; the median of the ratios to
  the first server (the floor) in the same repetition.
Servers run pinned to CPU 0 with one worker and a backlog of 4096, doorman-bench on CPU 1, as
in bench/run.py. `--server NAME=ARGV` adds a server (a scratch build, say) by its whole command
line, which must bind 127.0.0.1 port 0 and say `listening on ADDR` as the others do. Needs perf
(Debian's linux-perf) and valgrind; neither needs hardware counters. The figures and what they
showed are in docs/performance.md.
"""

import argparse
import glob
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import local_server  # noqa: E402
import run  # noqa: E402

TRACEPOINTS = [
    ('syscalls', 'raw_syscalls:sys_enter', None),
    ('accept4', 'syscalls:sys_enter_accept4', None),
    ('accept4 failed', 'syscalls:sys_exit_accept4', 'ret < 0'),
    ('recvfrom', 'syscalls:sys_enter_recvfrom', None),
    ('recvfrom failed', 'syscalls:sys_exit_recvfrom', 'ret < 0'),
    ('sendto', 'syscalls:sys_enter_sendto', None),
    ('close', 'syscalls:sys_enter_close', None),
    ('shutdown', 'syscalls:sys_enter_shutdown', None),
    ('epoll_wait', 'syscalls:sys_enter_epoll_wait', None),
    ('epoll_pwait', 'syscalls:sys_enter_epoll_pwait', None),
    ('epoll_ctl', 'syscalls:sys_enter_epoll_ctl', None),
    ('poll', 'syscalls:sys_enter_poll', None),
    ('clock_gettime', 'syscalls:sys_enter_clock_gettime', None),
    ('write', 'syscalls:sys_enter_write', None),
    ('read', 'syscalls:sys_enter_read', None),
]
SOFTWARE = [('task-clock ms', 'task-clock'), ('context-switches', 'context-switches')]


def loads(c50, c1, scale):
    return [('c50', ['--concurrency', '50', '--count', str(int(c50 * scale))]),
            ('c1', ['--concurrency', '1', '--count', str(int(c1 * scale))])]


def servers(build):
    return {
        'floor': [os.path.join(build, 'bench', 'peers', 'floor'), '0'],
        'doorman': [os.path.join(build, 'doorman-server'), '--threads', '1', '--backlog', '4096',
                    '--listen', '127.0.0.1:0'],
    }


def bench(build, port, options):
    argv = ['taskset', '-c', '1', os.path.join(build, 'doorman-bench'), '--connect',
            f'127.0.0.1:{port}', '--json', '--no-progress', *options]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f'{shlex.join(argv)}: exit {done.returncode}: {done.stderr.strip()}')
    return json.loads(done.stdout)


def perf_events():
    events = []
    for _, event, condition in TRACEPOINTS:
        events += ['-e', event] + (['--filter', condition] if condition else [])
    for _, event in SOFTWARE:
        events += ['-e', event]
    return events


def syscalls(build, argv, options, out):
    """Per connection: each tracepoint's count and the software counters, over the load only."""
    with local_server.running(['taskset', '-c', '0', *argv]) as (server, port):
        perf = subprocess.Popen(['perf', 'stat', '-x', ',', '-o', out, '-p', str(server.pid),
                                 *perf_events()], stderr=subprocess.DEVNULL)
        time.sleep(0.5)  # perf attaches within milliseconds; nothing is lost if it is early
        result = bench(build, port, options)
        perf.send_signal(signal.SIGINT)
        perf.wait(timeout=30)
    counts = {}
    with open(out) as lines:
        for line in lines:
            fields = line.strip().split(',')
            if len(fields) < 3 or line.startswith('#'):
                continue
            counts.setdefault(fields[2], []).append(float(fields[0] or 0))
    ok = max(result['ok'], 1)
    figures = {}
    for name, event, _ in TRACEPOINTS:
        # An event listed twice (entry and a filtered exit) comes back in the order given.
        figures[name] = counts.get(event, [0]).pop(0) / ok
    for name, event in SOFTWARE:
        figures[name + ' per conn'] = counts.get(event, [0])[0] / ok
    figures['ok'] = result['ok']
    figures['conn_per_s'] = result['connections_per_second']
    return figures


def callgrind(build, argv, options, directory, label):
    """Instructions per connection over the load only, and the annotated dump."""
    prefix = os.path.join(directory, f'callgrind.{label}')
    for stale in glob.glob(prefix + '*'):
        os.remove(stale)
    grind = ['taskset', '-c', '0', 'valgrind', '--tool=callgrind', '--quiet',
             f'--callgrind-out-file={prefix}.%p', *argv]
    with local_server.running(grind) as (server, port):
        subprocess.run(['callgrind_control', '-z', str(server.pid)], check=True,
                       capture_output=True, timeout=30)
        result = bench(build, port, options)
        subprocess.run(['callgrind_control', '-d', 'load', str(server.pid)], check=True,
                       capture_output=True, timeout=30)
        dumps = sorted(glob.glob(f'{prefix}.{server.pid}.*'))
    if not dumps:
        raise RuntimeError(f'no callgrind dump for {label}')
    annotated = subprocess.run(['callgrind_annotate', '--inclusive=no', dumps[-1]],
                               capture_output=True, text=True, check=True).stdout
    with open(prefix + '.annotate.txt', 'w') as text:
        text.write(annotated)
    total = 0
    for line in annotated.splitlines():
        if 'PROGRAM TOTALS' in line:
            total = int(line.split()[0].replace(',', ''))
    return {'instructions per conn': total / max(result['ok'], 1), 'ok': result['ok'],
            'dump': dumps[-1]}


def cpu(build, chosen, options, repetitions):
    """CPU us per connection, each run and its ratio to the first server's in its repetition."""
    names = list(chosen)
    runs = {name: [] for name in names}
    for repetition in range(repetitions):
        shift = repetition % len(names)
        for name in names[shift:] + names[:shift]:
            figures = run.load(run.Bench(build), ['taskset', '-c', '0', *chosen[name]], options)
            runs[name].append(figures['cpu_us_per_conn'])
    reference = runs[names[0]]
    return {name: {'cpu_us_per_conn': statistics.median(values),
                   'ratio': statistics.median(v / r for v, r in zip(values, reference)),
                   'ratio_min': min(v / r for v, r in zip(values, reference)),
                   'ratio_max': max(v / r for v, r in zip(values, reference)),
                   'runs': values} for name, values in runs.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--build', default='build')
    parser.add_argument('--only', nargs='*', default=['syscalls', 'callgrind'])
    parser.add_argument('--server', action='append', default=[],
                        help='NAME=ARGV: one more server, its argv with the port last')
    parser.add_argument('--repetitions', type=int, default=7)
    parser.add_argument('--scale', type=float, default=1.0,
                        help='connections per run: 20000 x SCALE at c50, 4000 x SCALE at c1')
    parser.add_argument('--out', default='/tmp/cost-per-connection')
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    chosen = servers(args.build)
    for extra in args.server:
        name, _, argv = extra.partition('=')
        chosen[name] = shlex.split(argv)
    results = {}
    for name, argv in chosen.items():
        syscall_loads = loads(20000, 4000, args.scale) if 'syscalls' in args.only else []
        for load_name, options in syscall_loads:
            label = f'{name}.{load_name}'
            figures = syscalls(args.build, argv, options, os.path.join(args.out, label + '.perf'))
            results.setdefault(label, {}).update(figures)
            print(label, json.dumps({key: round(value, 3) for key, value in figures.items()}),
                  flush=True)
        # Fewer: under valgrind the server runs some fifty times slower.
        for load_name, options in loads(5000, 2000, 1) if 'callgrind' in args.only else []:
            label = f'{name}.{load_name}'
            figures = callgrind(args.build, argv, options, args.out, label)
            results.setdefault(label, {})['instructions per conn'] = figures[
                'instructions per conn']
            print(label, f"{figures['instructions per conn']:.0f} instructions/conn "
                  f"({figures['ok']} connections; {figures['dump']})", flush=True)
    for load_name, options in loads(20000, 4000, args.scale) if 'cpu' in args.only else []:
        figures = cpu(args.build, chosen, options, args.repetitions)
        for name, row in figures.items():
            results.setdefault(f'{name}.{load_name}', {})['cpu'] = row
            print(f"{name}.{load_name} CPU {row['cpu_us_per_conn']:.1f} us/conn, x "
                  f"{row['ratio']:.3f} ({row['ratio_min']:.3f}-{row['ratio_max']:.3f})",
                  flush=True)
    with open(os.path.join(args.out, 'results.json'), 'w') as out:
        json.dump(results, out, indent=1)


if __name__ == '__main__':
    main()
