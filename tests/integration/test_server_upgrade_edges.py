"""doorman-server's upgrades (B12) at their edges: the --metrics socket is handed over with the
listening ones, so /metrics answers before, during and after an upgrade under load, and once
the old process has gone it is the new one's figures; under a service manager (NOTIFY_SOCKET)
the old process names the new one MAINPID= and never says STOPPING=1 for it; a SIGTERM while
the new process starts stops that process too, and the old one waits for it before it exits.

As in test_server_upgrade.py, the old process's exit is waited for with Popen.wait: the new
process is in its process group, which doorman_testing's reap would kill.
"""

import json
import os
import signal
import socket
import stat
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402
import metrics_testing as mt  # noqa: E402
import server_testing as st  # noqa: E402
from test_server_upgrade import (UPGRADED_RE, STOPPED_ONLY_RE, kill_quietly,  # noqa: E402
                                 wait_gone)

STARTED_RE = r'\binfo upgrading on USR2: started \S+ as process (?P<pid>\d+)$'


def process_start_time(pid):
    """What process_start_time_seconds says for `pid`: boot time plus its start in ticks."""
    with open('/proc/stat', encoding='ascii') as stat_file:
        boot = next(int(line.split()[1]) for line in stat_file if line.startswith('btime '))
    with open(f'/proc/{pid}/stat', encoding='ascii') as stat_file:
        started = int(stat_file.read().rsplit(')', 1)[1].split()[19])
    return boot + started / os.sysconf('SC_CLK_TCK')


def served_start_time(metrics):
    response = mt.get(metrics, '/metrics', timeout=5)
    if response.status != 200:
        raise AssertionError(f'/metrics answered {response.status}')
    return mt.sample(mt.families(response.text), 'process_start_time_seconds')


class Scraper(threading.Thread):
    """Scrapes /metrics every 20 ms until stopped: each scrape's start time, or its error."""

    def __init__(self, metrics):
        super().__init__(daemon=True)
        self.metrics = metrics
        self.stopping = threading.Event()
        self.start_times = []
        self.failures = []

    def run(self):
        deadline = time.monotonic() + 60  # bounded whatever the test does
        while not self.stopping.is_set() and time.monotonic() < deadline:
            try:
                self.start_times.append(served_start_time(self.metrics))
            except (OSError, AssertionError) as error:
                self.failures.append(repr(error))
            self.stopping.wait(0.02)

    def stop(self):
        self.stopping.set()
        self.join(timeout=10)


class MetricsHandedOver(unittest.TestCase):
    def upgrade(self, metrics_address, under_load):
        directory = dt.temp_dir(self)
        server, metrics = mt.start_metrics_server(
            self, '--pid-file', os.path.join(directory, 'doorman.pid'), metrics=metrics_address,
            threads=2)
        old_pid = server.pid
        old_start = process_start_time(old_pid)
        self.assertAlmostEqual(served_start_time(metrics), old_start, delta=0.05)

        bench = None
        if under_load:
            bench = dt.start(self, [dt.load_generator(self), '--connect', server.address.text,
                                    '--concurrency', '50', '--duration', '4s', '--json',
                                    '--no-progress'])
        # The load and the scrapes run before, during and after the upgrade.
        scraper = Scraper(metrics)
        scraper.start()
        self.addCleanup(scraper.stop)
        time.sleep(1)
        os.kill(old_pid, signal.SIGUSR2)
        new_pid = int(server.process.wait_for_line(UPGRADED_RE, timeout=20)['pid'])
        self.addCleanup(kill_quietly, new_pid)
        self.assertEqual(server.process.popen.wait(timeout=20), 0, server.process.output()[1])
        # The new process serves metrics on the same address, without binding it again.
        logged = server.process.output()[1]
        self.assertEqual(logged.count(f' info metrics on {metrics.text}\n'), 2, logged)
        if bench is not None:
            bench.wait(timeout=30)
        else:
            time.sleep(1)
        scraper.stop()

        self.assertEqual(scraper.failures, [])
        self.assertGreater(len(scraper.start_times), 10)
        new_start = process_start_time(new_pid)
        self.assertGreater(new_start, old_start)
        for seen in scraper.start_times:
            self.assertTrue(abs(seen - old_start) < 0.05 or abs(seen - new_start) < 0.05, seen)
        self.assertAlmostEqual(scraper.start_times[0], old_start, delta=0.05)
        # Once the old one has gone, every scrape is the new process's.
        self.assertAlmostEqual(scraper.start_times[-1], new_start, delta=0.05)
        self.assertAlmostEqual(served_start_time(metrics), new_start, delta=0.05)

        if bench is not None:
            report = json.loads(bench.output()[0])
            self.assertEqual(report['errors'], 0, report)
            self.assertGreater(report['ok'], 0, report)
        self.assertEqual(st.exchange(server.address, b'1', timeout=10), st.WELCOME)
        status = json.loads(mt.get(metrics, '/status.json').body)
        self.assertGreaterEqual(status['counters']['welcomed'], 1)

        os.kill(new_pid, signal.SIGTERM)
        server.process.wait_for_line(STOPPED_ONLY_RE, timeout=15)  # the old one's
        server.process.wait_for_line(STOPPED_ONLY_RE, timeout=15)  # the new one's
        wait_gone(new_pid)
        return metrics

    def test_tcp_metrics_under_load(self):
        self.upgrade('127.0.0.1:0', under_load=True)

    def test_a_unix_metrics_file_goes_to_the_new_process(self):
        path = dt.free_unix_path(self, 'metrics.sock')
        self.upgrade('unix:' + path, under_load=False)
        self.assertFalse(os.path.exists(path), 'removed by the new process on exit')

    def test_the_file_stays_while_the_new_process_serves(self):
        path = dt.free_unix_path(self, 'metrics.sock')
        server, metrics = mt.start_metrics_server(self, metrics='unix:' + path)
        os.kill(server.pid, signal.SIGUSR2)
        new_pid = int(server.process.wait_for_line(UPGRADED_RE, timeout=20)['pid'])
        self.addCleanup(kill_quietly, new_pid)
        self.assertEqual(server.process.popen.wait(timeout=20), 0, server.process.output()[1])
        self.assertTrue(stat.S_ISSOCK(os.stat(path).st_mode))
        self.assertAlmostEqual(served_start_time(metrics), process_start_time(new_pid),
                               delta=0.05)


def receive(notifications):
    """(sender's pid, the message's fields) of the next notification."""
    credentials = struct.calcsize('3i')
    data, ancillary, _, _ = notifications.recvmsg(4096, socket.CMSG_SPACE(credentials))
    pid = next(struct.unpack('3i', payload[:credentials])[0]
               for level, kind, payload in ancillary
               if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS)
    return pid, data.decode().split('\n')


class ServiceManager(unittest.TestCase):
    """A fake systemd: a datagram socket that learns each sender's pid (SO_PASSCRED)."""

    def test_the_new_process_becomes_the_main_process(self):
        path = dt.free_unix_path(self, 'notify.sock')
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notifications:
            notifications.bind(path)
            notifications.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            notifications.settimeout(10)
            server = st.start_server(self, env=dict(os.environ, NOTIFY_SOCKET=path))
            old_pid = server.pid
            self.assertEqual(receive(notifications), (old_pid, [
                'READY=1', 'STATUS=serving 1 address(es)']))

            os.kill(old_pid, signal.SIGUSR2)
            new_pid = int(server.process.wait_for_line(UPGRADED_RE, timeout=20)['pid'])
            self.addCleanup(kill_quietly, new_pid)
            # Both come, in either order: the new one's READY=1 (NotifyAccess=all lets it in)
            # and the old one's MAINPID=.
            received = sorted([receive(notifications), receive(notifications)])
            self.assertEqual(sorted([(old_pid, [f'MAINPID={new_pid}']),
                                     (new_pid, ['READY=1', 'STATUS=serving 1 address(es)'])]),
                             received)
            self.assertEqual(server.process.popen.wait(timeout=20), 0, server.process.output()[1])

            # The old one drained without a word to the service manager: it goes on.
            notifications.setblocking(False)
            with self.assertRaises(BlockingIOError):
                receive(notifications)
            notifications.settimeout(10)

            os.kill(new_pid, signal.SIGTERM)
            sender, fields = receive(notifications)
            self.assertEqual(sender, new_pid)
            self.assertIn('STOPPING=1', fields)
            wait_gone(new_pid)


FAKE_NEW_SERVER = '''#!{python}
# Starts and never says READY=1: an upgrade that is still starting. Records the signal that
# stops it.
import signal, sys, time
def stopped(number, _frame):
    with open({record!r}, 'w') as record:
        record.write(signal.Signals(number).name)
    sys.exit(0)
signal.signal(signal.SIGTERM, stopped)
signal.signal(signal.SIGINT, stopped)
print('fake new server starting', file=sys.stderr, flush=True)
time.sleep(60)
'''


class StopWhileUpgrading(unittest.TestCase):
    def start_upgrade(self):
        directory = dt.temp_dir(self)
        record = os.path.join(directory, 'signal')
        fake = os.path.join(directory, 'fake-new-server')
        with open(fake, 'w', encoding='ascii') as script:
            script.write(FAKE_NEW_SERVER.format(python=sys.executable, record=record))
        os.chmod(fake, 0o755)
        server = st.start_server(self, env=dict(os.environ, DOORMAN_UPGRADE_EXEC=fake))
        os.kill(server.pid, signal.SIGUSR2)
        new_pid = int(server.process.wait_for_line(STARTED_RE, timeout=10)['pid'])
        self.addCleanup(kill_quietly, new_pid)
        server.process.wait_for_line(r'^fake new server starting$', timeout=10)
        return server, new_pid, record

    def stop_while_upgrading(self, number):
        server, new_pid, record = self.start_upgrade()
        os.kill(server.pid, number)
        name = signal.Signals(number).name[3:]
        server.process.wait_for_line(
            rf'\bwarning stopping on {name} while upgrading: process {new_pid} is stopped too$',
            timeout=10)
        server.process.wait_for_line(
            rf'\binfo process {new_pid}, started to upgrade, stopped: it exited with status 0$',
            timeout=15)
        self.assertEqual(server.process.popen.wait(timeout=15), 0, server.process.output()[1])
        # Reaped by the old process before it exited: no process, not even a zombie, is left.
        self.assertFalse(os.path.exists(f'/proc/{new_pid}'))
        with open(record, encoding='ascii') as recorded:
            self.assertEqual(recorded.read(), signal.Signals(number).name)

    def test_sigterm_stops_the_new_process_too(self):
        self.stop_while_upgrading(signal.SIGTERM)

    def test_sigint_stops_the_new_process_too(self):
        self.stop_while_upgrading(signal.SIGINT)

    def test_a_new_process_that_ignores_the_stop_is_killed(self):
        directory = dt.temp_dir(self)
        stubborn = os.path.join(directory, 'stubborn-new-server')
        with open(stubborn, 'w', encoding='ascii') as script:
            script.write(f'#!{sys.executable}\nimport signal, sys, time\n'
                         'signal.signal(signal.SIGTERM, signal.SIG_IGN)\n'
                         'signal.signal(signal.SIGINT, signal.SIG_IGN)\n'
                         "print('stubborn starting', file=sys.stderr, flush=True)\n"
                         'time.sleep(60)\n')
        os.chmod(stubborn, 0o755)
        server = st.start_server(self, '--drain-timeout', '0.2s',
                                 env=dict(os.environ, DOORMAN_UPGRADE_EXEC=stubborn))
        os.kill(server.pid, signal.SIGUSR2)
        new_pid = int(server.process.wait_for_line(STARTED_RE, timeout=10)['pid'])
        self.addCleanup(kill_quietly, new_pid)
        server.process.wait_for_line(r'^stubborn starting$', timeout=10)
        started = time.monotonic()
        os.kill(server.pid, signal.SIGTERM)
        server.process.wait_for_line(
            rf'\binfo process {new_pid}, started to upgrade, stopped: it was killed by SIGKILL, '
            r'as it had not stopped in time$', timeout=15)
        self.assertEqual(server.process.popen.wait(timeout=15), 0, server.process.output()[1])
        # The drain's 0.2 s and the 2 s of grace (SignalLoop::kUpgradeStopGrace), not sooner.
        self.assertGreater(time.monotonic() - started, 2.0)
        self.assertLess(time.monotonic() - started, 12.0)
        self.assertFalse(os.path.exists(f'/proc/{new_pid}'))


if __name__ == '__main__':
    unittest.main()
