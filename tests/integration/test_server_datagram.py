"""doorman-server in datagram mode (B3): UDP and Unix datagram sockets, each
datagram one request answered to its sender; a datagram longer than --read-size is cut by the
kernel and therefore not the password.
"""

import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402
import server_testing as st  # noqa: E402


def datagram_listen(test):
    listen = ['127.0.0.1:0']
    if st.HAVE_IPV6:
        listen.append('[::1]:0')
    listen += ['unix:' + dt.free_unix_path(test), 'unix:@' + dt.unique_abstract_name()]
    return listen


class Datagrams(unittest.TestCase):
    def start(self, *args):
        return st.start_server(self, '--type', 'dgram', *args, listen=datagram_listen(self),
                               threads=2)

    def test_each_family_answers(self):
        server = self.start()
        for address in server.addresses:
            with self.subTest(address=address.text):
                self.assertEqual(st.exchange(address, b'1', 'dgram'), st.WELCOME)
                self.assertEqual(st.exchange(address, b'2', 'dgram'), st.GO_OUT)
                self.assertEqual(st.exchange(address, b'', 'dgram'), st.GO_OUT)

    def test_a_wildcard_listener_answers_from_the_address_it_was_sent_to(self):
        # On *:port the reply must leave from the request's destination (here 127.0.0.2, not
        # the 127.0.0.1 routing would pick), or a connected client never sees it.
        server = st.start_server(self, '--type', 'dgram', listen=['*:0'], threads=2)
        port = server.address.port
        for destination in ('127.0.0.1', '127.0.0.2', '127.1.2.3'):
            with self.subTest(destination=destination):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                    sock.settimeout(3)
                    sock.connect((destination, port))  # drops datagrams from other addresses
                    sock.send(b'1')
                    self.assertEqual(sock.recv(100), st.WELCOME)
        result = dt.run([dt.binary('doorman-client'), '--type', 'dgram', '--connect',
                         f'127.0.0.2:{port}', '--delay', '0', '--reply-timeout', '3s'], timeout=10)
        self.assertEqual((result[0], result[1]), (0, 'welcome to server!\n'))

    def test_a_datagram_longer_than_the_read_size_is_rejected(self):
        server = self.start('--read-size', '4', '--password', '1234')
        for address in server.addresses:
            with self.subTest(address=address.text):
                self.assertEqual(st.exchange(address, b'1234', 'dgram'), st.WELCOME)
                # Its first 4 bytes are the password, but the datagram is longer.
                self.assertEqual(st.exchange(address, b'12345', 'dgram'), st.GO_OUT)
                self.assertEqual(st.exchange(address, b'1234' * 1000, 'dgram'), st.GO_OUT)
                self.assertEqual(st.exchange(address, b'123', 'dgram'), st.GO_OUT)

    def test_a_datagram_cut_by_the_kernel_is_not_the_password(self):
        # The buffer holds exactly --read-size bytes here (20, more than a reply): a longer
        # datagram arrives cut to the password itself, and only MSG_TRUNC tells.
        password = b'12345678901234567890'
        server = self.start('--read-size', '20', '--password', password.decode())
        for address in server.addresses:
            with self.subTest(address=address.text):
                self.assertEqual(st.exchange(address, password, 'dgram'), st.WELCOME)
                self.assertEqual(st.exchange(address, password + b'x', 'dgram'), st.GO_OUT)

    def test_default_read_size_with_a_large_datagram(self):
        server = self.start()
        for address in server.addresses:
            with self.subTest(address=address.text):
                # Unix datagrams this large need a larger send buffer than the default.
                self.assertEqual(st.exchange(address, b'1' + b'x' * 4095, 'dgram'), st.GO_OUT)
                self.assertEqual(st.exchange(address, b'1' * 1025, 'dgram'), st.GO_OUT)

    def test_many_senders_at_once_each_get_their_own_reply(self):
        server = self.start()
        senders, sockets = [], []
        self.addCleanup(st.close_all, sockets)
        for address in server.addresses:
            for index in range(50):
                sock = st.datagram_socket(address)
                sockets.append(sock)
                senders.append((sock, address, index))
        for sock, address, index in senders:
            sock.sendto(b'1' if index % 2 else b'no', address.sockaddr)
        for sock, address, index in senders:
            with self.subTest(address=address.text, index=index):
                self.assertEqual(sock.recv(100), st.WELCOME if index % 2 else st.GO_OUT)
        status, counters = server.stop()
        self.assertEqual(status, 0)
        self.assertEqual(counters['accepted'], len(senders))
        self.assertEqual(counters['welcomed'], len(senders) // 2)
        self.assertEqual(counters['timed_out'], 0)

    def test_a_sender_that_is_gone_does_not_stop_the_server(self):
        server = self.start()
        for address in server.addresses:
            with self.subTest(address=address.text):
                # The reply goes to a socket that closed meanwhile (UDP: an ICMP port
                # unreachable comes back; Unix: the name is gone).
                for _ in range(20):
                    with st.datagram_socket(address) as gone:
                        gone.sendto(b'1', address.sockaddr)
                self.assertEqual(st.exchange(address, b'1', 'dgram'), st.WELCOME)
        self.assertEqual(server.stop()[0], 0)


if __name__ == '__main__':
    unittest.main()
