"""doorman-server --proxy-protocol (B12): every stream connection starts with a PROXY protocol
header, v1 or v2, as a load balancer sends it. The request judged is what follows the header,
whether it came in the same segment or later; the logged peer is the header's source; a
missing, truncated, oversized or malformed header closes the connection unanswered and is
counted apart.
"""

import os
import re
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402
import server_testing as st  # noqa: E402

V2_SIGNATURE = b'\r\n\r\n\x00\r\nQUIT\n'
TIMEOUT = 1.0  # --timeout: short, since several tests wait for it
# A close due at TIMEOUT from the accept, timed from the client's connect: early by at most the
# clock's granularity, late by at most the loop's turn and scheduling on a busy machine. A
# deadline 1.5 times too long falls outside.
EARLY, LATE = 0.05, 0.3


def v1(source, destination='127.0.0.1', source_port=40000, destination_port=8001):
    protocol = 'TCP6' if ':' in source else 'TCP4'
    return f'PROXY {protocol} {source} {destination} {source_port} {destination_port}\r\n'.encode()


def v2(block=b'', command=0x1, family=0x1, transport=0x1):
    return (V2_SIGNATURE + bytes([0x20 | command, family << 4 | transport])
            + struct.pack('!H', len(block)) + block)


def v2_inet(source, source_port, destination='127.0.0.1', destination_port=8001, tlvs=b''):
    if ':' in source:
        block = (socket.inet_pton(socket.AF_INET6, source)
                 + socket.inet_pton(socket.AF_INET6, destination))
        family = 0x2
    else:
        block = socket.inet_aton(source) + socket.inet_aton(destination)
        family = 0x1
    return v2(block + struct.pack('!HH', source_port, destination_port) + tlvs, family=family)


def v2_unix(source, destination='/run/doorman.sock'):
    block = source.encode().ljust(108, b'\0') + destination.encode().ljust(108, b'\0')
    return v2(block, family=0x3)


def tlv(kind, value):
    return bytes([kind]) + struct.pack('!H', len(value)) + value


def send_and_read(address, data, piecewise=False):
    """Sends `data` (one byte a segment if `piecewise`), then reads until the server closes."""
    with st.connect(address) as sock:
        if piecewise:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for index in range(len(data)):
                sock.send(data[index:index + 1])
                time.sleep(0.002)  # the behaviour under test: bytes in separate segments
        else:
            sock.sendall(data)
        return st.recv_until_eof(sock)


class ProxyProtocol(unittest.TestCase):
    def setUp(self):
        self.server = st.start_server(self, '--proxy-protocol', '--timeout', f'{TIMEOUT}s',
                                      '--log-level', 'debug')
        self.address = self.server.address

    def assertLogged(self, regex, timeout=5):
        return self.server.process.wait_for_line(regex, timeout=timeout)

    def assertClosedUnanswered(self, sock, within):
        self.assertIn(st.closed_by_peer(sock, within), ('eof', 'reset'))

    def assertClosedAtTheTimeout(self, sock, started):
        """`sock` is closed unanswered --timeout after `started`, taken before its connect."""
        self.assertClosedUnanswered(sock, TIMEOUT + 3)
        elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, TIMEOUT - EARLY, 'closed before the timeout')
        self.assertLessEqual(elapsed, TIMEOUT + LATE, 'closed long after the timeout')

    def bad_header_count(self):
        status, _counters = self.server.stop()
        self.assertEqual(status, 0)
        for line in self.server.stderr_lines():
            match = re.search(r'connections closed for a missing or malformed PROXY header: (\d+)',
                              line)
            if match:
                return int(match.group(1))
        return 0

    # --- Complete headers ----------------------------------------------------------------

    def test_v1_tcp4_and_the_request_in_one_segment(self):
        self.assertEqual(send_and_read(self.address, v1('192.0.2.10', source_port=41000) + b'1'),
                         st.WELCOME)
        self.assertLogged(r'debug 192\.0\.2\.10:41000 welcomed$')
        self.assertEqual(send_and_read(self.address, v1('192.0.2.10', source_port=41001) + b'2'),
                         st.GO_OUT)
        self.assertLogged(r'debug 192\.0\.2\.10:41001 rejected$')

    def test_v1_tcp6(self):
        self.assertEqual(send_and_read(self.address, v1('2001:db8::7', '::1', 41002) + b'1'),
                         st.WELCOME)
        self.assertLogged(r'debug \[2001:db8::7\]:41002 welcomed$')

    def test_v1_unknown_is_the_socket_peer(self):
        with st.connect(self.address) as sock:
            port = sock.getsockname()[1]
            sock.sendall(b'PROXY UNKNOWN\r\n1')
            self.assertEqual(st.recv_until_eof(sock), st.WELCOME)
        self.assertLogged(rf'debug 127\.0\.0\.1:{port} welcomed$')

    def test_v2_ipv4_ipv6_and_unix_sources(self):
        cases = [(v2_inet('198.51.100.3', 50001), r'198\.51\.100\.3:50001'),
                 (v2_inet('2001:db8::9', 50002, '::1'), r'\[2001:db8::9\]:50002'),
                 (v2_unix('/run/client.sock'), r'unix:/run/client\.sock')]
        for header, logged in cases:
            with self.subTest(logged=logged):
                self.assertEqual(send_and_read(self.address, header + b'1'), st.WELCOME)
                self.assertLogged(rf'debug {logged} welcomed$')

    def test_v2_local_is_the_balancer_itself(self):
        with st.connect(self.address) as sock:
            port = sock.getsockname()[1]
            sock.sendall(v2(command=0x0, family=0x0) + b'1')
            self.assertEqual(st.recv_until_eof(sock), st.WELCOME)
        self.assertLogged(rf'debug 127\.0\.0\.1:{port} welcomed$')

    def test_v2_tlvs_are_skipped(self):
        tlvs = tlv(0x01, b'h2') + tlv(0x02, b'example.com') + tlv(0x04, b'\0' * 40)
        self.assertEqual(send_and_read(self.address, v2_inet('203.0.113.5', 50003, tlvs=tlvs)
                                       + b'1'), st.WELCOME)
        self.assertLogged(r'debug 203\.0\.113\.5:50003 welcomed$')

    def test_the_header_byte_by_byte(self):
        for header in (v1('192.0.2.20', source_port=42000), v2_inet('192.0.2.21', 42001)):
            with self.subTest(header=header):
                self.assertEqual(send_and_read(self.address, header + b'1', piecewise=True),
                                 st.WELCOME)
        self.assertLogged(r'debug 192\.0\.2\.20:42000 welcomed$')
        self.assertLogged(r'debug 192\.0\.2\.21:42001 welcomed$')

    def test_the_request_after_the_header_in_a_later_segment(self):
        with st.connect(self.address) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(v2_inet('192.0.2.30', 43000))
            time.sleep(0.05)
            sock.sendall(b'1')
            self.assertEqual(st.recv_until_eof(sock), st.WELCOME)

    def test_a_silent_client_after_its_header_times_out_under_its_proxied_name(self):
        started = time.monotonic()
        with st.connect(self.address) as sock:
            sock.sendall(v1('192.0.2.40', source_port=44000))
            self.assertClosedAtTheTimeout(sock, started)
        self.assertLogged(r'warning time out: 192\.0\.2\.40:44000 sent nothing within 1s$')

    def test_the_deadline_from_the_accept_covers_the_header(self):
        started = time.monotonic()
        with st.connect(self.address) as sock:
            sock.sendall(b'PROXY TCP4 192.0.2.')
            time.sleep(TIMEOUT * 0.8)
            sock.sendall(b'50 127.0.0.1 45000 8001\r\n')  # complete: the request still owes
            # A deadline restarted by the header would close at 1.8 * TIMEOUT.
            self.assertClosedAtTheTimeout(sock, started)
        self.assertLogged(r'warning time out: 192\.0\.2\.50:45000 sent nothing')

    # --- Bad headers: closed unanswered, counted, logged -------------------------------

    def test_a_truncated_header_is_closed_at_the_timeout(self):
        for partial in (v1('192.0.2.60')[:-1], v2_inet('192.0.2.61', 1)[:-3]):
            started = time.monotonic()
            with self.subTest(partial=partial), st.connect(self.address) as sock:
                sock.sendall(partial)
                self.assertIsNone(st.closed_by_peer(sock, TIMEOUT / 2))
                self.assertClosedAtTheTimeout(sock, started)
                self.assertLogged(r'warning bad PROXY header from 127\.0\.0\.1:\d+: no complete '
                                  r'header within 1s$')
        self.assertEqual(self.bad_header_count(), 2)

    def test_malformed_headers_are_closed_unanswered_and_counted(self):
        oversized = v2_inet('192.0.2.70', 1, tlvs=tlv(0x04, b'\0' * 600))
        too_long_v1 = b'PROXY UNKNOWN ' + b'f' * 100 + b'\r\n'
        cases = [(b'1', 'no PROXY protocol signature'),
                 (b'GET / HTTP/1.1\r\n\r\n', 'no PROXY protocol signature'),
                 (b'PROXY TCP4 192.0.2.1  127.0.0.1 1 2\r\n1',
                  'v1 fields not separated by single spaces'),
                 (b'PROXY TCP4 192.0.2.1 127.0.0.1 01 2\r\n1',
                  'v1 port not a decimal number from 0 to 65535'),
                 (too_long_v1, 'v1 line longer than 107 bytes'),
                 (oversized, 'v2 header longer than 536 bytes'),
                 (V2_SIGNATURE + b'\x23\x11\x00\x00', 'v2 command not LOCAL or PROXY'),
                 (v2(b'\0' * 5) + b'1', 'v2 address block shorter than its family needs')]
        for data, reason in cases:
            with self.subTest(reason=reason):
                with st.connect(self.address) as sock:
                    sock.sendall(data)
                    self.assertClosedUnanswered(sock, 3)
                self.assertLogged(rf'warning bad PROXY header from 127\.0\.0\.1:\d+: '
                                  rf'{re.escape(reason)}$')
        status, counters = self.server.stop()
        self.assertEqual(counters['welcomed'] + counters['rejected'], 0)
        self.assertTrue(any(f'PROXY header: {len(cases)}' in line
                            for line in self.server.stderr_lines()))

    def test_a_plain_client_is_refused_and_never_judged(self):
        self.assertEqual(st.stream_exchange(self.address, b'1'), b'')
        self.assertLogged(r'bad PROXY header from 127\.0\.0\.1:\d+: no PROXY protocol signature$')
        with st.connect(self.address) as sock:
            sock.shutdown(socket.SHUT_WR)  # EOF before any byte: no header either
            self.assertClosedUnanswered(sock, 3)
        self.assertLogged(r'bad PROXY header from 127\.0\.0\.1:\d+: closed before sending one$')
        self.assertEqual(self.bad_header_count(), 2)
        self.assertTrue(any(re.search(r'stopped: 2 accepted, 0 welcomed, 0 rejected', line)
                            for line in self.server.stderr_lines()))


class WithoutTheOption(unittest.TestCase):
    def test_a_header_is_the_request_when_the_option_is_off(self):
        server = st.start_server(self)
        self.assertEqual(st.stream_exchange(server.address, v1('192.0.2.1') + b'1'), st.GO_OUT)

    def test_datagram_mode_refuses_the_option(self):
        status, stdout, stderr = st.run_server('--type', 'dgram', '--proxy-protocol',
                                               '--listen', '127.0.0.1:0')
        self.assertEqual(status, st.EX_USAGE, stderr)
        self.assertIn('--proxy-protocol', stderr)


class UnixListener(unittest.TestCase):
    def test_a_unix_stream_listener_takes_headers_too(self):
        path = dt.free_unix_path(self)
        server = st.start_server(self, '--proxy-protocol', '--log-level', 'debug',
                                 listen=('unix:' + path,))
        self.assertEqual(send_and_read(server.address, v2_inet('192.0.2.80', 46000) + b'1'),
                         st.WELCOME)
        server.process.wait_for_line(r'debug 192\.0\.2\.80:46000 welcomed$')


if __name__ == '__main__':
    unittest.main()
