"""The tutorial's story against doorman-server, as a transcript (S5, S6, S9, S10).

The tutorial runs server.py, then client.py three ways: it prints `welcome to server!`; with
another message `please go out!`; with a delay above the server's 5 s timeout the server
reports `time out`. Here the timeout is scaled down to 1 s and the client waits 0.1 s or 2 s.
"""

import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402
import server_testing as st  # noqa: E402

EX_PROTOCOL = 76  # doorman-client: the server closed the connection without a reply

TIMEOUT = '1s'  # a client that waits 0.1 s has 0.9 s of margin on a loaded machine
DELAY_WITHIN = '0.1s'
DELAY_BEYOND = '2s'


def without_time(line):
    """`2026-11-25T17:29:24.712Z info listening on ...` -> `info listening on ...`"""
    return re.sub(r'^\S+Z ', '', line)


class TutorialTranscript(unittest.TestCase):
    def setUp(self):
        self.server = st.start_server(self, '--timeout', TIMEOUT)
        self.port = self.server.address.port

    def client(self, *args):
        return dt.run([dt.binary('doorman-client'), '--connect', f'127.0.0.1:{self.port}', *args],
                      timeout=10)

    def slow_client_port(self, process):
        """The local port of a client that connected and now waits (the only one connected)."""
        ports = st.wait_until(lambda: st.tcp_ports_connected_to(self.port) if process.running()
                              else {'exited'}, timeout=5, message='the client connects')
        self.assertNotIn('exited', ports, f'the client exited early: {process.output()}')
        self.assertEqual(len(ports), 1, ports)
        return ports.pop()

    def test_the_three_outcomes_with_doorman_client(self):
        # 1. The password: the client prints the welcome and a newline, exit 0.
        self.assertEqual(self.client('--delay', DELAY_WITHIN, '--message', '1'),
                         (0, 'welcome to server!\n', ''))
        # 2. Another message.
        self.assertEqual(self.client('--delay', DELAY_WITHIN, '--message', 'hello'),
                         (0, 'please go out!\n', ''))
        # 3. A delay above the server's timeout: the server reports `time out` with the peer,
        #    the client says the server closed without a reply, on stderr, exit 76.
        slow = dt.Process([dt.binary('doorman-client'), '--connect', f'127.0.0.1:{self.port}',
                           '--delay', DELAY_BEYOND, '--message', '1'])
        slow.start()
        self.addCleanup(slow.stop)
        peer_port = self.slow_client_port(slow)
        timed_out = self.server.process.wait_for_line(r'\bwarning time out\b', timeout=5)
        self.assertIn(f'127.0.0.1:{peer_port}', timed_out.string)
        self.assertEqual(slow.wait(timeout=10), EX_PROTOCOL)
        stdout, stderr = slow.output()
        self.assertEqual(stdout, '')
        self.assertEqual(len(stderr.splitlines()), 1, stderr)
        self.assertIn('closed the connection without a reply', stderr)
        self.assertIn(f'127.0.0.1:{self.port}', stderr)

        # The server's whole transcript: readiness, the one warning, the stop and its counts.
        # At info level no line per successful connection, and never the request's bytes.
        status, counters = self.server.stop()
        self.assertEqual(status, 0)
        lines = st.transcript(self.server.stderr_lines())
        self.assertEqual([without_time(line) for line in lines], [
            f'info listening on 127.0.0.1:{self.port}',
            f'warning time out: 127.0.0.1:{peer_port} sent nothing within 1s',
            'info stopping on TERM: the connections in flight have 1s to finish; a second '
            'signal stops at once',
            'info draining 0 connections',
            'info stopped: 3 accepted, 1 welcomed, 1 rejected, 1 timed out, 0 refused, 0 errors',
        ])
        self.assertEqual(counters['timed_out'], 1)

    def test_the_three_outcomes_with_the_tutorials_client_py(self):
        # tests/support/tutorial_client.py: the tutorial's client.py in Python 3 (it connects
        # to ('localhost', PORT) with AF_INET, sleeps, sends, prints recv(1024)).
        def tutorial_client(delay, message):
            return dt.run(dt.support_script('tutorial_client.py') + [str(self.port), delay, message],
                          timeout=10)

        self.assertEqual(tutorial_client('0.1', '1'), (0, 'welcome to server!\n', ''))
        self.assertEqual(tutorial_client('0.1', 'hello'), (0, 'please go out!\n', ''))

        slow = dt.Process(dt.support_script('tutorial_client.py') + [str(self.port), '2', '1'])
        slow.start()
        self.addCleanup(slow.stop)
        peer_port = self.slow_client_port(slow)
        timed_out = self.server.process.wait_for_line(r'\bwarning time out\b', timeout=5)
        self.assertIn(f'127.0.0.1:{peer_port}', timed_out.string)
        slow.wait(timeout=10)
        # The tutorial's client then sends into a closed connection: it prints an empty line
        # (recv got the end) or dies of the reset, but never a reply.
        stdout, _ = slow.output()
        self.assertEqual(stdout.strip(), '')

    def test_a_silent_client_is_told_nothing_and_closed_after_the_timeout(self):
        # Its own server with a 1 s timeout, long enough that scheduling noise stays well
        # inside the margin while a deadline 1.5 times too late (or early) falls outside it.
        timeout = 1.0
        server = st.start_server(self, '--timeout', f'{timeout}s')
        started = time.monotonic()  # from the connect: the server's clock starts at accept
        with st.connect(server.address) as silent:
            peer = silent.getsockname()
            self.assertEqual(st.closed_by_peer(silent, timeout=5), 'eof')
            elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, timeout - 0.05, 'closed before the timeout')
        self.assertLessEqual(elapsed, timeout + 0.3, 'closed long after the timeout')
        line = server.process.wait_for_line(r'\bwarning time out\b', timeout=5)
        self.assertIn(f'{peer[0]}:{peer[1]}', line.string)
        self.assertRegex(line.string, st.LOG_LINE_RE)

    @unittest.skipUnless(st.HAVE_IPV6, 'no IPv6 loopback')
    def test_the_time_out_line_names_an_ipv6_peer(self):
        server = st.start_server(self, '--timeout', TIMEOUT, listen=('[::1]:0',))
        with st.connect(server.address) as silent:
            port = silent.getsockname()[1]
            self.assertEqual(st.closed_by_peer(silent, timeout=5), 'eof')
        server.process.wait_for_line(rf'\bwarning time out: \[::1\]:{port} ', timeout=5)

    def test_a_client_within_the_timeout_is_not_reported(self):
        with st.connect(self.server.address) as sock:
            time.sleep(0.1)  # the tutorial's client delay, within the timeout: part of the story
            sock.sendall(b'1')
            self.assertEqual(st.recv_until_eof(sock), st.WELCOME)
        status, counters = self.server.stop()
        self.assertEqual(status, 0)
        self.assertEqual(counters['timed_out'], 0)
        self.assertEqual(counters['welcomed'], 1)
        self.assertFalse([line for line in self.server.stderr_lines() if 'time out' in line])


if __name__ == '__main__':
    unittest.main()
