"""doorman-server's upgrades on one machine (B12): --pid-file names the serving process and is
removed on exit only while it names it; SIGUSR2 starts the binary again, hands it the listening
sockets (LISTEN_FDS), waits for its READY=1 and then drains, so that a load running through the
upgrade sees no error, over TCP and over a Unix socket whose file the new process keeps and
removes; a new process that fails to start leaves the old one serving.

The new process is in the old one's process group and writes to the same stderr: the old one's
exit is waited for with Popen.wait (doorman_testing's reap would kill the whole group).
"""

import json
import os
import signal
import stat
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402
import server_testing as st  # noqa: E402

UPGRADED_RE = r'\binfo upgraded: process (?P<pid>\d+) serves the sockets now$'
STOPPED_ONLY_RE = r'\binfo stopped: '


def read_pid(path):
    with open(path, encoding='ascii') as file:
        return int(file.read().strip())


def gone(pid):
    """Not running any more: no such process, or a zombie not yet reaped by its new parent."""
    try:
        with open(f'/proc/{pid}/stat', encoding='ascii') as stat_file:
            return stat_file.read().rsplit(')', 1)[1].split()[0] == 'Z'
    except FileNotFoundError:
        return True


def wait_gone(pid, timeout=15):
    deadline = time.monotonic() + timeout
    while not gone(pid):
        if time.monotonic() > deadline:
            raise AssertionError(f'process {pid} still running after {timeout} s')
        time.sleep(0.02)


def kill_quietly(pid):
    if not gone(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class PidFile(unittest.TestCase):
    def test_names_the_server_while_serving_and_is_removed_on_sigterm(self):
        path = os.path.join(dt.temp_dir(self), 'doorman.pid')
        server = st.start_server(self, '--pid-file', path)
        self.assertEqual(read_pid(path), server.pid)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode) & 0o022, 0)
        self.assertEqual(server.stop()[0], 0)
        self.assertFalse(os.path.exists(path))
        self.assertEqual([name for name in os.listdir(os.path.dirname(path))], [])

    def test_is_left_alone_when_it_names_another_process(self):
        path = os.path.join(dt.temp_dir(self), 'doorman.pid')
        server = st.start_server(self, '--pid-file', path)
        with open(path, 'w', encoding='ascii') as file:
            file.write('1\n')
        self.assertEqual(server.stop()[0], 0)
        self.assertEqual(read_pid(path), 1)

    def test_a_pid_file_that_cannot_be_written_stops_the_start(self):
        path = os.path.join(dt.temp_dir(self), 'missing', 'doorman.pid')
        status, _stdout, stderr = st.run_server('--listen', '127.0.0.1:0', '--pid-file', path)
        self.assertEqual(status, st.EX_OSERR, stderr)
        self.assertIn('create pid file', stderr)


class Upgrade(unittest.TestCase):
    def upgrade_under_load(self, listen):
        directory = dt.temp_dir(self)
        pid_path = os.path.join(directory, 'doorman.pid')
        server = st.start_server(self, '--pid-file', pid_path, listen=(listen,), threads=2)
        old_pid = server.pid
        self.assertEqual(read_pid(pid_path), old_pid)
        bench = dt.start(self, [dt.load_generator(self), '--connect', server.address.text,
                                '--concurrency', '50', '--duration', '4s', '--json',
                                '--no-progress'])
        time.sleep(1)  # the load runs before, during and after the upgrade
        os.kill(old_pid, signal.SIGUSR2)
        new_pid = int(server.process.wait_for_line(UPGRADED_RE, timeout=20)['pid'])
        self.addCleanup(kill_quietly, new_pid)
        self.assertNotEqual(new_pid, old_pid)
        # Not dt's wait: its reap kills the process group, the new server with it.
        self.assertEqual(server.process.popen.wait(timeout=20), 0, server.process.output()[1])

        bench.wait(timeout=30)
        report = json.loads(bench.output()[0])
        self.assertEqual(report['errors'], 0, report)
        self.assertGreater(report['ok'], 0, report)

        self.assertEqual(read_pid(pid_path), new_pid)
        self.assertEqual(st.exchange(server.address, b'1', timeout=10), st.WELCOME)
        if server.address.text.startswith('unix:/'):
            self.assertTrue(stat.S_ISSOCK(os.stat(server.address.sockaddr).st_mode))

        # The new process owns what the old one made: the pid file and the socket file.
        os.kill(new_pid, signal.SIGTERM)
        server.process.wait_for_line(STOPPED_ONLY_RE, timeout=15)  # the old one's
        server.process.wait_for_line(STOPPED_ONLY_RE, timeout=15)  # the new one's
        wait_gone(new_pid)
        self.assertFalse(os.path.exists(pid_path))
        if server.address.text.startswith('unix:/'):
            self.assertFalse(os.path.exists(server.address.sockaddr))

    def test_tcp_upgrade_under_load_loses_no_connection(self):
        self.upgrade_under_load('127.0.0.1:0')

    def test_unix_upgrade_under_load_loses_no_connection(self):
        self.upgrade_under_load('unix:' + dt.free_unix_path(self))

    def test_a_new_binary_that_fails_leaves_the_old_one_serving(self):
        directory = dt.temp_dir(self)
        failing = os.path.join(directory, 'failing-server')
        with open(failing, 'w', encoding='ascii') as script:
            script.write('#!/bin/sh\nexit 1\n')
        os.chmod(failing, 0o755)
        env = dict(os.environ, DOORMAN_UPGRADE_EXEC=failing)
        server = st.start_server(self, env=env)
        os.kill(server.pid, signal.SIGUSR2)
        line = server.process.wait_for_line(r'\berror upgrade failed, still serving: (?P<why>.*)$',
                                            timeout=20)
        self.assertIn('exited with status 1', line['why'])
        self.assertEqual(st.exchange(server.address, b'1', timeout=10), st.WELCOME)
        self.assertEqual(server.stop()[0], 0)


if __name__ == '__main__':
    unittest.main()
