"""doorman-server against clients no one here wrote: the Python 3 port of the tutorial's
client.py, `nc`, `socat` and Python's socket module, over the 3 families (IPv4, IPv6, Unix by
path and abstract name) and the 2 types (stream, dgram). Replies are the tutorial's exact bytes,
no newline (S1, S6, S12, B2, B3).
"""

import concurrent.futures
import os
import shutil
import socket
import subprocess
import sys
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402
import server_testing as st  # noqa: E402

# Requests and the replies the tutorial's rule gives them: byte for byte, so a trailing
# newline (what `echo 1 | nc` would send) is not the password.
CASES = [
    (b'1', st.WELCOME),
    (b'2', st.GO_OUT),
    (b'1\n', st.GO_OUT),
    (b'11', st.GO_OUT),
    (b' 1', st.GO_OUT),
    (b'hello, server', st.GO_OUT),
    (b'\x00', st.GO_OUT),
    (b'\xff\xfe' * 50, st.GO_OUT),
]

HAVE_NC = shutil.which('nc') is not None
HAVE_SOCAT = shutil.which('socat') is not None


def family_name(address):
    if address.family == socket.AF_INET:
        return 'IPv4'
    if address.family == socket.AF_INET6:
        return 'IPv6'
    return 'Unix abstract' if address.sockaddr.startswith('\0') else 'Unix path'


def nc_argv(address, type):
    """netcat-openbsd for this address and type, or None where it cannot (abstract names)."""
    options = ['-N', '-w', '5'] if type == 'stream' else ['-u', '-w', '1']
    if address.family == socket.AF_UNIX:
        if address.sockaddr.startswith('\0'):
            return None
        return ['nc', '-U', *options, address.sockaddr]
    return ['nc', *options, address.host, str(address.port)]


def socat_argv(address, type, scratch):
    """socat for this address and type. A datagram client binds a name of its own, where the
    reply goes. -t: how long to wait for the server after stdin ends (a datagram has no end,
    so it always waits that long)."""
    name = address.sockaddr
    if type == 'stream':
        target = {
            socket.AF_INET: f'TCP4:{address.host}:{address.port}',
            socket.AF_INET6: f'TCP6:[{address.host}]:{address.port}',
        }.get(address.family)
        if target is None:
            target = (f'ABSTRACT-CONNECT:{name[1:]}' if name.startswith('\0')
                      else f'UNIX-CONNECT:{name}')
        return ['socat', '-t', '5', '-', target]
    target = {
        socket.AF_INET: f'UDP4:{address.host}:{address.port}',
        socket.AF_INET6: f'UDP6:[{address.host}]:{address.port}',
    }.get(address.family)
    if target is None:
        if name.startswith('\0'):
            target = f'ABSTRACT-SENDTO:{name[1:]},bind={dt.unique_abstract_name("socat")}'
        else:
            target = f'UNIX-SENDTO:{name},bind={os.path.join(scratch, uuid.uuid4().hex[:8])}'
    return ['socat', '-t', '1', '-', target]


def listen_addresses(test):
    addresses = ['127.0.0.1:0']
    if st.HAVE_IPV6:
        addresses.append('[::1]:0')
    addresses.append('unix:' + dt.free_unix_path(test))
    addresses.append('unix:@' + dt.unique_abstract_name())
    return addresses


class ClientsOfOneType:
    """The same checks for both types; a subclass sets TYPE. One server per class, serving
    every family at once with 2 workers (TCP: a socket each; Unix: one shared)."""

    TYPE = None

    @classmethod
    def setUpClass(cls):
        scope = st.ClassScope(cls)
        cls.scratch = dt.temp_dir(scope)
        cls.server = st.start_server(scope, '--type', cls.TYPE, '--timeout', '5s',
                                     listen=listen_addresses(scope), threads=2)

    def run_clients(self, jobs):
        """Runs external clients at once (a datagram client waits out its -t/-w):
        {label: (returncode, stdout bytes, stderr)} for each (label, argv, input)."""
        def run(argv, data):
            completed = subprocess.run(argv, input=data, capture_output=True, timeout=15)
            return completed.returncode, completed.stdout, completed.stderr.decode(errors='replace')

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            futures = {label: pool.submit(run, argv, data) for label, argv, data in jobs}
            return {label: future.result() for label, future in futures.items()}

    def test_python_socket_module_gets_the_exact_reply(self):
        for address in self.server.addresses:
            for request, reply in CASES:
                with self.subTest(family=family_name(address), request=request[:8]):
                    self.assertEqual(st.exchange(address, request, self.TYPE), reply)

    @unittest.skipUnless(HAVE_NC, 'nc is not installed')
    def test_nc(self):
        jobs = []
        for address in self.server.addresses:
            argv = nc_argv(address, self.TYPE)
            if argv is None:
                continue
            for request, reply in ((b'1', st.WELCOME), (b'nc', st.GO_OUT)):
                jobs.append(((family_name(address), request, reply), argv, request))
        self.assertGreaterEqual(len(jobs), 4)
        for (family, request, reply), (status, stdout, stderr) in self.run_clients(jobs).items():
            with self.subTest(family=family, request=request):
                self.assertEqual(stdout, reply, stderr)
                if self.TYPE == 'stream':
                    self.assertEqual(status, 0, stderr)

    @unittest.skipUnless(HAVE_SOCAT, 'socat is not installed')
    def test_socat(self):
        jobs = []
        for address in self.server.addresses:
            for request, reply in ((b'1', st.WELCOME), (b'socat', st.GO_OUT)):
                argv = socat_argv(address, self.TYPE, self.scratch)  # its own bound name
                jobs.append(((family_name(address), request, reply), argv, request))
        for (family, request, reply), (status, stdout, stderr) in self.run_clients(jobs).items():
            with self.subTest(family=family, request=request):
                self.assertEqual((status, stdout), (0, reply), stderr)

    def test_doorman_client(self):
        jobs = []
        for address in self.server.addresses:
            for message, reply in (('1', 'welcome to server!\n'), ('2', 'please go out!\n')):
                argv = [dt.binary('doorman-client'), '--connect', address.text, '--type', self.TYPE,
                        '--delay', '0', '--message', message, '--reply-timeout', '5s']
                jobs.append(((family_name(address), message, reply), argv, None))
        for (family, message, reply), (status, stdout, stderr) in self.run_clients(jobs).items():
            with self.subTest(family=family, message=message):
                self.assertEqual((status, stdout.decode()), (0, reply), stderr)

    def test_no_request_bytes_in_the_log(self):
        # B10: at info level, never the request's bytes (and no line per success).
        marker = b'secret-marker-' + os.urandom(4).hex().encode()
        for address in self.server.addresses:
            self.assertEqual(st.exchange(address, marker, self.TYPE), st.GO_OUT)
        lines = self.server.stderr_lines()
        self.assertFalse([line for line in lines if marker.decode() in line])
        self.assertFalse([line for line in lines if 'welcome' in line or 'please go' in line])


class StreamClients(ClientsOfOneType, unittest.TestCase):
    TYPE = 'stream'

    def test_the_tutorials_client_py(self):
        # It connects to ('localhost', PORT) over AF_INET, as the tutorial's does.
        port = self.server.addresses[0].port
        for message, reply in (('1', 'welcome to server!\n'), ('tutorial', 'please go out!\n')):
            with self.subTest(message=message):
                self.assertEqual(dt.run(dt.support_script('tutorial_client.py') +
                                        [str(port), '0', message], timeout=10), (0, reply, ''))

    def test_reply_then_end_of_stream_not_reset(self):
        # The server closes after the reply with a FIN: the client reads the reply, then EOF.
        for address in self.server.addresses:
            with self.subTest(family=family_name(address)):
                with st.connect(address) as sock:
                    sock.sendall(b'1')
                    self.assertEqual(st.recv_until_eof(sock), st.WELCOME)
                    self.assertEqual(sock.recv(10), b'')

    def test_a_request_sent_in_pieces_is_judged_on_the_first_read(self):
        # The tutorial's server judges its first recv: `1` arriving alone is welcomed even if
        # more would have followed; here the client waits for the reply before anything else.
        with st.connect(self.server.address) as sock:
            sock.sendall(b'1')
            self.assertEqual(sock.recv(100), st.WELCOME)


class DatagramClients(ClientsOfOneType, unittest.TestCase):
    TYPE = 'dgram'

    def test_reply_comes_from_the_servers_address(self):
        for address in self.server.addresses:
            with self.subTest(family=family_name(address)):
                reply, sender = st.datagram_exchange(address, b'1')
                self.assertEqual(reply, st.WELCOME)
                if address.family == socket.AF_UNIX:
                    if isinstance(sender, bytes):
                        sender = sender.decode()
                    self.assertEqual(sender, address.sockaddr)
                else:
                    self.assertEqual(sender[:2], address.sockaddr)

    def test_one_socket_many_datagrams_each_answered(self):
        # Datagram mode keeps no state per client: one socket sends many requests and gets one
        # reply per request. In windows of 5: a Unix datagram socket queues at most
        # net.unix.max_dgram_qlen (10) datagrams, and the server never blocks on a full
        # client, it drops that reply.
        for address in self.server.addresses:
            with self.subTest(family=family_name(address)):
                with st.datagram_socket(address) as sock:
                    welcomed = rejected = 0
                    for window in range(40):
                        for index in range(5):
                            sock.sendto(b'1' if (window + index) % 2 else b'x', address.sockaddr)
                        for _ in range(5):
                            reply = sock.recv(100)
                            welcomed += reply == st.WELCOME
                            rejected += reply == st.GO_OUT
                    self.assertEqual((welcomed, rejected), (100, 100))


class ListeningForms(unittest.TestCase):
    """B2 on the listening side: all-interfaces forms (traffic still only over loopback)."""

    def test_all_interfaces_ipv4(self):
        server = st.start_server(self, listen=('*:0',))
        self.assertEqual(server.address.host, '0.0.0.0')
        loopback = st.Address(f'127.0.0.1:{server.address.port}')
        self.assertEqual(st.exchange(loopback, b'1'), st.WELCOME)

    @unittest.skipUnless(st.HAVE_IPV6, 'no IPv6 loopback')
    def test_all_interfaces_ipv6_only(self):
        server = st.start_server(self, listen=('[::]:0',))
        self.assertEqual(server.address.host, '::')
        loopback = st.Address(f'[::1]:{server.address.port}')
        self.assertEqual(st.exchange(loopback, b'1'), st.WELCOME)

    def test_defer_accept_still_serves_a_client_that_speaks(self):
        server = st.start_server(self, '--defer-accept', '--timeout', '2s')
        self.assertEqual(st.exchange(server.address, b'1'), st.WELCOME)
        self.assertEqual(st.exchange(server.address, b'2'), st.GO_OUT)

    def test_repeated_listen_serves_every_address(self):
        server = st.start_server(self, listen=('127.0.0.1:0', '127.0.0.1:0'))
        ports = {address.port for address in server.addresses}
        self.assertEqual(len(ports), 2)
        for address in server.addresses:
            self.assertEqual(st.exchange(address, b'1'), st.WELCOME)


if __name__ == '__main__':
    unittest.main()
