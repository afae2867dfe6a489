"""Self-tests of tests/support/doorman_testing.py: the harness every integration test relies on
must wait, fail and clean up as it promises, or the other tests' results mean little."""

import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402

PY = sys.executable


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); its state in /proc tells it apart.
    try:
        with open(f'/proc/{pid}/stat') as stat:
            return stat.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


class ProcessTest(unittest.TestCase):

    def test_wait_for_line_returns_the_match_and_consumes_lines(self):
        process = dt.start(self, [PY, '-c', 'import sys\n'
                                  'for i in range(3): print("tick", i, flush=True)\n'
                                  'print("listening on 127.0.0.1:4242", file=sys.stderr, flush=True)\n'
                                  'import time; time.sleep(30)'])
        self.assertEqual(dt.listening_port(process.wait_for_line(dt.LISTENING_RE)), 4242)
        self.assertEqual(process.wait_for_line(r'tick (\d)', 'stdout').group(1), '0')
        self.assertEqual(process.wait_for_line(r'tick (\d)', 'stdout').group(1), '1')
        # stdout and stderr are read by two threads: stderr's line says nothing of stdout's.
        self.assertEqual(process.wait_for_line(r'tick (\d)', 'stdout').group(1), '2')
        # Consumed lines are still the stream's lines.
        self.assertEqual(process.lines('stdout'), ['tick 0', 'tick 1', 'tick 2'])

    def test_wait_for_line_fails_at_once_when_the_process_exits(self):
        process = dt.start(self, [PY, '-c', 'import sys; sys.exit("no luck")'])
        started = time.monotonic()
        with self.assertRaisesRegex(AssertionError, 'closed its stderr(.|\n)*no luck'):
            process.wait_for_line('listening', timeout=5)
        self.assertLess(time.monotonic() - started, 4)

    def test_wait_for_line_is_bounded(self):
        process = dt.start(self, [PY, '-c', 'import time; time.sleep(30)'])
        started = time.monotonic()
        with self.assertRaisesRegex(AssertionError, 'did not print it within 0.2 s'):
            process.wait_for_line('listening', timeout=0.2)
        self.assertLess(time.monotonic() - started, 3)

    def test_stop_escalates_to_sigkill(self):
        process = dt.start(self, [PY, '-c', 'import signal, sys, time\n'
                                  'signal.signal(signal.SIGTERM, signal.SIG_IGN)\n'
                                  'print("ready", flush=True)\n'
                                  'time.sleep(30)'])
        process.wait_for_line('ready', 'stdout')
        self.assertEqual(process.stop(grace=0.3), -signal.SIGKILL)
        self.assertFalse(process.running())

    def test_stop_reaches_what_the_process_forked(self):
        process = dt.start(self, ['sh', '-c', 'sleep 30 & echo $!; wait'])
        grandchild = int(process.wait_for_line(r'^\d+$', 'stdout').group(0))
        self.assertTrue(pid_alive(grandchild))
        self.assertEqual(process.stop(), -signal.SIGTERM)
        deadline = time.monotonic() + 3
        while pid_alive(grandchild) and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertFalse(pid_alive(grandchild))

    def test_large_output_never_blocks_the_child(self):
        process = dt.start(self, [PY, '-c', 'import sys; sys.stdout.write("x" * 2_000_000)'])
        self.assertEqual(process.wait(timeout=5), 0)
        self.assertEqual(len(process.output_bytes('stdout')), 2_000_000)

    def test_stdin_bytes_reach_the_child(self):
        process = dt.start(self, ['cat'], stdin=b'no newline')
        self.assertEqual(process.wait(), 0)
        self.assertEqual(process.output(), ('no newline', ''))


class RunTest(unittest.TestCase):

    def test_run_returns_status_and_output(self):
        self.assertEqual(dt.run(['sh', '-c', 'echo out; echo err >&2; exit 3']), (3, 'out\n', 'err\n'))

    def test_run_is_bounded(self):
        started = time.monotonic()
        with self.assertRaises(subprocess.TimeoutExpired):
            dt.run(['sleep', '30'], timeout=0.2)
        self.assertLess(time.monotonic() - started, 3)


class PathTest(unittest.TestCase):

    def test_free_unix_path_is_short_and_free(self):
        path = dt.free_unix_path(self)
        self.assertFalse(os.path.exists(path))
        self.assertTrue(os.path.isdir(os.path.dirname(path)))
        self.assertLess(len(path), dt.UNIX_PATH_MAX // 2)

    def test_build_dir_holds_the_programs(self):
        for name in ('doorman-client', 'tutorial-server', 'tutorial-client'):
            self.assertTrue(os.access(dt.binary(name), os.X_OK), name)


if __name__ == '__main__':
    unittest.main()
