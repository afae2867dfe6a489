"""doorman-client against real servers: the Python 3 port of the tutorial's server.py, `nc -l`,
`socat`, and listeners written here with Python's socket module, over TCP (IPv4, IPv6), UDP and
Unix sockets (path and abstract, stream and datagram); then its failures, each with its own exit
status and one line on stderr (S1, S8-S12, B2, B3).

Everything talks to loopback or Unix sockets, on ports the kernel picks, and is bounded in time.
"""

import os
import select
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402

# Exit statuses (sysexits.h), as documented by the client.
EX_OK = 0
EX_USAGE = 64
EX_NOHOST = 68
EX_UNAVAILABLE = 69
EX_TEMPFAIL = 75
EX_PROTOCOL = 76

# The tutorial's server timeout (5 s) scaled down, and the client delays on either side of it.
SERVER_TIMEOUT = 0.5
DELAY_WITHIN = '0.05'
DELAY_BEYOND = '1.0'

# How long a helper listener waits for the client before giving up: far above any delay used
# here, so it only ends a test that is already failing.
LISTENER_TIMEOUT = 5


def client(*args, timeout=10):
    """Runs doorman-client to completion: (returncode, stdout, stderr)."""
    return dt.run([dt.binary('doorman-client'), *args], timeout=timeout)


class ClientAssertions:
    """Checks shared by every test class."""

    def assertReply(self, result, reply):
        """The client succeeded and printed exactly the reply and a newline."""
        returncode, stdout, stderr = result
        self.assertEqual((returncode, stdout, stderr), (EX_OK, reply + '\n', ''))

    def assertFailure(self, result, status, *fragments):
        """The client failed with `status`, printed nothing on stdout and exactly one line on
        stderr containing every fragment. Returns that line."""
        returncode, stdout, stderr = result
        self.assertEqual(returncode, status, f'stderr: {stderr!r}')
        self.assertEqual(stdout, '')
        self.assertTrue(stderr.endswith('\n'), f'stderr is not one whole line: {stderr!r}')
        self.assertEqual(len(stderr.splitlines()), 1, f'stderr is not one line: {stderr!r}')
        for fragment in fragments:
            self.assertIn(fragment, stderr)
        return stderr

    def assertTimedOutAfter(self, elapsed, timeout):
        """A run that ended at its `timeout`, timed from the client's start: the margins hold
        a process start and scheduling noise; a timeout 1.5 times too long falls outside."""
        self.assertGreaterEqual(elapsed, timeout - 0.05, 'gave up before its timeout')
        self.assertLessEqual(elapsed, timeout + 0.3, 'gave up long after its timeout')


# --- listeners written with Python's socket module -------------------------------------------


class Listener:
    """A socket served by a thread, on behalf of one test. The thread waits in short slices so
    that the test's cleanup can stop it at once, even when the client never came."""

    def __init__(self, test, family, type, address):
        self.error = None
        self._stop = threading.Event()
        self.sock = socket.socket(family, type)
        test.addCleanup(self.sock.close)
        self.sock.bind(address)
        self.sock.setblocking(False)
        if type == socket.SOCK_STREAM:
            self.sock.listen(1)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        test.addCleanup(self.stop)

    @property
    def port(self):
        return self.sock.getsockname()[1]

    def _run(self):
        try:
            self.serve()
        except (OSError, TimeoutError) as error:
            self.error = error

    def wait_readable(self, sock):
        """Returns once `sock` is readable; raises TimeoutError when stopped or after
        LISTENER_TIMEOUT (the client never came, or never closed)."""
        deadline = time.monotonic() + LISTENER_TIMEOUT
        while not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            readable, _, _ = select.select([sock], [], [], min(0.05, remaining))
            if readable:
                return
        raise TimeoutError('the listener gave up waiting')

    def join(self):
        """Waits for the thread to finish its exchange; returns what it received."""
        self.thread.join(LISTENER_TIMEOUT + 1)
        if self.thread.is_alive():
            raise AssertionError('the listener is still waiting for the client')
        if self.error is not None:
            raise AssertionError(f'the listener failed: {self.error!r}')
        return self.received

    def stop(self):
        self._stop.set()
        self.thread.join(LISTENER_TIMEOUT + 1)


class StreamListener(Listener):
    """Accepts one connection and records every byte the client sends.

    behaviour:
      'reply'  answers the first read with `reply`, then keeps reading until the client closes,
               so `received` holds exactly what the client sent, in full;
      'silent' never answers (reads until the client gives up and closes);
      'close'  reads the request and closes without a reply.
    """

    def __init__(self, test, family, address, reply=b'', behaviour='reply'):
        self.reply = reply
        self.behaviour = behaviour
        self.received = b''
        super().__init__(test, family, socket.SOCK_STREAM, address)

    def serve(self):
        self.wait_readable(self.sock)
        connection, _ = self.sock.accept()
        with connection:
            connection.setblocking(False)
            self.wait_readable(connection)
            first = connection.recv(65536)
            self.received += first
            if self.behaviour == 'close':
                return
            if self.behaviour == 'reply' and first:
                connection.setblocking(True)
                connection.settimeout(LISTENER_TIMEOUT)
                connection.sendall(self.reply)
                connection.setblocking(False)
            try:
                while first:
                    self.wait_readable(connection)
                    first = connection.recv(65536)
                    self.received += first
            except ConnectionResetError:
                # A client that closes with part of the reply unread (a --read-size below the
                # reply's size) makes its kernel send a reset: that is its close.
                pass


class DatagramListener(Listener):
    """Receives one datagram, records it and its sender, and answers the sender with `reply`
    (None: never answers)."""

    def __init__(self, test, family, address, reply=None):
        self.reply = reply
        self.received = None
        self.sender = None
        super().__init__(test, family, socket.SOCK_DGRAM, address)

    def serve(self):
        self.wait_readable(self.sock)
        self.received, self.sender = self.sock.recvfrom(65536)
        if self.reply is not None:
            self.sock.sendto(self.reply, self.sender)


# --- the tutorial's server ---------------------------------------------------------------------


class TutorialServerTest(ClientAssertions, unittest.TestCase):
    """doorman-client against the Python 3 port of the tutorial's server.py (S10, S12),
    its 5 s timeout scaled down to SERVER_TIMEOUT."""

    def setUp(self):
        self.server = dt.start(self, dt.support_script('tutorial_server.py') + [0, SERVER_TIMEOUT])
        self.port = dt.listening_port(self.server.wait_for_line(dt.LISTENING_RE))
        self.address = f'127.0.0.1:{self.port}'

    def test_password_is_welcomed(self):
        self.assertReply(client('--connect', self.address, '--delay', DELAY_WITHIN,
                                '--message', '1'), 'welcome to server!')

    def test_default_message_is_the_password(self):
        self.assertReply(client('--connect', self.address, '--delay', DELAY_WITHIN),
                         'welcome to server!')

    def test_any_other_message_is_sent_away(self):
        # The server serves one client after another: each subtest is a new connection.
        for message in ('2', '11', '1 ', 'welcome', 'x' * 100):
            with self.subTest(message=message):
                self.assertReply(client('--connect', self.address, '--delay', DELAY_WITHIN,
                                        '--message', message), 'please go out!')

    def test_localhost_reaches_the_server(self):
        # The tutorial's own host name, resolved through getaddrinfo.
        self.assertReply(client('--connect', f'localhost:{self.port}', '--delay', DELAY_WITHIN),
                         'welcome to server!')

    def test_delay_beyond_server_timeout_is_closed_without_reply(self):
        started = time.monotonic()
        result = client('--connect', self.address, '--delay', DELAY_BEYOND)
        self.assertGreaterEqual(time.monotonic() - started, float(DELAY_BEYOND))
        self.assertFailure(result, EX_PROTOCOL, self.address,
                           'closed the connection without a reply')
        # The tutorial's third outcome, on the server's side.
        self.server.wait_for_line(r'^time out$', stream='stdout')


# --- nc and socat as listeners -----------------------------------------------------------------


class NetcatTest(ClientAssertions, unittest.TestCase):
    """`nc -l` (netcat-openbsd) as the server: it sends its stdin and prints what it receives.

    nc serves a single client, so readiness must not be probed with a connection. With -v it
    prints `Listening on HOST PORT` after listen() (netcat.c: local_listen), and port 0 makes
    the kernel pick the port: no free-port race, no probe.
    """

    def start_nc(self, argv, reply):
        return dt.start(self, ['nc', '-n', '-v', '-l', *argv], stdin=reply)

    def test_tcp_listener(self):
        nc = self.start_nc(['127.0.0.1', '0'], reply=b'nc says hi')
        port = dt.listening_port(nc.wait_for_line(r'Listening on 127\.0\.0\.1 (?P<port>\d+)$'))
        self.assertReply(client('--connect', f'127.0.0.1:{port}', '--delay', '0',
                                '--message', 'hello, nc'), 'nc says hi')
        # nc exits once the client has closed; its stdout is every byte the client sent.
        self.assertEqual(nc.wait(), 0)
        self.assertEqual(nc.output_bytes('stdout'), b'hello, nc')

    def test_unix_listener(self):
        path = dt.free_unix_path(self)
        nc = dt.start(self, ['nc', '-v', '-U', '-l', path], stdin=b'nc over unix')
        nc.wait_for_line(r'^Listening on ' + path + '$')
        self.assertReply(client('--connect', f'unix:{path}', '--delay', '0',
                                '--message', 'h\u00e9llo'), 'nc over unix')
        self.assertEqual(nc.wait(), 0)
        self.assertEqual(nc.output_bytes('stdout'), 'h\u00e9llo'.encode())


class SocatTest(ClientAssertions, unittest.TestCase):
    """socat as the server: a shell reads the request, answers, then records whatever else the
    client sends until it closes, so the file holds exactly the client's bytes.

    With -d -d socat logs `listening on AF=...` just before accept(), after listen().
    """

    def serve(self, listen_address, message, reply):
        work = dt.temp_dir(self)
        received = os.path.join(work, 'received')
        with open(os.path.join(work, 'reply'), 'wb') as reply_file:
            reply_file.write(reply)
        # head -c reads at most the bytes it still needs, so the rest stays for the second cat.
        shell = (f'head -c {len(message.encode())} >{received}; cat {work}/reply; '
                 f'cat >>{received}')
        socat = dt.start(self, ['socat', '-d', '-d', listen_address, f'SYSTEM:{shell}'])
        return socat, received

    def read(self, path):
        with open(path, 'rb') as received:
            return received.read()

    def test_tcp_listener(self):
        socat, received = self.serve('TCP-LISTEN:0,bind=127.0.0.1,reuseaddr', 'from client',
                                     b'from socat')
        port = dt.listening_port(socat.wait_for_line(r'listening on AF=2 127\.0\.0\.1:(\d+)$'))
        self.assertReply(client('--connect', f'127.0.0.1:{port}', '--delay', '0',
                                '--message', 'from client'), 'from socat')
        self.assertEqual(socat.wait(), 0)
        self.assertEqual(self.read(received), b'from client')

    @unittest.skipUnless(dt.HAVE_IPV6, 'no IPv6 loopback')
    def test_tcp6_listener(self):
        socat, received = self.serve('TCP6-LISTEN:0,bind=[::1],reuseaddr', '1', b'v6 reply')
        port = dt.listening_port(socat.wait_for_line(r'listening on AF=10 \[[0-9a-f:]+\]:(\d+)$'))
        self.assertReply(client('--connect', f'[::1]:{port}', '--delay', '0'), 'v6 reply')
        self.assertEqual(socat.wait(), 0)
        self.assertEqual(self.read(received), b'1')

    def test_unix_listener(self):
        path = dt.free_unix_path(self)
        socat, received = self.serve(f'UNIX-LISTEN:{path}', 'over unix', b'unix reply')
        socat.wait_for_line(r'listening on AF=1 "' + path + '"$')
        self.assertReply(client('--connect', f'unix:{path}', '--delay', '0',
                                '--message', 'over unix'), 'unix reply')
        self.assertEqual(socat.wait(), 0)
        self.assertEqual(self.read(received), b'over unix')


# --- every address family and socket type, against Python listeners --------------------------


class StreamAddressTest(ClientAssertions, unittest.TestCase):
    """SOCK_STREAM over every address form of B2; the listener checks the exact bytes."""

    def exchange(self, family, bind_address, connect_text, message='hello', reply=b'hi there'):
        listener = StreamListener(self, family, bind_address, reply=reply)
        connect = connect_text.replace('{port}', str(listener.port))
        self.assertReply(client('--connect', connect, '--delay', '0', '--message', message),
                         reply.decode())
        self.assertEqual(listener.join(), message.encode())

    def test_ipv4(self):
        self.exchange(socket.AF_INET, ('127.0.0.1', 0), '127.0.0.1:{port}')

    @unittest.skipUnless(dt.HAVE_IPV6, 'no IPv6 loopback')
    def test_ipv6(self):
        self.exchange(socket.AF_INET6, ('::1', 0), '[::1]:{port}')

    def test_unix_path(self):
        path = dt.free_unix_path(self)
        self.exchange(socket.AF_UNIX, path, f'unix:{path}')

    def test_unix_abstract(self):
        # Python binds the name with its exact length; a client that padded sun_path with NULs
        # would name another socket and be refused.
        name = dt.unique_abstract_name()
        self.exchange(socket.AF_UNIX, '\0' + name, f'unix:@{name}')

    def test_unix_path_of_the_longest_length(self):
        directory = dt.temp_dir(self)
        path = os.path.join(directory, 'p' * (dt.UNIX_PATH_MAX - len(directory) - 1))
        self.assertEqual(len(path), dt.UNIX_PATH_MAX)
        self.exchange(socket.AF_UNIX, path, f'unix:{path}')

    def test_unix_abstract_name_of_the_longest_length(self):
        prefix = dt.unique_abstract_name()
        name = prefix + 'n' * (dt.UNIX_PATH_MAX - len(prefix))
        self.exchange(socket.AF_UNIX, '\0' + name, f'unix:@{name}')

    def test_message_bytes_are_sent_as_given(self):
        # Spaces, quotes, a newline inside, non-ASCII: no quoting, no newline added.
        self.exchange(socket.AF_INET, ('127.0.0.1', 0), '127.0.0.1:{port}',
                      message='a b "c"\nd\u00e9\u4f60')

    def test_reply_is_the_first_read_of_at_most_read_size(self):
        listener = StreamListener(self, socket.AF_INET, ('127.0.0.1', 0),
                                  reply=b'welcome to server!')
        self.assertReply(client('--connect', f'127.0.0.1:{listener.port}', '--delay', '0',
                                '--read-size', '7'), 'welcome')
        self.assertEqual(listener.join(), b'1')

    def test_server_that_never_replies_is_a_reply_timeout(self):
        listener = StreamListener(self, socket.AF_INET, ('127.0.0.1', 0), behaviour='silent')
        started = time.monotonic()
        result = client('--connect', f'127.0.0.1:{listener.port}', '--delay', '0',
                        '--reply-timeout', '1s')
        elapsed = time.monotonic() - started
        self.assertFailure(result, EX_TEMPFAIL, f'127.0.0.1:{listener.port}', 'no reply')
        self.assertTimedOutAfter(elapsed, 1.0)
        self.assertEqual(listener.join(), b'1')  # the request did arrive

    def test_server_that_closes_without_reply(self):
        listener = StreamListener(self, socket.AF_INET, ('127.0.0.1', 0), behaviour='close')
        result = client('--connect', f'127.0.0.1:{listener.port}', '--delay', '0')
        self.assertFailure(result, EX_PROTOCOL, f'127.0.0.1:{listener.port}',
                           'closed the connection without a reply')
        self.assertEqual(listener.join(), b'1')


class DatagramAddressTest(ClientAssertions, unittest.TestCase):
    """--type dgram (B3): one datagram out, the reply datagram back to the sender."""

    def exchange(self, family, bind_address, connect_text, message='hello', reply=b'dgram reply',
                 reply_timeout='5s'):
        listener = DatagramListener(self, family, bind_address, reply=reply)
        connect = connect_text.replace('{port}', str(listener.port))
        self.assertReply(client('--type', 'dgram', '--connect', connect, '--delay', '0',
                                '--message', message, '--reply-timeout', reply_timeout),
                         reply.decode())
        self.assertEqual(listener.join(), message.encode())
        return listener

    def test_udp_ipv4(self):
        self.exchange(socket.AF_INET, ('127.0.0.1', 0), '127.0.0.1:{port}')

    @unittest.skipUnless(dt.HAVE_IPV6, 'no IPv6 loopback')
    def test_udp_ipv6(self):
        self.exchange(socket.AF_INET6, ('::1', 0), '[::1]:{port}')

    def test_unix_datagram_path(self):
        path = dt.free_unix_path(self)
        listener = self.exchange(socket.AF_UNIX, path, f'unix:{path}')
        # The client autobinds to an abstract name so the server can answer (B3).
        self.assertIsInstance(listener.sender, bytes)
        self.assertTrue(listener.sender.startswith(b'\0'), listener.sender)

    def test_unix_datagram_abstract(self):
        name = dt.unique_abstract_name()
        self.exchange(socket.AF_UNIX, '\0' + name, f'unix:@{name}')

    def test_the_reply_datagram_is_printed_whole(self):
        self.exchange(socket.AF_INET, ('127.0.0.1', 0), '127.0.0.1:{port}', message='1',
                      reply=b'welcome to server!')

    def test_empty_message_is_an_empty_datagram(self):
        # A zero-length datagram is a request like any other (the server would answer
        # `please go out!`); the client must send it rather than wait for a reply to nothing.
        self.exchange(socket.AF_INET, ('127.0.0.1', 0), '127.0.0.1:{port}', message='',
                      reply_timeout='1s')

    def test_server_that_never_replies_is_a_reply_timeout(self):
        listener = DatagramListener(self, socket.AF_INET, ('127.0.0.1', 0), reply=None)
        started = time.monotonic()
        result = client('--type', 'dgram', '--connect', f'127.0.0.1:{listener.port}',
                        '--delay', '0', '--reply-timeout', '1s')
        elapsed = time.monotonic() - started
        self.assertFailure(result, EX_TEMPFAIL, f'127.0.0.1:{listener.port}', 'no reply',
                           '1s')
        self.assertTimedOutAfter(elapsed, 1.0)
        self.assertEqual(listener.join(), b'1')

    def test_udp_port_without_server_is_refused(self):
        # Nobody owns the port: the kernel answers ICMP port unreachable, which the connected
        # UDP socket reports as ECONNREFUSED on the recv. The client calls that a failed
        # connect (69) at once, rather than waiting out --reply-timeout (75).
        port = dt.free_port(socket.AF_INET, socket.SOCK_DGRAM)
        started = time.monotonic()
        result = client('--type', 'dgram', '--connect', f'127.0.0.1:{port}', '--delay', '0',
                        '--reply-timeout', '5s')
        self.assertFailure(result, EX_UNAVAILABLE, f'127.0.0.1:{port}', 'Connection refused')
        self.assertLess(time.monotonic() - started, 4)

    def test_unix_datagram_path_without_server(self):
        path = dt.free_unix_path(self)
        self.assertFailure(client('--type', 'dgram', '--connect', f'unix:{path}', '--delay', '0'),
                           EX_UNAVAILABLE, f'cannot connect to unix:{path}', 'ENOENT')


# --- failures: each its own exit status and one line on stderr ---------------------------------


class ConnectFailureTest(ClientAssertions, unittest.TestCase):

    def test_refused_tcp(self):
        port = dt.free_port()
        line = self.assertFailure(client('--connect', f'127.0.0.1:{port}', '--delay', '0'),
                                  EX_UNAVAILABLE)
        self.assertEqual(line, f'doorman-client: cannot connect to 127.0.0.1:{port}: '
                               'Connection refused (ECONNREFUSED)\n')

    @unittest.skipUnless(dt.HAVE_IPV6, 'no IPv6 loopback')
    def test_refused_ipv6(self):
        port = dt.free_port(socket.AF_INET6)
        self.assertFailure(client('--connect', f'[::1]:{port}', '--delay', '0'), EX_UNAVAILABLE,
                           f'cannot connect to [::1]:{port}', 'Connection refused')

    def test_missing_unix_path(self):
        path = dt.free_unix_path(self)
        self.assertFailure(client('--connect', f'unix:{path}', '--delay', '0'), EX_UNAVAILABLE,
                           f'cannot connect to unix:{path}', 'No such file or directory')

    def test_unowned_abstract_name(self):
        name = dt.unique_abstract_name()
        self.assertFailure(client('--connect', f'unix:@{name}', '--delay', '0'), EX_UNAVAILABLE,
                           f'cannot connect to unix:@{name}', 'Connection refused')

    def test_connect_timeout_when_the_accept_queue_is_full(self):
        # A listener that never accepts, its queue filled: Linux drops further SYNs, so a
        # connect neither succeeds nor fails until --connect-timeout ends it.
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(('127.0.0.1', 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        self.fill_accept_queue(socket.AF_INET, ('127.0.0.1', port))
        started = time.monotonic()
        result = client('--connect', f'127.0.0.1:{port}', '--delay', '0',
                        '--connect-timeout', '1s')
        elapsed = time.monotonic() - started
        self.assertFailure(result, EX_UNAVAILABLE, f'cannot connect to 127.0.0.1:{port}',
                           'ETIMEDOUT')
        self.assertTimedOutAfter(elapsed, 1.0)

    def test_unix_listener_with_full_queue_cannot_be_connected(self):
        # A Unix listener whose queue stays full: the connect waits up to --connect-timeout for
        # room (as a blocking connect does), then fails naming the address (69).
        path = dt.free_unix_path(self)
        listener = socket.socket(socket.AF_UNIX)
        self.addCleanup(listener.close)
        listener.bind(path)
        listener.listen(0)
        self.fill_accept_queue(socket.AF_UNIX, path)
        self.assertFailure(client('--connect', f'unix:{path}', '--delay', '0',
                                  '--connect-timeout', '300ms', '--reply-timeout', '300ms'),
                           EX_UNAVAILABLE, f'cannot connect to unix:{path}')

    def fill_accept_queue(self, family, address):
        """Connects to a listener that never accepts until the kernel stops taking connections;
        the held connections are closed after the test."""
        for _ in range(16):
            filler = socket.socket(family, socket.SOCK_STREAM)
            self.addCleanup(filler.close)
            filler.setblocking(False)
            try:
                filler.connect(address)
            except BlockingIOError:
                if family == socket.AF_UNIX:
                    return  # EAGAIN: the Unix queue is full
                # TCP: in progress; it completes only if the queue still had room.
                _, writable, _ = select.select([], [filler], [], 0.2)
                if not writable:
                    return
        self.fail('the accept queue never filled up')


class OptionTest(ClientAssertions, unittest.TestCase):
    """Bad options: exit 64 and one line on stderr naming the option, before any network."""

    def test_bad_values_are_usage_errors(self):
        too_long_path = '/tmp/' + 'a' * (dt.UNIX_PATH_MAX + 1 - len('/tmp/'))
        cases = [
            (['--delay', 'abc'], '--delay'),
            (['--delay', '-1'], '--delay'),
            (['--delay', '5x'], '--delay'),
            (['--connect-timeout', 'soon'], '--connect-timeout'),
            (['--reply-timeout', '-2s'], '--reply-timeout'),
            (['--type', 'raw'], '--type'),
            (['--read-size', '0'], '--read-size'),
            (['--read-size', 'many'], '--read-size'),
            (['--connect', 'localhost'], '--connect'),
            (['--connect', 'localhost:0'], '--connect'),
            (['--connect', 'localhost:99999'], '--connect'),
            (['--connect', 'localhost:http'], '--connect'),
            (['--connect', ':8001'], '--connect'),
            (['--connect', '[::1'], '--connect'),
            (['--connect', '[::1]'], '--connect'),
            (['--connect', 'unix:'], '--connect'),
            (['--connect', 'unix:@'], '--connect'),
            (['--connect', 'unix:' + too_long_path], '--connect'),
            (['--connect', 'unix:@' + 'a' * (dt.UNIX_PATH_MAX + 1)], '--connect'),
            (['--no-such-option'], '--no-such-option'),
            (['--message'], '--message'),
        ]
        self.assertEqual(len(too_long_path), dt.UNIX_PATH_MAX + 1)
        for args, option in cases:
            with self.subTest(args=args):
                # --delay 0 keeps a case that wrongly parses from waiting 2 s; it goes first so
                # that an option missing its value stays the last argument.
                prefix = [] if '--delay' in args else ['--delay', '0']
                self.assertFailure(client(*prefix, *args), EX_USAGE, option)

    def test_unresolvable_host(self):
        # .invalid never resolves (RFC 6761); the resolver may still ask the configured DNS.
        self.assertFailure(client('--connect', 'no-such-host.invalid:8001', '--delay', '0',
                                  timeout=30),
                           EX_NOHOST, 'no-such-host.invalid:8001')

    def test_help(self):
        returncode, stdout, stderr = client('--help')
        self.assertEqual(returncode, 0, stderr)
        for option in ('--connect', '--type', '--delay', '--message', '--connect-timeout',
                       '--reply-timeout', '--version'):
            self.assertIn(option, stdout)

    def test_version(self):
        returncode, stdout, stderr = client('--version')
        self.assertEqual(returncode, 0, stderr)
        self.assertRegex(stdout, r'^doorman-client \d+\.\d+\.\d+\n$')


if __name__ == '__main__':
    unittest.main()
