"""doorman-bench when things go wrong (B8): it always stops, never spins, and says so in its
exit status.

usage: faults_test.py DOORMAN_SERVER DOORMAN_BENCH

A refused target, a server killed mid-run, SIGINT and SIGTERM, --max-errors, a wrong reply and a
bad --rate, each against the real programs on loopback. Every wait is bounded and every process
started here is stopped by its PID.
"""

import contextlib
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

import local_server

SERVER = BENCH = None
RUN_TIMEOUT = 30
EX_USAGE = 64
EX_UNAVAILABLE = 69
EX_MAX_ERRORS = 1


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench(*args):
    return subprocess.run([BENCH, '--no-progress', *args], capture_output=True, text=True,
                          timeout=RUN_TIMEOUT)


class Bench:
    """doorman-bench started in the background with --progress: its first progress line, a
    second into the measured phase, says it is under way."""

    def __init__(self, *args):
        self.process = subprocess.Popen([BENCH, '--progress', *args], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.stderr_lines = []

    def wait_for_progress(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()  # bounded: the bench ends by itself
            if not line:
                break
            self.stderr_lines.append(line)
            if ' ok ' in line and ' errors ' in line:
                return
        raise AssertionError('no progress line; stderr: ' + ''.join(self.stderr_lines))

    def finish(self, timeout=RUN_TIMEOUT):
        try:
            stdout, stderr = self.process.communicate(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        return self.process.returncode, stdout, ''.join(self.stderr_lines) + stderr


@contextlib.contextmanager
def bench_under_way(duration):
    """doorman-bench loading a fresh server with 4 connections for `duration`, past its first
    progress line: yields (server, bench, when the bench was started)."""
    with local_server.running([SERVER, '--listen', '127.0.0.1:0', '--threads', '1',
                               '--backlog', '128']) as (server, port):
        began = time.monotonic()
        run = Bench('--connect', f'127.0.0.1:{port}', '--duration', duration, '--concurrency',
                    '4')
        try:
            run.wait_for_progress()
            yield server, run, began
        finally:
            if run.process.poll() is None:  # a failed case must not leave the bench running
                run.process.kill()
                run.process.wait()


class WrongReplyServer:
    """A tiny server that answers every request with `reply` and closes."""

    def __init__(self, reply):
        self.reply = reply
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(1024)
                    conn.sendall(self.reply)
                except OSError:
                    pass

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.stopping.set()
        self.thread.join(timeout=5)
        self.listener.close()


class RefusedTarget(unittest.TestCase):
    def test_duration_ends_on_time_with_69_and_little_cpu(self):
        with local_server.refused_port() as port:
            cpu_before = children_cpu_seconds()
            began = time.monotonic()
            run = bench('--connect', f'127.0.0.1:{port}', '--duration', '2s')
            wall = time.monotonic() - began
        cpu = children_cpu_seconds() - cpu_before
        self.assertEqual(run.returncode, EX_UNAVAILABLE, run.stderr)
        self.assertGreaterEqual(wall, 1.9)
        self.assertLess(wall, 4.0)
        # A connect loop that never pauses burns the whole wall time.
        self.assertLess(cpu, 0.25 * wall, f'{cpu:.2f}s of CPU in {wall:.2f}s')
        self.assertRegex(run.stdout, r'errors +connect refused \d+')
        self.assertIn('every connect was refused', run.stderr)

    def test_count_ends_with_69(self):
        with local_server.refused_port() as port:
            run = bench('--connect', f'127.0.0.1:{port}', '--count', '100')
        self.assertEqual(run.returncode, EX_UNAVAILABLE, run.stderr)
        self.assertIn('connect refused 100', run.stdout)

    def test_silent_connections_refused_end_with_69(self):
        # More refusals than the bench takes before pausing, while nothing else is open: the
        # pause must end by itself.
        with local_server.refused_port() as port:
            run = bench('--connect', f'127.0.0.1:{port}', '--silent', '200', '--count', '1')
        self.assertEqual(run.returncode, EX_UNAVAILABLE, run.stderr)
        self.assertRegex(run.stdout, r'silent +200 held; 0 closed by the server; errors: '
                                     r'connect refused 200')


class Signals(unittest.TestCase):
    def interrupt(self, signum):
        with bench_under_way('60s') as (_, run, began):
            run.process.send_signal(signum)
            status, stdout, stderr = run.finish(timeout=10)
            self.assertLess(time.monotonic() - began, 15)
        self.assertEqual(status, 128 + signum, stderr)
        self.assertRegex(stdout, r'connections +[1-9]\d* ok')
        self.assertIn('(interrupted)', stdout)

    def test_sigint_reports_and_exits_130(self):
        self.interrupt(signal.SIGINT)

    def test_sigterm_reports_and_exits_143(self):
        self.interrupt(signal.SIGTERM)

    def test_sigint_against_a_refused_target(self):
        with local_server.refused_port() as port:
            run = Bench('--connect', f'127.0.0.1:{port}', '--duration', '60s')
            run.wait_for_progress()
            run.process.send_signal(signal.SIGINT)
            status, stdout, stderr = run.finish(timeout=5)
        self.assertEqual(status, 128 + signal.SIGINT, stderr)
        self.assertIn('connect refused', stdout)


class ServerGoesAway(unittest.TestCase):
    def test_stops_at_the_duration(self):
        with bench_under_way('3s') as (server, run, began):
            server.kill()
            server.wait(timeout=5)
            status, stdout, stderr = run.finish(timeout=10)
            wall = time.monotonic() - began
        self.assertLess(wall, 6.0, stdout + stderr)
        self.assertEqual(status, 0, stderr)
        self.assertRegex(stdout, r'connections +[1-9]\d* ok, [1-9]\d* errors')
        self.assertIn('connect refused', stdout)


class MaxErrors(unittest.TestCase):
    def run_rejected(self, *args):
        # The server rejects the message `2`: every connection is a wrong reply.
        with local_server.running([SERVER, '--listen', '127.0.0.1:0', '--threads', '1']) as (_,
                                                                                     port):
            return bench('--connect', f'127.0.0.1:{port}', '--count', '20', '--concurrency',
                         '2', '--message', '2', *args)

    def test_more_errors_than_allowed_fail_the_run(self):
        run = self.run_rejected('--max-errors', '5')
        self.assertEqual(run.returncode, EX_MAX_ERRORS, run.stderr)
        self.assertIn('20 errors', run.stdout)
        self.assertIn('20 errors, more than --max-errors 5', run.stderr)

    def test_errors_within_the_limit_pass(self):
        run = self.run_rejected('--max-errors', '20')
        self.assertEqual(run.returncode, 0, run.stderr)

    def test_without_the_option_errors_are_only_reported(self):
        run = self.run_rejected()
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("first wrong  'please go out!' (expected 'welcome to server!')", run.stdout)


class WrongReply(unittest.TestCase):
    def test_the_first_wrong_reply_is_shown_escaped(self):
        with WrongReplyServer(b'hi\n\x1b[31mthere\\') as server:
            run = bench('--connect', f'127.0.0.1:{server.port}', '--count', '3',
                        '--concurrency', '1')
            json_run = bench('--connect', f'127.0.0.1:{server.port}', '--count', '1',
                             '--concurrency', '1', '--json')
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn('wrong reply 3', run.stdout)
        self.assertIn(r"first wrong  'hi\x0a\x1b[31mthere\x5c'", run.stdout)
        self.assertNotIn('\x1b', run.stdout)
        self.assertIn(r'"first_wrong_reply":"hi\\x0a\\x1b[31mthere\\x5c"', json_run.stdout)


class BadRate(unittest.TestCase):
    def test_rates_out_of_range_are_one_line_usage_errors(self):
        for rate in ['1e-300', '0', '-5', 'nan', 'inf', '1e300', 'fast', '5x']:
            with self.subTest(rate=rate):
                run = bench('--rate', rate, '--count', '1')
                self.assertEqual(run.returncode, EX_USAGE, run.stderr)
                self.assertEqual(len(run.stderr.splitlines()), 1, run.stderr)
                self.assertIn('--rate', run.stderr)
                self.assertEqual(run.stdout, '')


if __name__ == '__main__':
    SERVER, BENCH = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0]], verbosity=2)
