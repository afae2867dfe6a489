#!/usr/bin/env python3
"""The performance figures (P1-P6) in one command: doorman-server beside the reference servers of
bench/peers, on loopback, every figure also as a ratio to the floor measured in the same
repetition; and the balancer hop (B12): doorman straight, and through HAProxy sending PROXY v2
to doorman --proxy-protocol, as ratios to the direct run of the same repetition.

    bench/run.py [--build build] [--repetitions 5] [--scale 1] [--quick] [--silent 10000]
                 [--only SCENARIO ...] [--json build/bench-results.json]
                 [--svg build/bench-cpu.svg]

Each server runs pinned to CPU 0 with one worker, doorman-bench pinned to CPU 1. Within a
repetition every server of a scenario runs once, in an order rotated from one repetition to the
next, so drift on a shared machine hits all alike. Server CPU comes from the first field of
/proc/PID/task/*/schedstat (nanoseconds on CPU, summed over the threads) read before and after
the load, divided by the connections completed (through HAProxy: doorman's and HAProxy's CPU
together, HAProxy pinned to CPU 0 beside the server; without haproxy in PATH the scenario is
skipped with one line). The run sizes scale with --scale or the
BENCH_SCALE environment variable (--quick: 0.25). Python standard library only; the plot is
drawn by bench/plot.py if matplotlib is there.
"""

import argparse
import contextlib
import glob
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time

import local_server

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BENCH_TIMEOUT = 120  # one doorman-bench run, at most
HAPROXY_CONFIG = os.path.join(ROOT, 'examples', 'haproxy', 'haproxy.cfg')
HAPROXY_READY_TIMEOUT = 10


def cpu_ns(pid):
    """Nanoseconds the process has spent on a CPU, all its threads together."""
    total = 0
    for path in glob.glob(f'/proc/{pid}/task/*/schedstat'):
        try:
            with open(path) as schedstat:
                total += int(schedstat.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that ended between the listing and the read
    return total


def rss_bytes(pid):
    with open(f'/proc/{pid}/status') as status:
        for line in status:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f'no VmRSS for {pid}')


def open_descriptors(pid):
    return len(os.listdir(f'/proc/{pid}/fd'))


def kernel_socket_memory():
    """TCP's buffer memory from /proc/net/sockstat, in bytes (it counts pages)."""
    with open('/proc/net/sockstat') as sockstat:
        for line in sockstat:
            if line.startswith('TCP:'):
                fields = line.split()
                return int(fields[fields.index('mem') + 1]) * os.sysconf('SC_PAGE_SIZE')
    return 0


class Bench:
    """doorman-bench pinned to CPU 1, its --json result parsed."""

    def __init__(self, build):
        self.binary = os.path.join(build, 'doorman-bench')

    def argv(self, port, *options):
        return ['taskset', '-c', '1', self.binary, '--connect', f'127.0.0.1:{port}',
                '--json', '--no-progress', *options]

    def run(self, port, *options):
        done = subprocess.run(self.argv(port, *options), capture_output=True, text=True,
                              timeout=BENCH_TIMEOUT)
        if done.returncode != 0:
            raise RuntimeError(f'doorman-bench {" ".join(options)}: exit {done.returncode}: '
                               f'{done.stderr.strip()}')
        return json.loads(done.stdout)


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def wait_welcomed(port, timeout=HAPROXY_READY_TIMEOUT):
    """HAProxy logs no readiness line: ready once a client through it is welcomed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=2) as client:
                client.sendall(b'1')
                if client.recv(64) == b'welcome to server!':
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f'HAProxy on port {port} welcomed no client within {timeout} s')


class BehindHaproxy:
    """doorman-server --proxy-protocol behind HAProxy running examples/haproxy/haproxy.cfg (both
    of its servers the one doorman), HAProxy pinned with the server: what a client reaches."""

    def __init__(self, server_argv):
        self.server_argv = [*server_argv, '--proxy-protocol']

    @contextlib.contextmanager
    def running(self):
        with local_server.running(self.server_argv) as (server, backend_port):
            front_port = free_port()
            env = dict(os.environ, FRONT_PORT=str(front_port), DOORMAN1_PORT=str(backend_port),
                       DOORMAN2_PORT=str(backend_port))
            haproxy = subprocess.Popen(['taskset', '-c', '0', 'haproxy', '-db', '-f',
                                        HAPROXY_CONFIG], env=env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            try:
                wait_welcomed(front_port)
                yield [server.pid, haproxy.pid], front_port
            finally:
                local_server.stop(haproxy)


@contextlib.contextmanager
def serving(server_argv):
    """([PIDs whose CPU counts], port) of a server command line or a BehindHaproxy."""
    if isinstance(server_argv, BehindHaproxy):
        with server_argv.running() as running:
            yield running
    else:
        with local_server.running(server_argv) as (server, port):
            yield [server.pid], port


def load(bench, server_argv, options):
    """Runs doorman-bench with `options` against the server; the figures of that run."""
    with serving(server_argv) as (pids, port):
        before = sum(cpu_ns(pid) for pid in pids)
        result = bench.run(port, *options)
        used = sum(cpu_ns(pid) for pid in pids) - before
    latency = result['connections']['latency_us']
    ok = result['ok']
    return {'ok': ok, 'errors': result['errors'], 'conn_per_s': result['connections_per_second'],
            'cpu_us_per_conn': used / 1e3 / max(ok, 1), 'p50_us': latency.get('p50', 0.0),
            'p99_us': latency.get('p99', 0.0), 'silent': result['silent']}


class Servers:
    """The command lines of every server, pinned to CPU 0 with one worker."""

    def __init__(self, build):
        peers = os.path.join(build, 'bench', 'peers')
        pin = ['taskset', '-c', '0']
        doorman = [*pin, os.path.join(build, 'doorman-server'), '--listen', '127.0.0.1:0',
                   '--threads', '1']
        self.floor = [*pin, os.path.join(peers, 'floor'), '0']
        self.floor_defer = [*pin, os.path.join(peers, 'floor'), '--defer', '0']
        self.udp_floor = [*pin, os.path.join(peers, 'udp_floor'), '0']
        self.asio = [*pin, os.path.join(peers, 'asio_server'), '0']
        self.asyncio = [*pin, sys.executable, os.path.join(HERE, 'peers', 'asyncio_server.py'),
                        '0']
        self.tutorial_cpp = [*pin, os.path.join(build, 'tutorial-server'), '0']
        self.tutorial_py = [*pin, sys.executable,
                            os.path.join(ROOT, 'tests', 'support', 'tutorial_server.py'), '0']
        self.doorman = doorman
        self.doorman_uring = [*doorman, '--engine', 'io_uring']
        self.doorman_defer = [*doorman, '--defer-accept']
        self.doorman_dgram = [*doorman, '--type', 'dgram']
        # Two workers on both cores (P2): the load generator shares CPU 1 with one of them.
        self.doorman_two = ['taskset', '-c', '0,1', *doorman[3:-1], '2']
        self.asio_two = ['taskset', '-c', '0,1', os.path.join(peers, 'asio_server'), '--threads',
                         '2', '0']
        self.doorman_behind_haproxy = BehindHaproxy(doorman)


def scenarios(servers, scale, silent):
    """(name, requirement, description, [(server name, argv, bench options)], reference)."""
    count = max(200, int(20000 * scale))
    few = max(100, int(4000 * scale))
    c50 = ['--concurrency', '50', '--count', str(count)]
    c1 = ['--concurrency', '1', '--count', str(few)]
    dgram = ['--type', 'dgram', '--concurrency', '50', '--count', str(count)]
    held = ['--concurrency', '50', '--count', str(count), '--silent', str(silent)]
    return [
        ('c50', 'P1, P2', f'50 concurrent clients, {count} connections', [
            ('floor', servers.floor, c50),
            ('doorman', servers.doorman, c50),
            ('doorman io_uring', servers.doorman_uring, c50),
            ('asio', servers.asio, c50),
            ('asyncio', servers.asyncio, c50),
        ], 'floor'),
        ('c1', 'P5', f'one client at a time, {few} connections', [
            ('floor', servers.floor, c1),
            ('doorman', servers.doorman, c1),
            ('doorman io_uring', servers.doorman_uring, c1),
            ('asio', servers.asio, c1),
            ('asyncio', servers.asyncio, c1),
            ('tutorial-server (C++)', servers.tutorial_cpp, c1),
            ('tutorial server.py', servers.tutorial_py, c1),
        ], 'floor'),
        ('defer', 'P1', f'TCP_DEFER_ACCEPT, 50 concurrent, {count} connections', [
            ('floor --defer', servers.floor_defer, c50),
            ('doorman --defer-accept', servers.doorman_defer, c50),
            ('floor', servers.floor, c50),
        ], 'floor --defer'),
        ('dgram', 'P6', f'datagrams, 50 in flight, {count} requests', [
            ('udp_floor', servers.udp_floor, dgram),
            ('doorman --type dgram', servers.doorman_dgram, dgram),
        ], 'udp_floor'),
        ('silent', 'P3', f'50 concurrent, {count} connections, {silent} silent ones held open '
                              '(CPU: opening them counts too)', [
            ('floor', servers.floor, c50),
            (f'floor +{silent} silent', servers.floor, held),
            ('doorman', servers.doorman, c50),
            (f'doorman +{silent} silent', servers.doorman, held),
            ('doorman io_uring', servers.doorman_uring, c50),
            (f'doorman io_uring +{silent} silent', servers.doorman_uring, held),
        ], 'floor'),
        ('threads', 'P2', f'two workers on both cores, 50 concurrent, {count} connections', [
            ('floor', servers.floor, c50),
            ('doorman', servers.doorman, c50),
            ('doorman --threads 2', servers.doorman_two, c50),
            ('asio --threads 2', servers.asio_two, c50),
        ], 'floor'),
        ('balancer', 'B12', f'the balancer hop, 50 concurrent, {count} connections: straight, and '
                            'through HAProxy (send-proxy-v2) to doorman --proxy-protocol', [
            ('doorman', servers.doorman, c50),
            ('doorman via HAProxy', servers.doorman_behind_haproxy, c50),
        ], 'doorman'),
    ]


FIGURES = ('cpu_us_per_conn', 'conn_per_s', 'p50_us', 'p99_us')


def run_scenario(bench, scenario, repetitions, log):
    name, _, _, entries, reference = scenario
    runs = {entry[0]: [] for entry in entries}
    for repetition in range(repetitions):
        shift = repetition % len(entries)
        for server, argv, options in entries[shift:] + entries[:shift]:
            try:
                figures = load(bench, argv, options)
            except (RuntimeError, subprocess.TimeoutExpired, OSError) as error:
                figures = {'failed': str(error)}
            figures['repetition'] = repetition
            runs[server].append(figures)
            log(f'{name} #{repetition + 1} {server:28} ' + (
                f"{figures['cpu_us_per_conn']:7.1f} us/conn {figures['conn_per_s']:8.0f} conn/s "
                f"p50 {figures['p50_us']:6.0f} p99 {figures['p99_us']:7.0f} us "
                f"errors {figures['errors']}" if 'failed' not in figures else figures['failed']))
    # The ratios: each run against the reference's run of the same repetition.
    for server, server_runs in runs.items():
        for figures, base in zip(server_runs, runs[reference]):
            if 'failed' in figures or 'failed' in base:
                continue
            figures['ratio'] = {figure: figures[figure] / base[figure] if base[figure] else None
                                for figure in FIGURES}
    return runs


def summarize(values):
    values = [value for value in values if value is not None]
    if not values:
        return None
    return {'median': statistics.median(values), 'min': min(values), 'max': max(values)}


def summary(runs):
    table = {}
    for server, server_runs in runs.items():
        good = [figures for figures in server_runs if 'failed' not in figures]
        table[server] = {
            'runs': len(good), 'failed': len(server_runs) - len(good),
            'errors': sum(figures['errors'] for figures in good),
            **{figure: summarize([figures[figure] for figures in good]) for figure in FIGURES},
            'ratio': {figure: summarize([figures['ratio'][figure] for figures in good
                                         if 'ratio' in figures]) for figure in FIGURES},
        }
    return table


def silent_timeouts(bench, servers, silent, log):
    """P3's deadline: N silent connections held while well-behaved ones run on for longer than
    the server's 5 s timeout; when did the server close each silent one (from its connect)?"""
    results = {}
    for server, argv in (('floor', servers.floor), ('doorman', servers.doorman),
                         ('doorman io_uring', servers.doorman_uring)):
        try:
            result = load(bench, argv, ['--concurrency', '10', '--rate', '1000', '--duration',
                                        '6.5s', '--silent', str(silent)])
            outcome = result['silent']['outcome']
            results[server] = {'held': result['silent']['held'], 'closed': outcome['ok'],
                               'errors': outcome['errors'],
                               'close_after_us': outcome['latency_us']}
            log(f"timeouts {server:16} {outcome['ok']} of {silent} silent closed, after p50 "
                f"{outcome['latency_us'].get('p50', 0) / 1e3:.0f} ms, max "
                f"{outcome['latency_us'].get('max', 0) / 1e3:.0f} ms")
        except (RuntimeError, subprocess.TimeoutExpired, OSError) as error:
            results[server] = {'failed': str(error)}
            log(f'timeouts {server}: {error}')
    return results


def memory_per_connection(bench, servers, silent, log):
    """P4: RSS growth of the server while N silent connections are open, divided by N; and the
    kernel's TCP buffer memory over the same step."""
    results = {}
    for server, argv in (('floor', servers.floor), ('doorman', servers.doorman),
                         ('doorman io_uring', servers.doorman_uring)):
        try:
            results[server] = memory_of(bench, argv, silent)
        except (RuntimeError, subprocess.TimeoutExpired, OSError) as error:
            results[server] = {'failed': str(error)}
            log(f'memory {server}: {error}')
            continue
        log(f"memory {server:16} {results[server]['held']} held: RSS "
            f"{results[server]['rss_before'] / 1024:.0f} -> "
            f"{results[server]['rss_after'] / 1024:.0f} KiB, "
            f"{results[server]['user_bytes_per_conn']:.0f} B each")
    return results


def memory_of(bench, argv, silent):
    """RSS and kernel buffer memory of one server before and after N silent connections."""
    with local_server.running(argv) as (process, port):
        bench.run(port, '--concurrency', '50', '--count', '2000')  # warm: steady-state heap
        base_fds = open_descriptors(process.pid)
        rss_before, kernel_before = rss_bytes(process.pid), kernel_socket_memory()
        holder = subprocess.Popen(bench.argv(port, '--concurrency', '1', '--rate', '1',
                                             '--duration', '4s', '--silent', str(silent)),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while (open_descriptors(process.pid) - base_fds < silent and
                   time.monotonic() < deadline and holder.poll() is None):
                time.sleep(0.05)  # polling /proc: the server has no readiness signal for this
            held = open_descriptors(process.pid) - base_fds
            rss_after, kernel_after = rss_bytes(process.pid), kernel_socket_memory()
        finally:
            holder.terminate()
            holder.wait(timeout=10)
    return {'held': held, 'rss_before': rss_before, 'rss_after': rss_after,
            'user_bytes_per_conn': (rss_after - rss_before) / max(held, 1),
            'kernel_buffer_bytes_per_conn': (kernel_after - kernel_before) / max(held, 1)}


def machine():
    model = 'unknown'
    with open('/proc/cpuinfo') as cpuinfo:
        for line in cpuinfo:
            if line.startswith('model name'):
                model = line.split(':', 1)[1].strip()
                break
    return {'nproc': os.cpu_count(), 'cpu': model, 'kernel': platform.release(),
            'python': platform.python_version()}


def fmt_range(cell, unit='', digits=1):
    if cell is None:
        return '-'
    return (f"{cell['median']:.{digits}f}{unit} ({cell['min']:.{digits}f}-"
            f"{cell['max']:.{digits}f})")


def print_table(title, table, out):
    print(f'\n{title}', file=out)
    print(f"  {'server':28} {'CPU us/conn':>22} {'x ref':>18} {'conn/s':>22} {'x ref':>18} "
          f"{'p50 us':>16} {'p99 us':>18} {'x ref p99':>18} errors", file=out)
    for server, row in table.items():
        print(f"  {server:28} {fmt_range(row['cpu_us_per_conn']):>22} "
              f"{fmt_range(row['ratio']['cpu_us_per_conn'], digits=2):>18} "
              f"{fmt_range(row['conn_per_s'], digits=0):>22} "
              f"{fmt_range(row['ratio']['conn_per_s'], digits=2):>18} "
              f"{fmt_range(row['p50_us'], digits=0):>16} {fmt_range(row['p99_us'], digits=0):>18} "
              f"{fmt_range(row['ratio']['p99_us'], digits=2):>18} {row['errors']}"
              + (f" ({row['failed']} runs failed)" if row['failed'] else ''), file=out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--build', default=os.path.join(ROOT, 'build'))
    parser.add_argument('--repetitions', type=int, default=5)
    parser.add_argument('--scale', type=float,
                        default=float(os.environ.get('BENCH_SCALE', '1')))
    parser.add_argument('--quick', action='store_true', help='--scale 0.25')
    parser.add_argument('--silent', type=int, default=10000,
                        help='silent connections held open in P3 and P4')
    parser.add_argument('--only', nargs='*', help='scenarios to run (default: all)')
    parser.add_argument('--json', default=None, help='default: BUILD/bench-results.json')
    parser.add_argument('--svg', default=None, help='default: BUILD/bench-cpu.svg')
    args = parser.parse_args()
    if args.quick:
        args.scale = 0.25
    args.json = args.json or os.path.join(args.build, 'bench-results.json')
    args.svg = args.svg or os.path.join(args.build, 'bench-cpu.svg')

    def log(line):
        print(line, file=sys.stderr, flush=True)

    started = time.monotonic()
    bench = Bench(args.build)
    servers = Servers(args.build)
    results = {'machine': machine(), 'command': ' '.join(sys.argv), 'scale': args.scale,
               'repetitions': args.repetitions, 'silent': args.silent, 'scenarios': {}}
    for scenario in scenarios(servers, args.scale, args.silent):
        name, requirement, description = scenario[:3]
        if args.only and name not in args.only:
            continue
        if name == 'balancer' and shutil.which('haproxy') is None:
            results.setdefault('skipped', {})[name] = 'haproxy is not installed'
            continue
        runs = run_scenario(bench, scenario, args.repetitions, log)
        results['scenarios'][name] = {'requirement': requirement, 'description': description,
                                      'reference': scenario[4], 'runs': runs,
                                      'summary': summary(runs)}
    if not args.only or 'timeouts' in args.only:
        results['silent_timeouts'] = silent_timeouts(bench, servers, args.silent, log)
    if not args.only or 'memory' in args.only:
        results['memory'] = memory_per_connection(bench, servers, args.silent, log)
    results['elapsed_s'] = time.monotonic() - started

    out = sys.stdout
    m = results['machine']
    print(f"{m['nproc']} CPUs, {m['cpu']}, Linux {m['kernel']}; {args.repetitions} repetitions, "
          f"scale {args.scale}; medians (min-max over repetitions); ratios to the reference in "
          f"the same repetition", file=out)
    for name, scenario in results['scenarios'].items():
        print_table(f"{name} [{scenario['requirement']}]: {scenario['description']} "
                    f"(x: {scenario['reference']})", scenario['summary'], out)
    for name, why in results.get('skipped', {}).items():
        print(f'\n{name}: skipped, {why}', file=out)
    for server, memory in results.get('memory', {}).items():
        if 'failed' in memory:
            print(f'\nmemory [P4] {server}: {memory["failed"]}', file=out)
            continue
        print(f"\nmemory [P4] {server}: {memory['held']} silent connections, "
              f"{memory['user_bytes_per_conn']:.0f} B user space and "
              f"{memory['kernel_buffer_bytes_per_conn']:.0f} B kernel buffers each", file=out)
    for server, timeouts in results.get('silent_timeouts', {}).items():
        if 'failed' in timeouts:
            print(f'timeouts [P3] {server}: {timeouts["failed"]}', file=out)
            continue
        print(f"timeouts [P3] {server}: {timeouts['closed']} of {timeouts['held']} silent closed, "
              f"after max {timeouts['close_after_us'].get('max', 0) / 1e6:.3f} s", file=out)
    print(f"\n{results['elapsed_s']:.0f} s; raw results in {args.json}", file=out)

    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, 'w') as raw:
        json.dump(results, raw, indent=1)
    markdown_path = os.path.splitext(args.json)[0] + '.md'
    with open(markdown_path, 'w') as page:
        page.write(markdown(results))
    print(f'tables for docs/performance.md in {markdown_path}', file=out)
    draw_plot(args.json, args.svg, out)


def markdown(results):
    """The tables of docs/performance.md: per scenario and server, median (min-max)."""
    def cell(value, digits):
        if value is None:
            return '-'
        return (f"{value['median']:.{digits}f} ({value['min']:.{digits}f}–"
                f"{value['max']:.{digits}f})")

    lines = []
    for name, scenario in results['scenarios'].items():
        lines += [f"### {name} ({scenario['requirement']}): {scenario['description']}", '',
                  f"Ratios (×) to `{scenario['reference']}` in the same repetition.", '',
                  '| server | CPU µs/conn | CPU × | conn/s | conn/s × | p50 µs | p99 µs | p50 × '
                  '| p99 × | errors |', '|---|---|---|---|---|---|---|---|---|---|']
        for server, row in scenario['summary'].items():
            ratio = row['ratio']
            lines.append(
                f"| {server} | {cell(row['cpu_us_per_conn'], 1)} | "
                f"{cell(ratio['cpu_us_per_conn'], 2)} | {cell(row['conn_per_s'], 0)} | "
                f"{cell(ratio['conn_per_s'], 2)} | {cell(row['p50_us'], 0)} | "
                f"{cell(row['p99_us'], 0)} | {cell(ratio['p50_us'], 2)} | "
                f"{cell(ratio['p99_us'], 2)} | {row['errors']} |")
        lines.append('')
    return '\n'.join(lines)


def draw_plot(results_path, svg_path, out):
    # matplotlib comes from Debian (scripts/deps.sh): if this interpreter is another one (a
    # virtualenv, pyenv), the system's draws the plot.
    try:
        import plot
        plot.cpu_per_connection(json.load(open(results_path)), svg_path)
    except ImportError:
        drawn = subprocess.run(['/usr/bin/python3', os.path.join(HERE, 'plot.py'), results_path,
                                svg_path], capture_output=True, text=True, timeout=120)
        if drawn.returncode != 0:
            print(f'no plot: {drawn.stderr.strip().splitlines()[-1:]}', file=out)
            return
    print(f'plot in {svg_path}', file=out)


if __name__ == '__main__':
    main()
