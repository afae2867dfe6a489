"""doorman-server on SIGHUP (B5): reads --config and the password file again and applies the
password, the timeout and the other live settings to new connections, each change one line,
without refusing a client; a reload that fails changes nothing. SIGUSR1 logs the counters and
the server goes on serving.
"""

import os
import signal
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402
import server_testing as st  # noqa: E402

RELOADED_RE = r'\binfo reloaded$'


def write(path, text, mode=0o600):
    with open(path, 'w', encoding='utf-8') as file:
        file.write(text)
    os.chmod(path, mode)


class Reload(unittest.TestCase):
    def setUp(self):
        self.config = os.path.join(dt.temp_dir(self), 'doorman.toml')

    def start(self, text, *args, threads=1, env=None):
        write(self.config, text)
        return st.start_server(self, '--config', self.config, *args, threads=threads, env=env)

    def reload(self, server, text=None):
        if text is not None:
            write(self.config, text)
        os.kill(server.pid, signal.SIGHUP)

    def test_a_new_password_from_the_file_with_no_client_refused(self):
        server = self.start('password = "old"\n', threads=2)
        replies, failures, done = [], [], threading.Event()

        def clients():
            while not done.is_set():
                try:
                    replies.append(st.stream_exchange(server.address, b'old'))
                except OSError as error:
                    failures.append(error)

        loop = threading.Thread(target=clients)
        loop.start()
        try:
            while len(replies) < 20:
                time.sleep(0.01)
            self.reload(server, 'password = "new"\n')
            server.process.wait_for_line(r'\binfo reload: password changed$')
            server.process.wait_for_line(RELOADED_RE)
            settled = len(replies)
            while len(replies) < settled + 20:
                time.sleep(0.01)
        finally:
            done.set()
            loop.join(timeout=30)
        self.assertEqual(failures, [])
        self.assertEqual(set(replies), {st.WELCOME, st.GO_OUT})
        self.assertEqual(replies[0], st.WELCOME)
        self.assertEqual(replies[-20:], [st.GO_OUT] * 20)
        self.assertEqual(st.exchange(server.address, b'new'), st.WELCOME)
        self.assertFalse([line for line in server.stderr_lines() if 'new' in line.split()])

    def test_a_new_password_from_the_password_file(self):
        password_file = os.path.join(dt.temp_dir(self), 'password')
        write(password_file, 'first\n')
        server = self.start('threads = 1\n', '--password-file', password_file)
        self.assertEqual(st.exchange(server.address, b'first'), st.WELCOME)
        write(password_file, 'second\n')
        self.reload(server)
        server.process.wait_for_line(r'\binfo reload: password changed$')
        server.process.wait_for_line(RELOADED_RE)
        self.assertEqual(st.exchange(server.address, b'second'), st.WELCOME)
        self.assertEqual(st.exchange(server.address, b'first'), st.GO_OUT)

    def test_the_environment_password_is_kept(self):
        env = {key: value for key, value in os.environ.items() if key != 'DOORMAN_PASSWORD'}
        env['DOORMAN_PASSWORD'] = 'from-env'
        server = self.start('log-level = "info"\n', env=env)
        self.reload(server, 'log-level = "warning"\n')
        server.process.wait_for_line(r'\binfo reload: log-level info -> warning$')
        self.assertEqual(st.exchange(server.address, b'from-env'), st.WELCOME)
        self.assertEqual(st.exchange(server.address, b'1'), st.GO_OUT)

    def test_datagram_mode_takes_the_new_password_and_read_size(self):
        server = self.start('type = "dgram"\npassword = "old"\n')
        self.assertEqual(st.datagram_exchange(server.address, b'old')[0], st.WELCOME)
        self.reload(server, 'type = "dgram"\npassword = "a-longer-password"\nread-size = 4096\n')
        server.process.wait_for_line(r'\binfo reload: read-size 1024 -> 4096$')
        server.process.wait_for_line(RELOADED_RE)
        self.assertEqual(st.datagram_exchange(server.address, b'a-longer-password')[0], st.WELCOME)
        self.assertEqual(st.datagram_exchange(server.address, b'old')[0], st.GO_OUT)
        self.assertEqual(st.datagram_exchange(server.address, b'x' * 2000)[0], st.GO_OUT)

    def test_the_datagram_reply_cap_is_kept_until_a_restart(self):
        # One table for all workers, made at the start: a reload keeps it, and says so.
        def answered(source):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.bind((source, 0))
                for _ in range(20):
                    sock.sendto(b'2', server.address.sockaddr)
                sock.settimeout(0.5)
                count = 0
                try:
                    while True:
                        sock.recv(100)
                        count += 1
                except socket.timeout:
                    return count

        server = self.start('type = "dgram"\ndgram-rate = 5\npassword = "old"\n', threads=2)
        self.assertLessEqual(answered('127.0.0.2'), 5 + 3)  # the burst, and the rate meanwhile
        self.reload(server, 'type = "dgram"\ndgram-rate = 1000\npassword = "new"\n')
        server.process.wait_for_line(
            r'\bwarning reload: dgram-rate changed: it needs a restart, kept as it was$')
        server.process.wait_for_line(RELOADED_RE)
        self.assertEqual(st.datagram_exchange(server.address, b'new')[0], st.WELCOME)
        self.assertLessEqual(answered('127.0.0.4'), 5 + 3)

    def test_a_broken_file_changes_nothing(self):
        server = self.start('password = "kept"\ntimeout = "5s"\n')
        self.reload(server, 'password = "lost"\ntimeout = "1s"\nno-such-option = 1\n')
        line = server.process.wait_for_line(r'\berror reload failed, nothing changed: ')
        self.assertTrue(line.string.endswith(f'{self.config}:3: no-such-option: unknown option'))
        self.reload(server, 'password = "lost"\nbacklog = \n')
        server.process.wait_for_line(r'\berror reload failed, nothing changed: ')
        os.remove(self.config)
        self.reload(server)
        server.process.wait_for_line(r'\berror reload failed, nothing changed: --config: open ')
        self.assertEqual(st.exchange(server.address, b'kept'), st.WELCOME)
        self.assertEqual(st.exchange(server.address, b'lost'), st.GO_OUT)
        errors = [line for line in server.stderr_lines() if ' error ' in line]
        self.assertEqual(len(errors), 3, errors)
        self.assertFalse([line for line in server.stderr_lines() if 'reload: ' in line])

    def test_an_unreadable_password_file_changes_nothing(self):
        password_file = os.path.join(dt.temp_dir(self), 'password')
        write(password_file, 'first\n')
        server = self.start('threads = 1\n', '--password-file', password_file)
        os.remove(password_file)
        self.reload(server)
        server.process.wait_for_line(r'\berror reload failed, nothing changed: --password-file: ')
        self.assertEqual(st.exchange(server.address, b'first'), st.WELCOME)

    def test_a_new_timeout_applies_to_new_connections_only(self):
        server = self.start('timeout = "3s"\n')
        with st.connect(server.address) as before:
            # The server has it once it answers another client after it (one worker, in order).
            self.assertEqual(st.exchange(server.address, b'1'), st.WELCOME)
            self.reload(server, 'timeout = "300ms"\n')
            server.process.wait_for_line(r'\binfo reload: timeout 3s -> 300ms$')
            server.process.wait_for_line(RELOADED_RE)
            with st.connect(server.address) as after:
                first = server.process.wait_for_line(r'\bwarning time out: ', timeout=5)
                self.assertTrue(first.string.endswith('sent nothing within 300ms'), first.string)
                self.assertEqual(st.closed_by_peer(after, 5), 'eof')
                second = server.process.wait_for_line(r'\bwarning time out: ', timeout=10)
                self.assertTrue(second.string.endswith('sent nothing within 3s'), second.string)
                self.assertEqual(st.closed_by_peer(before, 5), 'eof')

    def test_what_needs_a_restart_is_kept_and_said(self):
        server = self.start('unix-mode = "0660"\n')
        self.reload(server, 'unix-mode = "0600"\nread-size = 8\nproxy-protocol = true\n')
        server.process.wait_for_line(r'\binfo reload: read-size 1024 -> 8$')
        server.process.wait_for_line(
            r'\bwarning reload: unix-mode changed: it needs a restart, kept as it was$')
        server.process.wait_for_line(
            r'\bwarning reload: proxy-protocol changed: it needs a restart, kept as it was$')
        server.process.wait_for_line(RELOADED_RE)
        self.assertEqual(st.exchange(server.address, b'1'), st.WELCOME)


class Counters(unittest.TestCase):
    def test_sigusr1_logs_the_counters_and_the_server_goes_on(self):
        server = st.start_server(self)
        self.assertEqual(st.exchange(server.address, b'1'), st.WELCOME)
        self.assertEqual(st.exchange(server.address, b'2'), st.GO_OUT)
        # The client has its reply when the server may still hold the connection (lingering
        # until the client's close arrives): ask again until it is closed, counters unchanged.
        finished = ('counters: 2 accepted, 1 welcomed, 1 rejected, 0 timed out, 0 refused, '
                    '0 errors, ')
        deadline = time.monotonic() + 5
        while True:
            os.kill(server.pid, signal.SIGUSR1)
            line = server.process.wait_for_line(r'\binfo counters: ').string
            self.assertIn(finished, line)
            if line.endswith(finished + '0 open'):
                break
            self.assertTrue(line.endswith(finished + '1 open'), line)
            self.assertLess(time.monotonic(), deadline, 'the connection stays open: ' + line)
            time.sleep(0.05)
        self.assertEqual(st.exchange(server.address, b'1'), st.WELCOME)
        self.assertTrue(server.process.running())


if __name__ == '__main__':
    unittest.main()
