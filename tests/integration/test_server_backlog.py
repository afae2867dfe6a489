"""The listen queue (S3): by default the system's maximum (net.core.somaxconn), so an ordinary
burst of connects is never dropped by the kernel; `--backlog 5` is the tutorial's queue.
"""

import os
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402
import server_testing as st  # noqa: E402


def somaxconn():
    with open('/proc/sys/net/core/somaxconn') as file:
        return int(file.read())


def start_without_backlog_option(test, *args):
    """The server as a user starts it: no --backlog (server_argv would add one)."""
    argv = [dt.binary('doorman-server'), '--listen', '127.0.0.1:0', '--threads', '1',
            *st.engine_args(args), *args]
    process = dt.start(test, argv)
    address = st.Address(process.wait_for_line(st.LISTENING_RE, timeout=10)['address'])
    return process, address


def listen_queue_length(port):
    """What `ss` reports as a listening socket's Send-Q: the backlog it was given (after the
    kernel's cap)."""
    output = subprocess.run(['ss', '-ltnH', f'sport = :{port}'], capture_output=True,
                            text=True, timeout=10, check=True).stdout.split()
    # State Recv-Q Send-Q Local Peer
    return int(output[2])


class DefaultBacklog(unittest.TestCase):
    def test_default_is_the_system_maximum(self):
        _, address = start_without_backlog_option(self)
        self.assertEqual(listen_queue_length(address.port), somaxconn())

    def test_the_tutorials_backlog_is_an_option(self):
        server = st.start_server(self, '--backlog', '5')
        self.assertEqual(listen_queue_length(server.address.port), 5)


class Burst(unittest.TestCase):
    CONNECTS = 2000
    SLOWEST_ALLOWED = 0.2  # a dropped SYN is sent again after 1 s

    def test_a_burst_of_connects_from_one_thread_is_never_dropped(self):
        # A silent client keeps its connection: the queue is tested, not the serving.
        _, address = start_without_backlog_option(self, '--timeout', '30s')
        sockets = []
        self.addCleanup(st.close_all, sockets)
        slowest = 0.0
        began = time.monotonic()
        for _ in range(self.CONNECTS):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.settimeout(5)
            started = time.monotonic()
            sock.connect(address.sockaddr)
            slowest = max(slowest, time.monotonic() - started)
        total = time.monotonic() - began
        print(f'{self.CONNECTS} connects in {total:.2f} s, slowest {slowest * 1000:.1f} ms',
              file=sys.stderr)
        self.assertLess(slowest, self.SLOWEST_ALLOWED)
        # And every one of them is served: the first gets its reply.
        sockets[0].sendall(b'1')
        self.assertEqual(st.recv_until_eof(sockets[0]), st.WELCOME)


if __name__ == '__main__':
    unittest.main()
