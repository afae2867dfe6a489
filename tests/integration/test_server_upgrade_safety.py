"""doorman-server's upgrades (B12) against what could spoil them: after the handover the old
process drains on when a service manager's stop or a Ctrl-C signals it too, and only a further
signal cuts its connections, and it says so should the new process stop meanwhile; the old process believes READY=1 from the new process alone, not
from anyone on the host who finds its notification socket; a new binary that cannot be run is
named with the system's reason; one that wrote --pid-file before it failed leaves the file
naming the old process again; DOORMAN_PASSWORD goes to the new process only while the password
in use comes from it. A Ctrl-C on the terminal while the new process starts reaches both, and
the old one does not send it again (the new one would take it as a second signal).

As in test_server_upgrade.py, the old process's exit is waited for with Popen.wait: the new
process is in its process group, which doorman_testing's reap would kill.
"""

import os
import pty
import re
import select
import signal
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402
import server_testing as st  # noqa: E402
from test_server_upgrade import UPGRADED_RE, kill_quietly, read_pid, wait_gone  # noqa: E402

STARTED_RE = r'\binfo upgrading on USR2: started \S+ as process (?P<pid>\d+)$'
FAILED_RE = r'\berror upgrade failed, still serving: (?P<why>.*)$'

NEVER_READY = '''#!{python}
# A new server that never says READY=1 and exits with status 3 on SIGTERM.
import signal, sys, time
signal.signal(signal.SIGTERM, lambda _number, _frame: sys.exit(3))
print('never ready starting', file=sys.stderr, flush=True)
time.sleep(60)
'''


def write_script(test, name, text, mode=0o755):
    path = os.path.join(dt.temp_dir(test), name)
    with open(path, 'w', encoding='ascii') as script:
        script.write(text)
    os.chmod(path, mode)
    return path


def environment_of(pid):
    with open(f'/proc/{pid}/environ', 'rb') as environ:
        entries = environ.read().decode().split('\0')
    return dict(entry.split('=', 1) for entry in entries if '=' in entry)


class StopAfterUpgrade(unittest.TestCase):
    def upgraded_holding(self, count):
        """A server holding `count` idle clients, upgraded by SIGUSR2 and draining them:
        (server, clients, the new process's pid), everything stopped on cleanup."""
        server = st.start_server(self, '--timeout', '20s')
        clients = []
        for _ in range(count):
            clients.append(st.connect(server.address, timeout=10))
            self.addCleanup(clients[-1].close)
        os.kill(server.pid, signal.SIGUSR2)
        new_pid = int(server.process.wait_for_line(UPGRADED_RE, timeout=20)['pid'])
        self.addCleanup(kill_quietly, new_pid)
        server.process.wait_for_line(rf'\binfo draining {count} connections$', timeout=10)
        return server, clients, new_pid

    def test_the_first_stop_signal_lets_the_drain_go_on_and_a_further_one_cuts(self):
        server, (finishing, cut), new_pid = self.upgraded_holding(2)

        # As systemd's KillMode=control-group or a terminal's Ctrl-C would.
        os.kill(server.pid, signal.SIGTERM)
        server.process.wait_for_line(
            r'\binfo draining on after TERM: the new process serves; another signal stops at '
            r'once$', timeout=10)
        finishing.sendall(b'1')
        self.assertEqual(st.recv_until_eof(finishing), st.WELCOME)

        os.kill(server.pid, signal.SIGTERM)
        server.process.wait_for_line(r'\bwarning stopping at once on a second signal \(TERM\)$',
                                     timeout=10)
        self.assertEqual(st.recv_until_eof(cut), b'')
        self.assertEqual(server.process.popen.wait(timeout=20), 0, server.process.output()[1])
        # The new process was not signalled: it serves on.
        self.assertEqual(st.exchange(server.address, b'1', timeout=10), st.WELCOME)
        os.kill(new_pid, signal.SIGTERM)
        wait_gone(new_pid)

    def test_the_new_process_stopping_during_the_drain_is_told(self):
        server, (held,), new_pid = self.upgraded_holding(1)
        os.kill(new_pid, signal.SIGKILL)
        server.process.wait_for_line(
            rf'\bwarning process {new_pid}, which serves the sockets now, stopped: it was killed '
            r'by SIGKILL$', timeout=10)
        held.sendall(b'1')
        self.assertEqual(st.recv_until_eof(held), st.WELCOME)
        self.assertEqual(server.process.popen.wait(timeout=20), 0, server.process.output()[1])


class ForeignReady(unittest.TestCase):
    def test_a_ready_from_another_process_is_not_believed(self):
        fake = write_script(self, 'never-ready', NEVER_READY.format(python=sys.executable))
        server = st.start_server(self, env=dict(os.environ, DOORMAN_UPGRADE_EXEC=fake))
        os.kill(server.pid, signal.SIGUSR2)
        new_pid = int(server.process.wait_for_line(STARTED_RE, timeout=10)['pid'])
        self.addCleanup(kill_quietly, new_pid)
        server.process.wait_for_line(r'^never ready starting$', timeout=10)
        name = environment_of(new_pid)['NOTIFY_SOCKET']
        self.assertTrue(name.startswith('@'), name)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as forger:
            forger.sendto(b'READY=1\nSTATUS=forged', '\0' + name[1:])
        # Queued after the forged READY=1: the old process reads that first, then sees the exit.
        os.kill(new_pid, signal.SIGTERM)
        why = server.process.wait_for_line(FAILED_RE, timeout=15)['why']
        self.assertIn(f'the new process {new_pid} did not start: it exited with status 3', why)
        self.assertNotIn('upgraded: process', server.process.output()[1])
        self.assertEqual(st.exchange(server.address, b'1', timeout=10), st.WELCOME)
        self.assertEqual(server.stop()[0], 0)


class CannotRun(unittest.TestCase):
    def upgrade_fails(self, executable):
        server = st.start_server(self, env=dict(os.environ, DOORMAN_UPGRADE_EXEC=executable))
        os.kill(server.pid, signal.SIGUSR2)
        why = server.process.wait_for_line(FAILED_RE, timeout=15)['why']
        self.assertEqual(st.exchange(server.address, b'1', timeout=10), st.WELCOME)
        self.assertEqual(server.stop()[0], 0)
        return why

    def test_a_missing_file(self):
        missing = os.path.join(dt.temp_dir(self), 'missing-server')
        self.assertEqual(self.upgrade_fails(missing),
                         f'execve {missing}: no such file or directory (ENOENT)')

    def test_a_file_that_is_not_executable(self):
        plain = write_script(self, 'plain-server', '#!/bin/sh\nexit 0\n', mode=0o644)
        if os.access(plain, os.X_OK):
            self.skipTest('root may execute any file')
        self.assertEqual(self.upgrade_fails(plain), f'execve {plain}: permission denied (EACCES)')


WRITES_PID_THEN_FAILS = '''#!{python}
# A new server that writes --pid-file as the real one does, then fails to start.
import os, sys
path = sys.argv[sys.argv.index('--pid-file') + 1]
with open(path, 'w') as pid_file:
    pid_file.write(f'{{os.getpid()}}\\n')
sys.exit(3)
'''


class PidFileAfterFailure(unittest.TestCase):
    def test_the_old_process_names_itself_again(self):
        fake = write_script(self, 'writes-pid-then-fails',
                            WRITES_PID_THEN_FAILS.format(python=sys.executable))
        pid_path = os.path.join(dt.temp_dir(self), 'doorman.pid')
        server = st.start_server(self, '--pid-file', pid_path,
                                 env=dict(os.environ, DOORMAN_UPGRADE_EXEC=fake))
        os.kill(server.pid, signal.SIGUSR2)
        new_pid = int(server.process.wait_for_line(STARTED_RE, timeout=10)['pid'])
        why = server.process.wait_for_line(FAILED_RE, timeout=15)['why']
        self.assertIn(f'the new process {new_pid} did not start: it exited with status 3', why)
        st.wait_until(lambda: read_pid(pid_path) == server.pid, timeout=5,
                      message='the pid file names the old process')
        self.assertEqual(server.stop()[0], 0)
        self.assertFalse(os.path.exists(pid_path))


class PasswordSource(unittest.TestCase):
    def upgrade(self, server):
        os.kill(server.pid, signal.SIGUSR2)
        new_pid = int(server.process.wait_for_line(UPGRADED_RE, timeout=20)['pid'])
        self.addCleanup(kill_quietly, new_pid)
        self.assertEqual(server.process.popen.wait(timeout=20), 0, server.process.output()[1])
        return new_pid

    def start(self, config_text):
        directory = dt.temp_dir(self)
        config = os.path.join(directory, 'doorman.toml')
        with open(config, 'w', encoding='utf-8') as file:
            file.write(config_text)
        env = {key: value for key, value in os.environ.items() if key != 'DOORMAN_PASSWORD'}
        env['DOORMAN_PASSWORD'] = 'from-env'
        return st.start_server(self, '--config', config, env=env), config, directory

    def test_the_environment_password_goes_to_the_new_process(self):
        server, _, _ = self.start('log-level = "info"\n')
        new_pid = self.upgrade(server)
        self.assertEqual(st.exchange(server.address, b'from-env', timeout=10), st.WELCOME)
        os.kill(new_pid, signal.SIGTERM)
        wait_gone(new_pid)

    def test_after_a_reload_to_a_password_file_it_does_not(self):
        server, config, directory = self.start('log-level = "info"\n')
        password_file = os.path.join(directory, 'password')
        with open(password_file, 'w', encoding='utf-8') as file:
            file.write('from-file\n')
        os.chmod(password_file, 0o600)
        with open(config, 'w', encoding='utf-8') as file:
            file.write(f'password-file = "{password_file}"\n')
        os.kill(server.pid, signal.SIGHUP)
        server.process.wait_for_line(r'\binfo reload: password changed$', timeout=10)
        new_pid = self.upgrade(server)
        self.assertEqual(st.exchange(server.address, b'from-file', timeout=10), st.WELCOME)
        self.assertNotIn('one password source', server.process.output()[1])
        os.kill(new_pid, signal.SIGTERM)
        wait_gone(new_pid)


RECORDS_SIGNALS = '''#!{python}
# A new server still starting: records each SIGINT and SIGTERM, exits on SIGTERM.
import signal, sys, time
def record(number, _frame):
    with open({record!r}, 'a') as file:
        file.write(signal.Signals(number).name + '\\n')
    if number == signal.SIGTERM:
        sys.exit(0)
signal.signal(signal.SIGINT, record)
signal.signal(signal.SIGTERM, record)
print('recording starting', file=sys.stderr, flush=True)
time.sleep(60)
'''


class Terminal:
    """doorman-server on a pseudo-terminal of its own, in its foreground process group."""

    def __init__(self, test, argv, env):
        self.pid, self.master = pty.fork()
        if self.pid == 0:
            os.execve(argv[0], argv, env)
        test.addCleanup(os.close, self.master)
        test.addCleanup(kill_quietly, self.pid)
        self.text = ''

    def wait_for(self, regex, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(regex, self.text, re.MULTILINE)
            if match:
                return match
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f'waiting for /{regex}/ on the terminal:\n{self.text}')
            if select.select([self.master], [], [], left)[0]:
                try:
                    self.text += os.read(self.master, 65536).decode(errors='replace')
                except OSError:  # EIO: every process on the terminal has gone
                    time.sleep(0.01)

    def exit_status(self, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.02)
        raise AssertionError(f'process {self.pid} still running after {timeout} s')


class CtrlCWhileUpgrading(unittest.TestCase):
    def test_the_new_process_gets_the_terminal_signal_once(self):
        directory = dt.temp_dir(self)
        record = os.path.join(directory, 'signals')
        fake = write_script(self, 'recording', RECORDS_SIGNALS.format(python=sys.executable,
                                                                       record=record))
        terminal = Terminal(self, st.server_argv(), dict(os.environ, DOORMAN_UPGRADE_EXEC=fake))
        terminal.wait_for(r'listening on ')
        os.kill(terminal.pid, signal.SIGUSR2)
        new_pid = int(terminal.wait_for(STARTED_RE.replace('$', '\r?$'))['pid'])
        self.addCleanup(kill_quietly, new_pid)
        terminal.wait_for(r'^recording starting')
        # The old process held until the new one has taken its SIGINT, or a copy sent at once
        # would merge with it, pending.
        os.kill(terminal.pid, signal.SIGSTOP)
        os.write(terminal.master, b'\x03')  # Ctrl-C: SIGINT to the foreground process group
        st.wait_until(lambda: os.path.exists(record), timeout=10, message='the SIGINT recorded')
        os.kill(terminal.pid, signal.SIGCONT)
        # Logged once the old process has (or has not) sent SIGINT again: any copy is pending
        # in the new process before the SIGTERM below.
        terminal.wait_for(rf'stopping on INT while upgrading: process {new_pid} is stopped too')
        os.kill(new_pid, signal.SIGTERM)
        self.assertEqual(terminal.exit_status(), 0, terminal.text)
        with open(record, encoding='ascii') as recorded:
            self.assertEqual(recorded.read(), 'SIGINT\nSIGTERM\n')


if __name__ == '__main__':
    unittest.main()
