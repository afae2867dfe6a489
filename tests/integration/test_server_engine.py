"""doorman-server --engine: the start-up line names the engine serving; io_uring refused (here by
a seccomp filter failing io_uring_setup with ENOSYS) is one warning line naming the reason, then
the same service with epoll; datagram mode is served with epoll whatever the option says; a
reload that changes the engine says it needs a restart; io_uring's lingering closes leave the
memory as it was. The rest of the behaviour is the whole server suite, run once per engine
(integration.* and integration_uring.*).
"""

import os
import re
import signal
import socket
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402
import server_testing as st  # noqa: E402

FALLBACK_RE = r'\bwarning io_uring is not available \((?P<reason>.*)\): serving with epoll$'


def io_uring_usable():
    """Whether this machine lets a process set up io_uring (the sysctl may forbid it)."""
    try:
        with open('/proc/sys/kernel/io_uring_disabled') as setting:
            return setting.read().strip() == '0'
    except FileNotFoundError:
        return os.path.exists('/proc/sys/kernel')  # a kernel before the sysctl: on if built


def rss_kib(pid):
    with open(f'/proc/{pid}/status') as status:
        return next(int(line.split()[1]) for line in status if line.startswith('VmRSS:'))


class Engine(unittest.TestCase):
    def startup(self, server):
        for line in server.stderr_lines():
            match = re.search(st.STARTUP_RE, line)
            if match:
                return match
        self.fail(f'no start-up line in {server.stderr_lines()}')

    def warnings(self, server):
        return [line for line in server.stderr_lines()
                if ' warning ' in line and 'running as root' not in line]

    def test_refused_io_uring_is_one_warning_then_epoll_serves(self):
        wrapper = (dt.binary('doorman-without-io-uring'),)
        server = st.start_server(self, '--engine', 'io_uring', '--timeout', '1s', wrapper=wrapper)
        self.assertEqual(self.startup(server)['engine'], 'epoll')
        warnings = self.warnings(server)
        self.assertEqual(len(warnings), 1, warnings)
        self.assertRegex(warnings[0], FALLBACK_RE)
        self.assertIn('io_uring_setup', warnings[0])
        self.assertIn('ENOSYS', warnings[0])
        self.assertEqual(st.exchange(server.address, b'1'), st.WELCOME)
        self.assertEqual(st.exchange(server.address, b'2'), st.GO_OUT)
        status, counters = server.stop()
        self.assertEqual(status, 0)
        self.assertEqual((counters['welcomed'], counters['rejected']), (1, 1), counters)

    @unittest.skipUnless(io_uring_usable(), 'kernel.io_uring_disabled forbids io_uring here')
    def test_io_uring_serves_when_available(self):
        server = st.start_server(self, '--engine', 'io_uring')
        self.assertEqual(self.startup(server)['engine'], 'io_uring')
        self.assertEqual(self.warnings(server), [])
        self.assertEqual(st.exchange(server.address, b'1'), st.WELCOME)
        status, _ = server.stop()
        self.assertEqual(status, 0)

    @unittest.skipUnless(io_uring_usable(), 'kernel.io_uring_disabled forbids io_uring here')
    @unittest.skipIf(dt.sanitized(),
                     'a sanitizer runtime cannot run under an address-space limit')
    def test_a_worker_whose_ring_fails_serves_with_epoll(self):
        # The start-up probe's ring is small; the worker's, 1024 receive buffers of 68 KiB
        # (mapped), does not fit under a 60 MB address space: as when the probe passes as root
        # and the ring fails after --user, the worker serves with epoll after one warning.
        limit = ('prlimit', '--as=60000000', '--')
        server = st.start_server(self, '--engine', 'io_uring', '--max-connections', '1024',
                                 '--timeout', '1s', wrapper=limit)
        # Said by the worker's thread, before or after the listening line.
        def fallback():
            return next((match for line in server.stderr_lines()
                         if (match := re.search(FALLBACK_RE, line))), None)
        st.wait_until(fallback, timeout=5, message='the fallback warning')
        reason = fallback()['reason']
        self.assertIn('ENOMEM', reason)
        self.assertEqual(st.exchange(server.address, b'1'), st.WELCOME)
        self.assertEqual(st.exchange(server.address, b'2'), st.GO_OUT)
        status, counters = server.stop()
        self.assertEqual(status, 0)
        self.assertEqual((counters['welcomed'], counters['rejected']), (1, 1), counters)
        warnings = self.warnings(server)
        self.assertEqual(len(warnings), 1, warnings)

    @unittest.skipUnless(io_uring_usable(), 'kernel.io_uring_disabled forbids io_uring here')
    def test_io_uring_lingering_floods_do_not_grow_the_memory(self):
        # Each receive buffer costs the pages receives have written into it, and the buffers
        # are taken in turn: a request of --read-size 1024 touches one page of each. Lingering
        # discards of up to 16 KiB into them touched four, and the server's memory crept up
        # until every buffer had had one (some 12 MiB per worker over a ten-minute soak).
        server = st.start_server(self, '--engine', 'io_uring', '--max-connections', '1024',
                                 '--read-size', '1024', '--timeout', '5s',
                                 '--linger-timeout', '5s')
        # Every one of the 1024 buffers has had a request's page.
        for _ in range(1100):
            self.assertEqual(st.exchange(server.address, b'1'), st.WELCOME)
        before = rss_kib(server.pid)
        flood = bytes(48 * 1024)
        for _ in range(600):
            with st.connect(server.address) as sock:
                sock.sendall(flood)
                sock.shutdown(socket.SHUT_WR)
                # The reply, then the EOF once the server has discarded the rest.
                self.assertEqual(st.recv_until_eof(sock), st.GO_OUT)
        grown = rss_kib(server.pid) - before
        self.assertLess(grown, 2048, f'RSS grew by {grown} KiB over 600 lingering closes')
        status, counters = server.stop()
        self.assertEqual(status, 0)
        self.assertEqual(counters['errors'], 0, counters)

    def test_epoll_is_the_default(self):
        server = st.start_server(self, '--engine', 'epoll')
        self.assertEqual(self.startup(server)['engine'], 'epoll')
        argv = st.server_argv()
        if '--engine' not in argv:  # the plain run: no option at all
            plain = st.start_server(self)
            self.assertEqual(self.startup(plain)['engine'], 'epoll')

    def test_datagram_mode_is_served_with_epoll(self):
        server = st.start_server(self, '--type', 'dgram', '--engine', 'io_uring')
        self.assertEqual(self.startup(server)['engine'], 'epoll')
        self.assertEqual(self.warnings(server), [])
        self.assertEqual(st.exchange(server.address, b'1', type='dgram'), st.WELCOME)

    def test_a_reload_that_changes_the_engine_needs_a_restart(self):
        config = os.path.join(dt.temp_dir(self), 'doorman.toml')
        with open(config, 'w', encoding='utf-8') as file:
            file.write('engine = "epoll"\n')
        # Not start_server: the suite's --engine on the command line would override the file's.
        process = dt.start(self, [dt.binary('doorman-server'), '--config', config, '--listen',
                                  '127.0.0.1:0', '--threads', '1'])
        server = st.Server(process, [st.Address(
            process.wait_for_line(st.LISTENING_RE, timeout=10)['address'])])
        with open(config, 'w', encoding='utf-8') as file:
            file.write('engine = "io_uring"\n')
        os.kill(server.pid, signal.SIGHUP)
        server.process.wait_for_line(
            r'\bwarning reload: engine changed: it needs a restart, kept as it was$')
        self.assertEqual(st.exchange(server.address, b'1'), st.WELCOME)


if __name__ == '__main__':
    unittest.main()
