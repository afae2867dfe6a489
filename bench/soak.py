"""Soak: minutes of mixed load against one doorman-server, then the question whether it kept
anything it should have given back.

usage: soak.py --server DOORMAN_SERVER --bench DOORMAN_BENCH [--seconds N] [--engine ENGINE]

One stream server and one datagram server on loopback, with short deadlines so that every kind
of client reaches the end of its story many times over:

  good      doorman-bench, closed loop, 50 in flight
  silent    doorman-bench --silent: connections that never speak and are timed out
  slow      doorman-bench --slow: a request sent after a delay shorter than --timeout
  resetting connect, then close with SO_LINGER 0 (a reset) before or after sending
  junk      random bytes, up to 64 KiB, many more than --read-size (the lingering close)
  datagram  doorman-bench --type dgram at 5,000 a second, and random datagrams up to the largest UDP payload

The run has two phases: a warm-up (10 % of it, at least 5 s), then the rest. After each the load
stops and the servers are left until their descriptor count has held still for 2 s; descriptors
and VmRSS are read then. Passing means: the end values are within 1 % of the warm-up values
(descriptors equal, in practice), the good clients had no errors, and neither server counted an
error (the `errors` of its `stopped:` line after SIGTERM).

Every load loop is bounded in count and in time and stops by itself; every process started here
is stopped by its PID at the end, also on an error or Ctrl-C. Standard library only.
"""

import argparse
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import local_server

SERVER_TIMEOUT_S = 1.0
LINGER_TIMEOUT_S = 1.0
READ_SIZE = 1024
LARGEST_JUNK = 64 * 1024
LARGEST_DATAGRAM = 65507
BENCH_ROUND_S = 60  # a doorman-bench run lasts at most this long; rounds repeat to the end
SETTLE_STABLE_S = 2.0
SETTLE_BOUND_S = 30.0
TOLERANCE = 0.01
WARM_UP_SHARE = 0.10
WARM_UP_FLOOR_S = 5.0


class Processes:
    """Every process started here, so that each is stopped by its PID whatever happens."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running = {}
        self.closing = False

    def start(self, argv, **kwargs):
        with self.lock:
            if self.closing:
                raise RuntimeError('stopping: no new process')
            # A session of its own: a Ctrl-C reaches this script only, which then stops each
            # child in order instead of all of them draining at once.
            process = subprocess.Popen(argv, start_new_session=True, **kwargs)
            self.running[process.pid] = process
            return process

    def forget(self, process):
        with self.lock:
            self.running.pop(process.pid, None)

    def stop_all(self):
        with self.lock:
            self.closing = True
            left = list(self.running.values())
        for process in left:
            stop_process(process)
            self.forget(process)


def stop_process(process, grace=10):
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Tally:
    """Counts by name, from several threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}

    def add(self, name, amount=1):
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + amount

    def get(self, name):
        with self.lock:
            return self.counts.get(name, 0)

    def snapshot(self):
        with self.lock:
            return dict(self.counts)


class Server:
    """A doorman-server whose stderr is read to the end: its lines counted by level, a few kept,
    and its `stopped:` line found."""

    STOPPED = re.compile(r'stopped: (\d+) accepted, (\d+) welcomed, (\d+) rejected, '
                         r'(\d+) timed out, (\d+) refused, (\d+) errors')

    def __init__(self, processes, argv):
        # Unbuffered bytes, as local_server.wait_for_port needs (a text reader could take the
        # line after `listening on` into its buffer and hide it from select()).
        self.process = processes.start(argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                       bufsize=0)
        self.port = local_server.wait_for_port(self.process)
        self.levels = Tally()
        self.samples = {}  # the first line of each kind of warning or error
        self.stopped = None
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self):
        for raw in self.process.stderr:
            line = raw.decode('utf-8', 'replace')
            parts = line.rstrip('\n').split(' ', 2)
            level = parts[1] if len(parts) > 2 else '?'
            self.levels.add(level)
            text = parts[2] if len(parts) > 2 else line
            if level in ('warning', 'error'):
                # Addresses and numbers vary; the kind of line is the text without them.
                kind = re.sub(r'[\d.:\[\]]+', '#', text)
                self.samples.setdefault(kind, text)
            match = self.STOPPED.search(line)
            if match:
                keys = ('accepted', 'welcomed', 'rejected', 'timed_out', 'refused', 'errors')
                self.stopped = dict(zip(keys, map(int, match.groups())))

    def stop(self):
        stop_process(self.process)
        self.reader.join(timeout=10)

    def descriptors(self):
        return len(os.listdir(f'/proc/{self.process.pid}/fd'))

    def rss_kib(self):
        with open(f'/proc/{self.process.pid}/status') as status:
            for line in status:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
        raise RuntimeError(f'no VmRSS for pid {self.process.pid}')

    def settle(self):
        """Waits, bounded, until the descriptor count has held still for SETTLE_STABLE_S."""
        deadline = time.monotonic() + SETTLE_BOUND_S
        count = self.descriptors()
        since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now_count = self.descriptors()
            if now_count != count:
                count, since = now_count, time.monotonic()
            elif time.monotonic() - since >= SETTLE_STABLE_S:
                return True
        return False


# ---- Load loops: each one ends at its deadline, at its count, or when asked to stop.

def bench_rounds(processes, bench, argv, deadline, stop, tally, kind):
    """doorman-bench rounds of at most BENCH_ROUND_S until the deadline, their reports added up."""
    rounds = 0
    max_rounds = int((deadline - time.monotonic()) / 1) + 2  # a round lasts at least a second
    while not stop.is_set() and rounds < max_rounds:
        left = deadline - time.monotonic()
        if left < 1:
            break
        duration_ms = int(min(BENCH_ROUND_S, left) * 1000)
        try:
            process = processes.start(
                [bench, '--no-progress', '--json', '--duration', f'{duration_ms}ms', '--count',
                 '100000000', *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        except RuntimeError:
            return  # the run is being stopped
        try:
            out, err = process.communicate(timeout=duration_ms / 1000 + 30)
        except subprocess.TimeoutExpired:
            stop_process(process)
            tally.add(f'{kind} bench hung')
            raise
        finally:
            processes.forget(process)
        rounds += 1
        if process.returncode != 0 and not stop.is_set():
            tally.add(f'{kind} bench failed')
            print(f'soak: {kind}: doorman-bench exited {process.returncode}: {err.strip()}',
                  file=sys.stderr)
            continue
        if not out.strip():
            continue
        report = json.loads(out)
        tally.add(f'{kind} ok', report['ok'])
        tally.add(f'{kind} errors', report['errors'])
        if report['errors']:
            for name, count in report['connections']['errors_by_kind'].items():
                if count:
                    tally.add(f'{kind} error {name}', count)
        tally.add(f'{kind} unfinished', report['unfinished'])
        for role in ('silent', 'slow'):
            outcome = report[role]['outcome']
            tally.add(f'{role} ok', outcome['ok'])
            tally.add(f'{role} errors', outcome['errors'])
            for name, count in outcome['errors_by_kind'].items():
                if count:
                    tally.add(f'{role} error {name}', count)


def paced(deadline, stop, per_second, body):
    """Calls body() about per_second times a second until the deadline; the count is bounded by
    what that rate allows in the time, with room to spare."""
    limit = int(per_second * max(0.0, deadline - time.monotonic()) * 1.5) + 10
    interval = 1.0 / per_second
    next_at = time.monotonic()
    for _ in range(limit):
        if stop.is_set() or time.monotonic() >= deadline:
            return
        body()
        next_at += interval
        pause = next_at - time.monotonic()
        if pause > 0:
            stop.wait(pause)
        else:
            next_at = time.monotonic()  # behind: no catch-up burst


def abortive_close(sock):
    # SO_LINGER on, 0 s: close() sends a reset instead of a FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    sock.close()


def resetting_client(port, tally, rng):
    variant = rng.choice(('before sending', 'after the password', 'after junk'))
    try:
        sock = socket.create_connection(('127.0.0.1', port), timeout=5)
    except OSError as error:
        tally.add(f'resetting connect failed: {error.strerror}')
        return
    try:
        if variant == 'after the password':
            sock.sendall(b'1')
        elif variant == 'after junk':
            sock.sendall(rng.randbytes(rng.randint(1, LARGEST_JUNK)))
    except OSError:
        pass  # the server may already have answered and reset us: still a resetting client
    abortive_close(sock)
    tally.add(f'resetting {variant}')


def junk_client(port, tally, rng):
    size = rng.randint(1, READ_SIZE) if rng.random() < 0.4 else rng.randint(READ_SIZE + 1,
                                                                                LARGEST_JUNK)
    ending = rng.choices(('read to EOF', 'close unread', 'hold past linger'), (70, 20, 10))[0]
    try:
        sock = socket.create_connection(('127.0.0.1', port), timeout=5)
    except OSError as error:
        tally.add(f'junk connect failed: {error.strerror}')
        return
    with sock:
        try:
            sock.sendall(rng.randbytes(size))
            if ending == 'read to EOF':
                # The reply, then the EOF of the server's half-close (or plain close).
                while sock.recv(4096):
                    pass
            elif ending == 'hold past linger':
                time.sleep(LINGER_TIMEOUT_S + 0.5)
        except OSError as error:
            tally.add(f'junk socket error: {error.strerror or error}')
            return
    kind = 'over --read-size' if size > READ_SIZE else 'within --read-size'
    tally.add(f'junk {kind}, {ending}')


def datagram_junk(port, tally, rng):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.connect(('127.0.0.1', port))
        sock.send(rng.randbytes(rng.randint(1, LARGEST_DATAGRAM)))
        try:
            sock.recv(4096)
            tally.add('datagram junk answered')
        except OSError:
            tally.add('datagram junk unanswered')


def python_loop(name, deadline, stop, per_second, client, port, tally, seed):
    rng = random.Random(seed)

    def body():
        try:
            client(port, tally, rng)
        except Exception as error:  # noqa: BLE001 - a load thread reports, it does not die
            tally.add(f'{name} unexpected: {type(error).__name__}')
    paced(deadline, stop, per_second, body)


def run_phase(processes, args, stream, datagram, seconds, stop, tally):
    deadline = time.monotonic() + seconds
    stream_target = ['--connect', f'127.0.0.1:{stream.port}']
    client_timeout = ['--timeout', '5s']  # longer than the server's: the server closes first
    benches = {
        'good': [*stream_target, '--concurrency', '50'],
        # One measured client a second beside them: the report needs a measured phase.
        'silent-bench': [*stream_target, *client_timeout, '--silent', '40', '--concurrency', '1',
                         '--rate', '1'],
        'slow-bench': [*stream_target, *client_timeout, '--slow', '20', '--slow-delay', '600ms',
                       '--concurrency', '1', '--rate', '1'],
        # Open loop: a closed one would answer some 80,000 datagrams a second and take the
        # machine from the stream load, which is what the soak is mostly about.
        'datagram': ['--type', 'dgram', '--connect', f'127.0.0.1:{datagram.port}',
                     '--concurrency', '8', '--rate', '5000'],
    }
    threads = [threading.Thread(target=bench_rounds,
                                args=(processes, args.bench, argv, deadline, stop, tally, kind))
               for kind, argv in benches.items()]
    pythons = [('resetting', 60, resetting_client, stream.port, 2),
               ('junk', 40, junk_client, stream.port, 3),
               ('datagram junk', 50, datagram_junk, datagram.port, 1)]
    seed = int(time.time())
    for name, per_second, client, port, count in pythons:
        for index in range(count):
            threads.append(threading.Thread(
                target=python_loop,
                args=(name, deadline, stop, per_second / count, client, port, tally,
                      seed + index)))
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        # Bounded: every loop ends at the deadline, a bench round 30 s after its duration.
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + BENCH_ROUND_S + 40)
    if any(thread.is_alive() for thread in threads):
        raise RuntimeError('a load loop did not stop by itself')


def measure(servers):
    settled = {name: server.settle() for name, server in servers.items()}
    return {name: {'fds': server.descriptors(), 'rss': server.rss_kib(),
                   'settled': settled[name]} for name, server in servers.items()}


def within(before, after):
    return after == before or abs(after - before) <= TOLERANCE * before


def report(seconds_run, warm, end, servers, tally, idle, judge_rss=True):
    counts = tally.snapshot()
    lines = ['', f'soak: {seconds_run:.0f} s of load ({warm["seconds"]:.0f} s warm-up + '
                 f'{seconds_run - warm["seconds"]:.0f} s)', '', 'connections by kind']
    for name in sorted(counts):
        lines.append(f'  {name:<44} {counts[name]:>12,}')
    lines.append('')
    lines.append(f'  {"server":<10} {"accepted":>10} {"welcomed":>10} {"rejected":>10} '
                 f'{"timed out":>10} {"refused":>8} {"errors":>7}')
    for name, server in servers.items():
        s = server.stopped
        if s is None:
            lines.append(f'  {name:<10} (no stopped: line)')
            continue
        lines.append(f'  {name:<10} {s["accepted"]:>10,} {s["welcomed"]:>10,} '
                     f'{s["rejected"]:>10,} {s["timed_out"]:>10,} {s["refused"]:>8,} '
                     f'{s["errors"]:>7,}')
    for name, server in servers.items():
        levels = server.levels.snapshot()
        lines.append(f'  {name} log lines: ' + ', '.join(f'{k} {v}' for k, v in sorted(
            levels.items())))
        for sample in list(server.samples.values())[:8]:
            lines.append(f'    e.g. {sample[:110]}')
    lines.append('')
    checks = []
    for name in servers:
        w, e = warm['values'][name], end[name]
        fds_ok = within(w['fds'], e['fds'])
        rss_ok = within(w['rss'], e['rss'])
        rss_change = (e['rss'] - w['rss']) / w['rss'] * 100
        lines.append(f'  {name:<9} fds idle at start {idle[name]["fds"]}, warm-up {w["fds"]} -> '
                     f'end {e["fds"]}{"" if e["settled"] else " (never held still)"}'
                     f'  {"ok" if fds_ok else "FAIL"}')
        lines.append(f'  {name:<9} RSS idle at start {idle[name]["rss"]} KiB, warm-up '
                     f'{w["rss"]} KiB -> end {e["rss"]} KiB ({rss_change:+.2f} %)'
                     f'  {("ok" if rss_ok else "FAIL") if judge_rss else "(not judged)"}')
        checks.append((f'{name} descriptors within 1 %', fds_ok))
        if judge_rss:
            checks.append((f'{name} RSS within 1 %', rss_ok))
        stopped = servers[name].stopped
        checks.append((f'{name} server errors 0', stopped is not None and stopped['errors'] == 0))
    checks.append(('good clients without errors',
                   counts.get('good ok', 0) > 0 and counts.get('good errors', 0) == 0))
    checks.append(('datagram clients without errors',
                   counts.get('datagram ok', 0) > 0 and counts.get('datagram errors', 0) == 0))
    checks.append(('load loops finished cleanly',
                   not any(k.endswith(('bench failed', 'bench hung')) or 'unexpected' in k
                           for k in counts)))
    lines.append('')
    for name, ok in checks:
        lines.append(f'  {"pass" if ok else "FAIL"}  {name}')
    passed = all(ok for _, ok in checks)
    lines.append('')
    lines.append(f'soak: {"PASS" if passed else "FAIL"}')
    print('\n'.join(lines), flush=True)
    return passed


def interrupted(signum, frame):
    raise KeyboardInterrupt


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--server', required=True)
    parser.add_argument('--bench', required=True)
    parser.add_argument('--seconds', type=float,
                        default=float(os.environ.get('SOAK_SECONDS', '600')))
    parser.add_argument('--engine', choices=('epoll', 'io_uring'), default='epoll',
                        help="the stream server's engine (datagram mode always uses epoll)")
    # A few seconds cannot tell a leak from an allocator still warming up; a smoke run (CTest's,
    # which keeps this script working) judges everything but the RSS.
    parser.add_argument('--smoke', action='store_true',
                        help='judge everything but the RSS (for short runs)')
    args = parser.parse_args()
    if args.seconds < 2 * WARM_UP_FLOOR_S:
        parser.error(f'--seconds: at least {2 * WARM_UP_FLOOR_S:.0f}')

    # SIGINT and SIGTERM end the run through the finally below (SIGINT set explicitly: a
    # background job starts with it ignored).
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    processes = Processes()
    stop = threading.Event()
    tally = Tally()
    servers = {}
    try:
        common = ['--listen', '127.0.0.1:0', '--timeout', f'{int(SERVER_TIMEOUT_S * 1000)}ms',
                  '--read-size', str(READ_SIZE)]
        servers['stream'] = Server(processes, [args.server, *common, '--engine', args.engine,
                                               '--linger-timeout',
                                               f'{int(LINGER_TIMEOUT_S * 1000)}ms'])
        servers['datagram'] = Server(processes, [args.server, *common, '--type', 'dgram'])
        # The servers keep their priority; the load generators started from now on do not.
        os.nice(10)
        idle = {name: {'fds': s.descriptors(), 'rss': s.rss_kib()} for name, s in servers.items()}

        warm_up_s = max(WARM_UP_FLOOR_S, args.seconds * WARM_UP_SHARE)
        started = time.monotonic()
        print(f'soak: stream server ({args.engine}) pid {servers["stream"].process.pid} port '
              f'{servers["stream"].port}, datagram server pid '
              f'{servers["datagram"].process.pid} port {servers["datagram"].port}; '
              f'warm-up {warm_up_s:.0f} s of {args.seconds:.0f} s', flush=True)
        run_phase(processes, args, servers['stream'], servers['datagram'], warm_up_s, stop, tally)
        warm = {'seconds': time.monotonic() - started, 'values': measure(servers)}
        print(f'soak: warm-up done: {warm["values"]}', flush=True)
        run_phase(processes, args, servers['stream'], servers['datagram'],
                  args.seconds - warm_up_s, stop, tally)
        seconds_run = time.monotonic() - started
        end = measure(servers)
        for server in servers.values():
            server.stop()
        passed = report(seconds_run, warm, end, servers, tally, idle, judge_rss=not args.smoke)
        return 0 if passed else 1
    except KeyboardInterrupt:
        print('soak: interrupted', file=sys.stderr)
        return 130
    finally:
        stop.set()
        processes.stop_all()


if __name__ == '__main__':
    sys.exit(main())
