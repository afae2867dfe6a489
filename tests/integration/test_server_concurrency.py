"""doorman-server serves every client at once (B1): silent clients never delay a
well-behaved one, each connection has its own deadline, and a thousand clients at once all get
the right reply.
"""

import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402
import server_testing as st  # noqa: E402

MESSAGES = [(b'1', st.WELCOME), (b'2', st.GO_OUT), (b'12', st.GO_OUT), (b'1\n', st.GO_OUT)]


class SilentClients(unittest.TestCase):
    SILENT = 200
    TIMEOUT = 3.0

    def test_silent_clients_do_not_delay_a_good_one(self):
        # One worker: the same loop holds the silent connections and serves the good client.
        server = st.start_server(self, '--timeout', f'{self.TIMEOUT}s', '--backlog', '512')
        started = time.monotonic()
        silent, connected = [], []
        self.addCleanup(st.close_all, silent)
        for _ in range(self.SILENT):
            connected.append(time.monotonic())  # the server's clock starts at accept, later
            silent.append(st.connect(server.address))
        for attempt in range(5):
            with self.subTest(attempt=attempt):
                began = time.monotonic()
                self.assertEqual(st.stream_exchange(server.address, b'1'), st.WELCOME)
                self.assertLess(time.monotonic() - began, 1.0,
                                'a good client waited behind the silent ones')
        self.assertLess(time.monotonic() - started, self.TIMEOUT,
                        'too slow to tell: the silent clients timed out meanwhile')

        # Each silent one is closed at its own deadline (timed from its connect), told nothing,
        # and reported. The margins hold scheduling noise; a timeout 1.5 times too long fails.
        endings = st.closing_times(silent, timeout=self.TIMEOUT * 2)
        for index, ((ending, closed), opened) in enumerate(zip(endings, connected)):
            self.assertEqual(ending, 'eof', f'silent client {index}')
            self.assertGreaterEqual(closed - opened, self.TIMEOUT - 0.05,
                                    f'silent client {index} closed before its deadline')
            self.assertLessEqual(closed - opened, self.TIMEOUT + 0.3,
                                 f'silent client {index} closed long after its deadline')
        status, counters = server.stop()
        # Each time out is told: on a line of its own, or summed up in an "N more" line.
        told = [line for line in server.process.lines('stderr')
                if re.search(r'\bwarning time out: 127\.0\.0\.1:\d+ ', line)]
        summed = sum(int(match[1]) for line in server.process.lines('stderr')
                     if (match := re.search(r'\bwarning (\d+) more time outs\b', line)))
        self.assertEqual(len(told) + summed, self.SILENT)
        self.assertLessEqual(len(told), 3 * 10, 'time outs are rate-limited')
        self.assertEqual(status, 0)
        self.assertEqual((counters['timed_out'], counters['welcomed'], counters['errors']),
                         (self.SILENT, 5, 0))

    def test_a_late_silent_client_gets_its_own_deadline(self):
        # Deadlines are per connection: one that arrives later is closed later.
        timeout = 1.0
        server = st.start_server(self, '--timeout', f'{timeout}s')
        early_start = time.monotonic()  # before the connect: the server's clock starts later
        with st.connect(server.address) as early:
            time.sleep(0.5)  # the gap between the two clients is what is tested
            late_start = time.monotonic()
            with st.connect(server.address) as late:
                self.assertEqual(st.closed_by_peer(early, timeout=5), 'eof')
                early_end = time.monotonic()
                self.assertEqual(st.closed_by_peer(late, timeout=5), 'eof')
                late_end = time.monotonic()
        self.assertGreaterEqual(early_end - early_start, timeout - 0.05)
        self.assertLessEqual(early_end - early_start, timeout + 0.3)
        # Closed with the early one, it would have lived only about half the timeout.
        self.assertGreaterEqual(late_end - late_start, timeout - 0.05)
        self.assertLessEqual(late_end - late_start, timeout + 0.3)


class ManyClients(unittest.TestCase):
    CLIENTS = 1000

    def check_all_replied(self, server, clients):
        messages = [MESSAGES[index % len(MESSAGES)] for index in range(clients)]
        replies = st.many_exchanges(server.address, [request for request, _ in messages],
                                    timeout=30)
        wrong = [(index, request, reply) for index, ((request, expected), reply)
                 in enumerate(zip(messages, replies)) if reply != expected]
        self.assertEqual(wrong[:5], [], f'{len(wrong)} of {clients} clients got a wrong reply')
        status, counters = server.stop()
        self.assertEqual(status, 0)
        welcomed = sum(1 for request, _ in messages if request == b'1')
        self.assertEqual(counters, {'accepted': clients, 'welcomed': welcomed,
                                    'rejected': clients - welcomed, 'timed_out': 0,
                                    'refused': 0, 'errors': 0})

    def test_a_thousand_tcp_clients_at_once_one_worker(self):
        server = st.start_server(self, '--timeout', '10s', '--backlog', '2048', threads=1)
        self.check_all_replied(server, self.CLIENTS)

    def test_a_thousand_tcp_clients_at_once_two_workers(self):
        server = st.start_server(self, '--timeout', '10s', '--backlog', '2048', threads=2)
        self.check_all_replied(server, self.CLIENTS)

    def test_a_thousand_unix_clients_at_once_two_workers_sharing_the_socket(self):
        server = st.start_server(self, '--timeout', '10s', '--backlog', '2048', threads=2,
                                 listen=('unix:' + dt.free_unix_path(self),))
        self.check_all_replied(server, self.CLIENTS)


if __name__ == '__main__':
    unittest.main()
