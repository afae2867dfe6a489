"""Logging never holds up a client (B7, and the stalled log reader of the faults section):
with stderr a pipe that nobody reads, silent clients' time outs and a flood of log lines still
leave good clients served at once, the dropped lines are counted and reported once the reader
is back, and SIGTERM stops the server in bounded time. --log-format json writes one JSON object
per line with time, level and msg, the event and peer where they apply, and the counters of the
summary lines (SIGUSR1's counters, draining, stopped) as numbers of their own.
"""

import json
import os
import re
import resource
import selectors
import signal
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402
import server_testing as st  # noqa: E402
from stalled_stderr import StalledStderrServer  # noqa: E402

SILENT = 1500
BATCH = 100
GOOD_FLOOD = 800  # more log lines than the server's log queue holds (512)
TIMEOUT = 0.2


def raise_descriptor_limit(test, wanted):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return
    if hard != resource.RLIM_INFINITY and hard < wanted:
        test.skipTest(f'needs {wanted} descriptors, the hard limit is {hard}')
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    test.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))


def timed_exchange(address):
    began = time.monotonic()
    reply = st.stream_exchange(address, b'1', timeout=5)
    return reply, time.monotonic() - began


def wait_all_closed_by_server(sockets, timeout):
    """Waits until the server has closed every socket (EOF or reset); returns how many it
    closed within `timeout`."""
    selector = selectors.DefaultSelector()
    for sock in sockets:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    closed = 0
    deadline = time.monotonic() + timeout
    try:
        while closed < len(sockets):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            for key, _ in selector.select(remaining):
                try:
                    data = key.fileobj.recv(1024)
                except ConnectionResetError:
                    data = b''
                if data:
                    raise AssertionError(f'a silent client was sent {data!r}')
                selector.unregister(key.fileobj)
                closed += 1
    finally:
        selector.close()
    return closed


class StalledLogReader(unittest.TestCase):
    def test_a_log_reader_that_stalls_never_holds_up_the_server(self):
        raise_descriptor_limit(self, SILENT + GOOD_FLOOD + 256)
        server = StalledStderrServer(self, '--timeout', f'{TIMEOUT}s', '--log-level', 'debug',
                                     '--backlog', '512')
        filled = server.fill_pipe()

        # 1,500 silent clients, in batches; they time out while the later ones connect, and
        # each time out is a warning the server cannot write.
        silent = []
        self.addCleanup(st.close_all, silent)
        for _ in range(SILENT // BATCH):
            silent += st.burst_connect(server.address, BATCH, timeout=10)
        reply, first_reply = timed_exchange(server.address)
        self.assertEqual(reply, st.WELCOME)
        self.assertLess(first_reply, 1.0, 'a good client waited for the log')

        # A flood of good clients: a debug line each, more than the log queue holds.
        began = time.monotonic()
        replies = []
        for start in range(0, GOOD_FLOOD, 200):
            replies += st.many_exchanges(server.address, [b'1'] * 200, timeout=20)
        flood_seconds = time.monotonic() - began
        self.assertEqual(replies.count(st.WELCOME), GOOD_FLOOD,
                         [reply for reply in replies if reply != st.WELCOME][:5])

        closed = wait_all_closed_by_server(silent, timeout=10)
        self.assertEqual(closed, SILENT, 'silent clients not closed: a worker is stuck')
        reply, second_reply = timed_exchange(server.address)
        self.assertEqual(reply, st.WELCOME)
        self.assertLess(second_reply, 1.0)

        # The reader comes back: what was kept is written, then how many lines were lost.
        dropped_line = server.read_until(
            r'\bwarning (?P<count>\d+) log lines dropped \(log reader too slow\)$', timeout=5)
        dropped = int(dropped_line['count'])
        self.assertGreater(dropped, 0)

        # Stalled again, for good: SIGTERM must still stop it.
        server.fill_pipe()
        status, stop_seconds = server.terminate(timeout=3)
        self.assertEqual(status, 0)
        text = server.read_all()
        print(f'\n  stalled stderr ({filled} bytes in the pipe): first good reply in '
              f'{first_reply * 1000:.1f} ms, after the time outs {second_reply * 1000:.1f} ms; '
              f'{GOOD_FLOOD} good clients in {flood_seconds:.2f} s; {dropped} log lines dropped '
              f'and reported; stopped {stop_seconds:.2f} s after SIGTERM; '
              f'{len(text) // 1024} KiB read from stderr in all', file=sys.stderr)


JSON_LISTENING_RE = r'"msg":"listening on (?P<address>[^"]+)"'
RFC3339_MS_UTC = r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z'


# A welcomed, a rejected, an empty and a silent client, as /status.json names the counters.
EXPECTED_COUNTERS = {'accepted': 4, 'welcomed': 1, 'rejected': 1, 'empty': 1, 'timed_out': 1,
                     'refused': 0, 'errors': 0, 'dropped_loop': 0, 'dropped_over_rate': 0,
                     'dropped_unbound_sender': 0, 'bad_proxy_header': 0}


def counters_when_idle(test, process, timeout=5):
    """SIGUSR1 until the counters line says no connection is open (a client has its reply a
    moment before the server's close); returns that line's JSON object."""
    deadline = time.monotonic() + timeout
    while True:
        os.kill(process.pid, signal.SIGUSR1)
        record = json.loads(process.wait_for_line(r'"event":"counters"').string)
        if record['open'] == 0:
            return record
        test.assertEqual(record['open'], 1, record)
        test.assertLess(time.monotonic(), deadline, f'a connection stays open: {record}')
        time.sleep(0.05)


class JsonFormat(unittest.TestCase):
    def test_every_line_is_a_json_object_with_time_level_and_msg(self):
        process = dt.start(self, st.server_argv('--log-format', 'json', '--log-level', 'debug',
                                                '--timeout', f'{TIMEOUT}s'))
        address = st.Address(process.wait_for_line(JSON_LISTENING_RE)['address'])
        self.assertEqual(st.stream_exchange(address, b'1'), st.WELCOME)
        self.assertEqual(st.stream_exchange(address, b'"quoted"\n\\'), st.GO_OUT)
        with st.connect(address) as empty:
            empty.shutdown(socket.SHUT_WR)
            self.assertEqual(st.recv_until_eof(empty), st.GO_OUT)
        with st.connect(address) as silent:
            self.assertEqual(st.closed_by_peer(silent, timeout=5), 'eof')
        process.wait_for_line(r'"level":"warning","event":"time_out","peer":"127\.0\.0\.1:\d+","msg":"time out: ')
        counters = counters_when_idle(self, process)
        self.assertEqual(process.stop(), 0)

        lines = process.lines('stderr')
        self.assertGreaterEqual(len(lines), 5, lines)
        for line in lines:
            with self.subTest(line=line):
                record = json.loads(line)
                self.assertIsInstance(record, dict)
                self.assertRegex(record['time'], '^' + RFC3339_MS_UTC + '$')
                self.assertIn(record['level'], ('debug', 'info', 'warning', 'error'))
                self.assertIsInstance(record['msg'], str)
        records = [json.loads(line) for line in lines]
        # What a line is about, as keys of its own: the event, and the peer where there is one.
        events = {(record.get('event'), record.get('peer') is not None) for record in records}
        for expected in (('listening', False), ('welcomed', True), ('rejected', True),
                         ('time_out', True), ('counters', False), ('stopping', False),
                         ('draining', False), ('stopped', False)):
            self.assertIn(expected, events)
        for record in records:
            if 'peer' in record:
                self.assertIn(record['peer'], record['msg'])

        # The summaries' counters as numbers: the text sums rejected and empty, the keys do not.
        self.assertEqual(counters, {**counters, **EXPECTED_COUNTERS, 'open': 0})
        self.assertRegex(counters['msg'], r'^counters: 4 accepted, 1 welcomed, 2 rejected, '
                                          r'1 timed out, 0 refused, 0 errors, 0 open$')
        by_event = {record.get('event'): record for record in records}
        self.assertEqual(by_event['draining']['draining'], 0)
        self.assertEqual(by_event['draining']['msg'], 'draining 0 connections')
        stopped = by_event['stopped']
        self.assertEqual(stopped, {**stopped, **EXPECTED_COUNTERS})
        self.assertNotIn('open', stopped)
        self.assertRegex(stopped['msg'], r'^stopped: 4 accepted, 1 welcomed, 2 rejected, '
                                         r'1 timed out, 0 refused, 0 errors$')
        for record in (counters, stopped):
            for key in EXPECTED_COUNTERS:
                self.assertIs(type(record[key]), int, (key, record))


if __name__ == '__main__':
    unittest.main()
