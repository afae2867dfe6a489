"""doorman-server under socket activation (B11, B12): the sockets a service manager passes are
served instead of --listen, whatever their family, with their own type; a Unix socket file
passed is never removed; a mix of types or a --type that disagrees is refused; one named
doorman-metrics is the --metrics endpoint (closed with a warning without --metrics); a restart
loses no queued client; and the service manager hears READY=1 and STOPPING=1 (Type=notify).

systemd-socket-activate is the real activator (TCP, Unix stream, UDP); tests/support's
socket_activator.py stands in for it where a test needs port 0, mixed types or sockets that
outlive the server.
"""

import os
import re
import shutil
import socket
import stat
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402
import metrics_testing as mt  # noqa: E402
import server_testing as st  # noqa: E402

SYSTEMD_ACTIVATE = shutil.which('systemd-socket-activate')
ACTIVATOR_RE = r'activator listening on (?P<address>\S+)$'


def activated_server_argv(*args):
    args = [str(arg) for arg in args]
    return [dt.binary('doorman-server'), '--threads', '2', *st.engine_args(args), *args]


@unittest.skipUnless(SYSTEMD_ACTIVATE, 'systemd-socket-activate is not installed (make deps)')
class WithSystemdSocketActivate(unittest.TestCase):
    """systemd-socket-activate binds, waits for the first client, then execs the server with the
    socket: that first client waits in the queue and is the first one served."""

    def activate(self, address=None, datagram=False):
        """(process, Address) of a server started by systemd-socket-activate on `address`, or
        on a free loopback port (another one if that port was taken in between)."""
        for _attempt in range(5):
            if address is None:
                type = socket.SOCK_DGRAM if datagram else socket.SOCK_STREAM
                where = '127.0.0.1:%d' % dt.free_port(type=type)
            else:
                where = address
            argv = [SYSTEMD_ACTIVATE, *(['--datagram'] if datagram else []), '-l', where,
                    *activated_server_argv()]
            process = dt.start(self, argv)
            try:
                process.wait_for_line(r'Listening on .* as 3\.', timeout=10)
            except AssertionError:
                if address is None and 'in use' in process.output()[1]:
                    continue
                raise
            return process, st.Address(where if address is None else 'unix:' + where)
        self.fail('no free port for systemd-socket-activate after 5 attempts')

    def assertServedThenStops(self, process, address, type):
        # The first request starts the server; the later ones prove it keeps serving.
        self.assertEqual(st.exchange(address, b'1', type, timeout=10), st.WELCOME)
        line = process.wait_for_line(st.LISTENING_RE, timeout=10)
        self.assertEqual(line['address'], address.text)
        self.assertEqual(st.exchange(address, b'2', type), st.GO_OUT)
        self.assertEqual(st.exchange(address, b'1', type), st.WELCOME)
        self.assertEqual(process.stop(), 0, process.output()[1])

    def test_tcp(self):
        process, address = self.activate()
        self.assertServedThenStops(process, address, 'stream')

    def test_udp(self):
        process, address = self.activate(datagram=True)
        self.assertServedThenStops(process, address, 'dgram')

    def test_unix_stream_socket_file_is_left_to_its_owner(self):
        path = dt.free_unix_path(self)
        process, address = self.activate(address=path)
        self.assertServedThenStops(process, address, 'stream')
        # systemd created the file and removes it: the server must not.
        self.assertTrue(stat.S_ISSOCK(os.lstat(path).st_mode), 'the socket file was removed')


class WithPassedSockets(unittest.TestCase):
    def start(self, specs, *args, pass_fds=(), env=None):
        argv = [*dt.support_script('socket_activator.py'), *specs, '--',
                *activated_server_argv(*args)]
        return dt.start(self, argv, pass_fds=pass_fds, env=env)

    def test_every_passed_socket_is_served_with_its_own_type(self):
        path = dt.free_unix_path(self)
        process = self.start(['dgram:127.0.0.1:0', 'dgram:unix:' + path], '--listen',
                             '127.0.0.1:1')
        bound = [process.wait_for_line(ACTIVATOR_RE)['address'] for _ in range(2)]
        served = [process.wait_for_line(st.LISTENING_RE)['address'] for _ in range(2)]
        self.assertEqual(sorted(served), sorted(bound))
        for text in served:
            self.assertEqual(st.exchange(st.Address(text), b'1', 'dgram'), st.WELCOME)
        self.assertTrue(any('--listen ignored' in line for line in process.lines('stderr')))
        self.assertEqual(process.stop(), 0)
        self.assertTrue(os.path.exists(path), 'a passed Unix socket file was removed')

    def test_a_socket_named_doorman_metrics_serves_metrics(self):
        process = self.start(['stream:127.0.0.1:0', 'named:doorman-metrics:stream:127.0.0.1:0'],
                             '--metrics', '127.0.0.1:0')
        bound = [process.wait_for_line(ACTIVATOR_RE)['address'] for _ in range(2)]
        self.assertEqual(process.wait_for_line(st.LISTENING_RE)['address'], bound[0])
        self.assertEqual(process.wait_for_line(mt.METRICS_RE)['address'], bound[1])
        self.assertEqual(st.exchange(st.Address(bound[0]), b'1'), st.WELCOME)
        parsed = mt.families(mt.get(st.Address(bound[1]), '/metrics').text)
        self.assertEqual(mt.sample(parsed, 'doorman_connections', 'doorman_connections_total',
                                   outcome='welcomed'), 1)
        self.assertEqual(process.stop(), 0)

    def test_without_metrics_the_socket_named_for_it_is_closed(self):
        process = self.start(['stream:127.0.0.1:0', 'named:doorman-metrics:stream:127.0.0.1:0'])
        bound = [process.wait_for_line(ACTIVATOR_RE)['address'] for _ in range(2)]
        process.wait_for_line(r'\bwarning not serving ' + re.escape(bound[1]) +
                              r', passed as doorman-metrics: --metrics is not given$')
        self.assertEqual(process.wait_for_line(st.LISTENING_RE)['address'], bound[0])
        self.assertEqual(st.exchange(st.Address(bound[0]), b'1'), st.WELCOME)
        with self.assertRaises(ConnectionRefusedError):
            st.connect(st.Address(bound[1]), timeout=2).close()
        self.assertEqual(process.stop(), 0)

    def test_a_datagram_socket_named_doorman_metrics_is_refused(self):
        process = self.start(['stream:127.0.0.1:0', 'named:doorman-metrics:dgram:127.0.0.1:0'],
                             '--metrics', '127.0.0.1:0')
        self.assertEqual(process.wait(timeout=10), st.EX_UNAVAILABLE)
        self.assertRegex(process.output()[1], r'serve 127\.0\.0\.1:\d+ as doorman-metrics: '
                                              r'a datagram socket, not a listening stream one')

    def test_stream_and_datagram_sockets_together_are_refused(self):
        process = self.start(['stream:127.0.0.1:0', 'dgram:127.0.0.1:0'])
        self.assertEqual(process.wait(10), st.EX_UNAVAILABLE)
        errors = [line for line in process.lines('stderr') if 'activator' not in line]
        self.assertEqual(len(errors), 1, errors)
        self.assertIn('serves one type at a time', errors[0])

    def test_a_type_given_that_disagrees_with_the_sockets_is_refused(self):
        process = self.start(['stream:127.0.0.1:0'], '--type', 'dgram')
        self.assertEqual(process.wait(10), st.EX_USAGE)
        self.assertIn('--type', process.output()[1])

    def test_the_type_given_may_agree(self):
        process = self.start(['stream:127.0.0.1:0'], '--type', 'stream')
        address = st.Address(process.wait_for_line(st.LISTENING_RE)['address'])
        self.assertEqual(st.exchange(address, b'1'), st.WELCOME)

    def test_a_restart_loses_no_queued_client(self):
        # The socket outlives the server, as systemd's does: a client that connects while no
        # server runs waits in its queue and is served by the next one.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
            listener.bind(('127.0.0.1', 0))
            listener.listen(16)
            address = st.Address('127.0.0.1:%d' % listener.getsockname()[1])
            spec = ['fd:%d' % listener.fileno()]
            first = self.start(spec, pass_fds=(listener.fileno(),))
            first.wait_for_line(st.LISTENING_RE)
            self.assertEqual(st.exchange(address, b'1'), st.WELCOME)
            self.assertEqual(first.stop(), 0)
            with st.connect(address, timeout=10) as waiting:
                waiting.sendall(b'1')
                second = self.start(spec, pass_fds=(listener.fileno(),))
                second.wait_for_line(st.LISTENING_RE)
                self.assertEqual(st.recv_until_eof(waiting), st.WELCOME)
            self.assertEqual(second.stop(), 0)


class ServiceNotification(unittest.TestCase):
    """Type=notify: READY=1 once listening, STOPPING=1 on SIGTERM, each with a STATUS=."""

    def test_ready_then_stopping(self):
        path = dt.free_unix_path(self, 'notify.sock')
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notifications:
            notifications.bind(path)
            notifications.settimeout(10)
            server = st.start_server(self, env=dict(os.environ, NOTIFY_SOCKET=path))
            ready = notifications.recv(4096).decode().split('\n')
            self.assertIn('READY=1', ready)
            self.assertTrue(any(line.startswith('STATUS=') for line in ready), ready)
            self.assertEqual(st.exchange(server.address, b'1'), st.WELCOME)
            status, _ = server.stop()
            self.assertEqual(status, 0)
            self.assertIn('STOPPING=1', notifications.recv(4096).decode().split('\n'))

    def test_without_a_notify_socket_nothing_changes(self):
        env = {key: value for key, value in os.environ.items() if key != 'NOTIFY_SOCKET'}
        server = st.start_server(self, env=env)
        self.assertEqual(st.exchange(server.address, b'1'), st.WELCOME)


if __name__ == '__main__':
    unittest.main()
