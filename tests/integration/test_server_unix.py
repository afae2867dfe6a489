"""doorman-server on Unix sockets (B4): a stale socket file is replaced, a live
server's path is refused, the file gets --unix-mode, it is removed on exit (only if still ours),
a non-socket file is never touched, and abstract names leave no file.
"""

import os
import signal
import socket
import stat
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402
import server_testing as st  # noqa: E402

TYPES = ('stream', 'dgram')
SOCKET_TYPE = {'stream': socket.SOCK_STREAM, 'dgram': socket.SOCK_DGRAM}


def abstract_names_in_use():
    with open('/proc/net/unix') as table:
        return {row.split()[-1] for row in list(table)[1:] if len(row.split()) >= 8}


class UnixSockets(unittest.TestCase):
    def setUp(self):
        self.dir = dt.temp_dir(self)
        self.path = os.path.join(self.dir, 'doorman.sock')

    def start(self, *args, type='stream', path=None):
        return st.start_server(self, '--type', type, *args,
                               listen=('unix:' + (path or self.path),), threads=2)

    def assertServes(self, server, type='stream'):
        self.assertEqual(st.exchange(server.address, b'1', type), st.WELCOME)
        self.assertEqual(st.exchange(server.address, b'x', type), st.GO_OUT)

    def assertRefusedToStart(self, result, *fragments):
        status, stdout, stderr = result
        self.assertFalse(st.died_of_signal(status), stderr)
        self.assertNotEqual(status, 0, stderr)
        lines = stderr.splitlines()
        self.assertEqual(len(lines), 1, stderr)
        for fragment in fragments:
            self.assertIn(fragment, lines[0])
        self.assertEqual(stdout, '')

    def stale_socket_file(self, type):
        """A socket file whose socket is gone: bound, then closed without unlinking."""
        with socket.socket(socket.AF_UNIX, SOCKET_TYPE[type]) as dead:
            dead.bind(self.path)
            if type == 'stream':
                dead.listen(1)
        self.assertTrue(stat.S_ISSOCK(os.lstat(self.path).st_mode))

    def test_a_stale_socket_file_is_replaced(self):
        for type in TYPES:
            with self.subTest(type=type):
                self.stale_socket_file(type)
                server = self.start(type=type)
                self.assertServes(server, type)  # through the path: the new socket owns it
                self.assertTrue(stat.S_ISSOCK(os.lstat(self.path).st_mode))
                self.assertEqual(server.stop()[0], 0)
                self.assertFalse(os.path.lexists(self.path))

    def test_a_live_server_on_the_path_is_not_displaced(self):
        for type in TYPES:
            with self.subTest(type=type):
                first = self.start(type=type)
                inode = os.lstat(self.path).st_ino
                self.assertRefusedToStart(
                    st.run_server('--type', type, '--listen', f'unix:{self.path}'),
                    self.path, 'EADDRINUSE')
                # The first server keeps its file and its clients.
                self.assertEqual(os.lstat(self.path).st_ino, inode)
                self.assertServes(first, type)
                self.assertEqual(first.stop()[0], 0)
                self.assertFalse(os.path.lexists(self.path))

    def test_a_live_socket_of_another_program_is_not_displaced(self):
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(listener.close)
        listener.bind(self.path)
        listener.listen(8)
        self.assertRefusedToStart(st.run_server('--listen', f'unix:{self.path}'), self.path)
        self.assertTrue(stat.S_ISSOCK(os.lstat(self.path).st_mode))
        listener.settimeout(5)
        listener.accept()[0].close()  # it still owns the path: a connection reaches it

    def test_the_file_mode_is_applied(self):
        for type in TYPES:
            for args, mode in (((), 0o660), (('--unix-mode', '0600'), 0o600),
                               (('--unix-mode', '0666'), 0o666), (('--unix-mode', '0'), 0)):
                with self.subTest(type=type, args=args):
                    server = self.start(*args, type=type)
                    self.assertEqual(stat.S_IMODE(os.lstat(self.path).st_mode), mode)
                    if mode & 0o200:  # root ignores the mode; others need write permission
                        self.assertServes(server, type)
                    self.assertEqual(server.stop()[0], 0)
                    self.assertFalse(os.path.lexists(self.path))

    def test_the_file_is_removed_on_sigterm_and_sigint(self):
        for type in TYPES:
            for signum in (signal.SIGTERM, signal.SIGINT):
                with self.subTest(type=type, signal=signum.name):
                    server = self.start(type=type)
                    self.assertTrue(os.path.lexists(self.path))
                    os.kill(server.pid, signum)
                    self.assertEqual(server.process.wait(timeout=10), 0)
                    self.assertFalse(os.path.lexists(self.path))
                    self.assertIsNotNone(st.stopped_counters(server.process))

    def test_a_file_that_is_no_longer_ours_is_left_on_exit(self):
        # Someone replaced the server's socket file while it ran: at exit the server removes
        # only the file it created, not the new one.
        server = self.start()
        os.unlink(self.path)
        newcomer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(newcomer.close)
        newcomer.bind(self.path)
        inode = os.lstat(self.path).st_ino
        self.assertEqual(server.stop()[0], 0)
        self.assertEqual(os.lstat(self.path).st_ino, inode)

    def test_a_regular_file_at_the_path_is_refused_and_left_untouched(self):
        content = b'not a socket\n'
        with open(self.path, 'wb') as regular:
            regular.write(content)
        os.chmod(self.path, 0o640)
        before = os.lstat(self.path)
        for type in TYPES:
            with self.subTest(type=type):
                self.assertRefusedToStart(
                    st.run_server('--type', type, '--listen', f'unix:{self.path}'),
                    self.path, 'not a socket')
                after = os.lstat(self.path)
                self.assertEqual((after.st_ino, after.st_mode, after.st_size, after.st_mtime_ns),
                                 (before.st_ino, before.st_mode, before.st_size, before.st_mtime_ns))
                with open(self.path, 'rb') as regular:
                    self.assertEqual(regular.read(), content)

    def test_a_live_server_of_the_other_type_is_not_displaced(self):
        for first_type, second_type in (('stream', 'dgram'), ('dgram', 'stream')):
            with self.subTest(first=first_type, second=second_type):
                first = self.start(type=first_type)
                self.assertRefusedToStart(
                    st.run_server('--type', second_type, '--listen', f'unix:{self.path}'),
                    self.path)
                self.assertServes(first, first_type)
                self.assertEqual(first.stop()[0], 0)

    def test_a_directory_at_the_path_is_refused(self):
        os.mkdir(self.path)
        self.assertRefusedToStart(st.run_server('--listen', f'unix:{self.path}'), self.path)
        self.assertTrue(os.path.isdir(self.path))

    def test_an_abstract_name_leaves_no_file(self):
        for type in TYPES:
            with self.subTest(type=type):
                name = dt.unique_abstract_name()
                workdir = dt.temp_dir(self)
                server = st.start_server(self, '--type', type, listen=(f'unix:@{name}',),
                                         threads=2, cwd=workdir)
                self.assertEqual(server.address.text, f'unix:@{name}')
                self.assertServes(server, type)
                self.assertIn('@' + name, abstract_names_in_use())
                self.assertEqual(os.listdir(workdir), [])
                self.assertEqual(server.stop()[0], 0)
                self.assertEqual(os.listdir(workdir), [])
                self.assertNotIn('@' + name, abstract_names_in_use())

    def test_a_silent_unix_client_times_out_with_its_name(self):
        server = self.start('--timeout', '0.3s')
        name = dt.unique_abstract_name('silent')
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.bind('\0' + name)
            sock.settimeout(5)
            sock.connect(self.path)
            self.assertEqual(st.closed_by_peer(sock, timeout=5), 'eof')
        server.process.wait_for_line(rf'\bwarning time out: unix:@{name} ', timeout=5)

    def test_a_clients_socket_name_cannot_forge_log_lines(self):
        # A local client bound to an abstract name (or a path) containing a newline and
        # terminal escapes must not be able to write a line of its choosing into the log.
        server = self.start('--timeout', '0.3s')
        forged = '2026-01-01T00:00:00.000Z info forged line'
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.bind(f'\0evil-{os.getpid()}\n{forged}\x1b[31m'.encode())
            sock.settimeout(5)
            sock.connect(self.path)
            self.assertEqual(st.closed_by_peer(sock, timeout=5), 'eof')
        server.process.wait_for_line(r'\bwarning time out: unix:@evil', timeout=5)
        self.assertEqual(server.stop()[0], 0)
        lines = st.transcript(server.stderr_lines())
        self.assertFalse([line for line in lines if line.startswith(forged)], lines)
        self.assertFalse([line for line in lines if '\x1b' in line], lines)
        self.assertEqual(len(lines), 5, lines)  # listening, time out, stopping, draining, stopped

    def test_unix_datagram_from_an_unbound_sender_is_dropped_and_the_server_lives_on(self):
        server = self.start(type='dgram')
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as unbound:
            for _ in range(5):
                unbound.sendto(b'1', self.path)  # no address to answer to
        self.assertServes(server, 'dgram')
        self.assertEqual(server.stop()[0], 0)


if __name__ == '__main__':
    unittest.main()
