"""doorman-server's start-up: every bad option and every address it cannot bind is exactly one
line on stderr and a non-zero exit, never a crash and never a silent fallback (S2, S3). Also
what it prints once it serves: one `listening on` line per address, with the port the kernel
chose.
"""

import os
import re
import shutil
import socket
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402
import server_testing as st  # noqa: E402

# sysexits: unavailable (could not resolve / bind), OS error, no permission.
START_UP_FAILURES = (st.EX_UNAVAILABLE, st.EX_OSERR, st.EX_NOPERM)


def unprivileged_port_start():
    try:
        with open('/proc/sys/net/ipv4/ip_unprivileged_port_start') as value:
            return int(value.read())
    except (OSError, ValueError):
        return 1024


class OneLineFailure:
    def assertOneLineFailure(self, result, statuses, *fragments):
        """The run failed with one of `statuses`, by exit (not a signal), and said so in
        exactly one line on stderr naming every fragment; nothing on stdout."""
        status, stdout, stderr = result
        self.assertFalse(st.died_of_signal(status),
                         f'killed by {st.signal_name(status) if status else ""}: {stderr}')
        self.assertIn(status, statuses, stderr)
        lines = stderr.splitlines()
        self.assertEqual(len(lines), 1, f'expected one line on stderr, got: {stderr!r}')
        self.assertTrue(stderr.endswith('\n'), repr(stderr))
        self.assertTrue(lines[0].startswith('doorman-server: '), lines[0])
        self.assertNotIn('listening on', stderr)
        for fragment in fragments:
            self.assertIn(fragment, lines[0])
        self.assertEqual(stdout, '')
        return lines[0]


class UsageErrors(OneLineFailure, unittest.TestCase):
    """A bad value: one line naming the option and what is allowed, exit 64."""

    CASES = [
        # (arguments, fragments the line must contain)
        (['--backlog', '0'], ['--backlog', 'backlog must be at least 1']),
        (['--backlog', '-1'], ['--backlog', 'at least 1']),
        (['--backlog', 'five'], ['--backlog']),
        (['--read-size', '0'], ['--read-size', 'at least 1']),
        (['--read-size', '65537'], ['--read-size', '65536']),
        (['--read-size', 'big'], ['--read-size']),
        (['--timeout', 'abc'], ['--timeout']),
        (['--timeout', '-1'], ['--timeout', 'negative']),
        (['--timeout', '0'], ['--timeout']),
        (['--timeout', '5x'], ['--timeout']),
        (['--timeout', ''], ['--timeout']),
        (['--linger-timeout', 'abc'], ['--linger-timeout']),
        (['--listen', 'localhost'], ['--listen', 'port']),
        (['--listen', '127.0.0.1:'], ['--listen', 'port']),
        (['--listen', '127.0.0.1:65536'], ['--listen', '65536']),
        (['--listen', '[::1'], ['--listen', ']']),
        (['--listen', ''], ['--listen']),
        (['--listen', 'unix:'], ['--listen']),
        (['--listen', 'unix:@'], ['--listen']),
        (['--listen', 'unix:/' + 'a' * 120], ['--listen', '107']),
        (['--type', 'raw'], ['--type', 'stream', 'dgram']),
        (['--unix-mode', '999'], ['--unix-mode', 'octal']),
        (['--unix-mode', '01777'], ['--unix-mode']),
        (['--unix-mode', 'rw'], ['--unix-mode']),
        (['--threads', '0'], ['--threads']),
        (['--threads', '-2'], ['--threads']),
        (['--max-connections', '0'], ['--max-connections']),
        (['--password', ''], ['--password']),
        (['--log-level', 'loud'], ['--log-level']),
        (['--log-format', 'xml'], ['--log-format', 'text', 'json']),
        (['--engine', 'kqueue'], ['--engine', 'epoll', 'io_uring']),
        (['--no-such-option'], ['--no-such-option']),
        (['--backlog'], ['--backlog']),
    ]

    def test_each_bad_value_is_one_line_and_exit_64(self):
        for args, fragments in self.CASES:
            with self.subTest(args=args):
                # A valid --listen after the bad one: only the bad value can be blamed. (Given
                # first, a bad --listen would still be the one reported.)
                result = st.run_server(*args, '--listen', '127.0.0.1:0', '--threads', '1')
                self.assertOneLineFailure(result, (st.EX_USAGE,), *fragments)

    def test_non_finite_durations_are_not_called_negative(self):
        # nan is not a number and inf is too long; neither is "negative".
        for value in ('nan', 'inf'):
            with self.subTest(value=value):
                line = self.assertOneLineFailure(st.run_server('--timeout', value, '--listen',
                                                               '127.0.0.1:0'),
                                                 (st.EX_USAGE,), '--timeout')
                self.assertNotIn('negative', line)

    def test_help_and_version(self):
        status, stdout, stderr = st.run_server('--help')
        self.assertEqual((status, stderr), (0, ''))
        for option in ('--listen', '--type', '--backlog', '--timeout', '--read-size', '--password',
                       '--threads', '--max-connections', '--unix-mode', '--linger-timeout',
                       '--defer-accept', '--log-level', '--log-format', '--version'):
            self.assertIn(option, stdout)
        status, stdout, stderr = st.run_server('--version')
        self.assertEqual((status, stderr), (0, ''))
        self.assertEqual(len(stdout.splitlines()), 1, stdout)
        self.assertRegex(stdout, r'\d+\.\d+')


class AddressErrors(OneLineFailure, unittest.TestCase):
    """Addresses that cannot be served: one line naming the address and the reason."""

    def hold(self, family=socket.AF_INET, type=socket.SOCK_STREAM, listen=True):
        holder = socket.socket(family, type)
        self.addCleanup(holder.close)
        holder.bind(('::1' if family == socket.AF_INET6 else '127.0.0.1', 0))
        if listen and type == socket.SOCK_STREAM:
            holder.listen(1)
        return holder.getsockname()[1]

    def test_port_in_use(self):
        port = self.hold()
        self.assertOneLineFailure(st.run_server('--listen', f'127.0.0.1:{port}'),
                                  START_UP_FAILURES, f'127.0.0.1:{port}', 'EADDRINUSE', ' — ')

    def test_port_bound_but_not_listening(self):
        port = self.hold(listen=False)
        self.assertOneLineFailure(st.run_server('--listen', f'127.0.0.1:{port}'),
                                  START_UP_FAILURES, f'127.0.0.1:{port}', 'EADDRINUSE')

    @unittest.skipUnless(st.HAVE_IPV6, 'no IPv6 loopback')
    def test_ipv6_port_in_use(self):
        port = self.hold(socket.AF_INET6)
        self.assertOneLineFailure(st.run_server('--listen', f'[::1]:{port}'),
                                  START_UP_FAILURES, f'[::1]:{port}', 'EADDRINUSE')

    def test_udp_port_in_use(self):
        port = self.hold(type=socket.SOCK_DGRAM)
        self.assertOneLineFailure(st.run_server('--type', 'dgram', '--listen', f'127.0.0.1:{port}'),
                                  START_UP_FAILURES, f'127.0.0.1:{port}', 'EADDRINUSE')

    def test_a_second_doorman_server_on_the_same_port_is_refused(self):
        # Every TCP listener sets SO_REUSEPORT (one per worker); a second doorman-server of the
        # same user must still get S2's one-line "port in use", not silently share the port.
        first = st.start_server(self)
        port = first.address.port
        second = dt.start(self, st.server_argv(listen=(f'127.0.0.1:{port}',)))
        # Either it serves (wrong) or it says why not and exits: whichever line comes first.
        line = second.wait_for_line(r'listening on|^doorman-server: ', timeout=10).string
        self.assertNotIn('listening on', line, f'a second server started on 127.0.0.1:{port}')
        status = second.wait(timeout=10)
        self.assertOneLineFailure((status, *second.output()), START_UP_FAILURES,
                                  f'127.0.0.1:{port}', 'EADDRINUSE')

    def test_unresolvable_host(self):
        self.assertOneLineFailure(st.run_server('--listen', 'no-such-host.invalid:8001',
                                                timeout=60),
                                  START_UP_FAILURES, 'no-such-host.invalid:8001')

    def test_reserved_port_as_an_unprivileged_user(self):
        if unprivileged_port_start() <= 81:
            self.skipTest('net.ipv4.ip_unprivileged_port_start lets anyone bind port 81')
        wrapper = ()
        if os.geteuid() == 0:
            if shutil.which('setpriv') is None:
                self.skipTest('running as root without setpriv')
            # Another uid, no groups; leaving root also drops every capability.
            wrapper = ('setpriv', '--reuid=65534', '--regid=65534', '--clear-groups')
            status, _, stderr = st.run_server('--version', wrapper=wrapper)
            if status != 0:
                self.skipTest(f'uid 65534 cannot run the server here: {stderr.strip()}')
        cases = [('127.0.0.1:81', '127.0.0.1:81')]
        if st.HAVE_IPV6:
            cases.append(('[::1]:81', '[::1]:81'))
        for listen, named in cases:
            with self.subTest(listen=listen):
                line = self.assertOneLineFailure(
                    st.run_server('--listen', listen, '--threads', '1', wrapper=wrapper),
                    START_UP_FAILURES, named, 'EACCES')
                self.assertIn('1024', line)  # the hint: ports below 1024 need a privilege

    def test_unix_path_in_a_missing_directory(self):
        path = os.path.join(dt.temp_dir(self), 'missing', 's.sock')
        self.assertOneLineFailure(st.run_server('--listen', f'unix:{path}'), START_UP_FAILURES,
                                  path, 'ENOENT', 'directory')

    def test_every_address_is_bound_before_anything_is_served(self):
        # The last of three addresses fails: nothing is served, and the Unix socket file bound
        # first is not left behind.
        port = self.hold()
        path = dt.free_unix_path(self)
        self.assertOneLineFailure(st.run_server('--listen', f'unix:{path}', '--listen', '127.0.0.1:0',
                                                '--listen', f'127.0.0.1:{port}'),
                                  START_UP_FAILURES, f'127.0.0.1:{port}', 'EADDRINUSE')
        self.assertFalse(os.path.lexists(path), 'the Unix socket file was left behind')


class Readiness(unittest.TestCase):
    def test_one_listening_line_per_address_with_the_real_port(self):
        listen = ['127.0.0.1:0', '127.0.0.1:0', 'unix:' + dt.free_unix_path(self)]
        if st.HAVE_IPV6:
            listen.append('[::1]:0')
        # Two workers: a TCP address has a socket per worker, but one line.
        server = st.start_server(self, listen=listen, threads=2)
        texts = [address.text for address in server.addresses]
        self.assertEqual(texts[2], listen[2])
        for address in server.addresses:
            if address.family != socket.AF_UNIX:
                self.assertNotEqual(address.port, 0)
            self.assertEqual(st.exchange(address, b'1'), st.WELCOME)
        status, _ = server.stop()
        self.assertEqual(status, 0)
        listening = [line for line in server.stderr_lines() if 'listening on' in line]
        self.assertEqual(len(listening), len(listen), listening)
        for line in server.stderr_lines():
            self.assertRegex(line, st.LOG_LINE_RE)

    def test_raises_its_descriptor_soft_limit_to_the_hard_limit(self):
        server = st.start_server(self, wrapper=('prlimit', '--nofile=64:4096', '--'))
        with open(f'/proc/{server.pid}/limits') as limits:
            line = next(row for row in limits if row.startswith('Max open files'))
        self.assertEqual(line.split()[3:5], ['4096', '4096'], line)

    def test_max_connections_past_the_hard_limit_raises_it_or_says_why_not(self):
        server = st.start_server(self, '--max-connections', '1000',
                                 wrapper=('prlimit', '--nofile=64:200', '--'))
        with open(f'/proc/{server.pid}/limits') as limits:
            line = next(row for row in limits if row.startswith('Max open files'))
        soft, hard = line.split()[3:5]
        summary = next(match for line in server.stderr_lines()
                       if (match := re.search(st.STARTUP_RE, line)))
        if hard == '200':  # without CAP_SYS_RESOURCE: the hard limit holds, and is named
            self.assertEqual(soft, '200', line)
            self.assertTrue(any(re.search(r'\bwarning the descriptor limit is 200, short of the '
                                          r'\d+ that --max-connections 1000 needs: the hard '
                                          r'limit 200 \(ulimit -Hn', line)
                                for line in server.stderr_lines()), server.stderr_lines())
            self.assertLess(int(summary['limit']), 200)
        else:  # the process may raise it: as far as 1000 connections need
            self.assertEqual(soft, hard, line)
            self.assertGreater(int(hard), 1000, line)
            self.assertEqual((summary['limit'], summary['source']), ('1000', '--max-connections'))

    def test_restart_on_the_same_port_binds_over_time_wait(self):
        # SO_REUSEADDR: the server closes first, so its side of each connection sits in
        # TIME_WAIT; a new server on that port must still start at once.
        first = st.start_server(self)
        port = first.address.port
        for _ in range(5):
            self.assertEqual(st.exchange(first.address, b'1'), st.WELCOME)
        self.assertEqual(first.stop()[0], 0)
        time_wait = dt.run(['ss', '-Htan', 'state', 'time-wait', f'sport = :{port}'])[1]
        if not time_wait.strip():
            # The kernel keeps at most net.ipv4.tcp_max_tw_buckets of them machine-wide: under
            # other heavy load it may keep none of ours, and then there is nothing to bind over.
            self.skipTest('the kernel kept no TIME_WAIT connection (tcp_max_tw_buckets reached)')
        second = dt.start(self, st.server_argv(listen=(f'127.0.0.1:{port}',)))
        try:
            second.wait_for_line(st.LISTENING_RE, timeout=10)
        except AssertionError:
            # The port is the kernel's to give out again: only a live socket of someone else
            # (not TIME_WAIT) would excuse the failure.
            others = dt.run(['ss', '-Htan', 'exclude', 'time-wait', f'sport = :{port}'])[1]
            if others.strip():
                self.skipTest(f'another socket took port {port} meanwhile: {others}')
            raise
        self.assertEqual(st.exchange(st.Address(f'127.0.0.1:{port}'), b'1'), st.WELCOME)



class SaysWhatItIsDoing(unittest.TestCase):
    def test_the_start_up_line_names_version_pid_workers_limit_backlog_and_timeout(self):
        server = st.start_server(self, '--timeout', '3s', '--backlog', '64', threads=2)
        summary = next(match for line in server.stderr_lines()
                       if (match := re.search(st.STARTUP_RE, line)))
        self.assertEqual(int(summary['pid']), server.pid)
        self.assertEqual((summary['workers'], summary['type'], summary['backlog'],
                          summary['timeout']), ('2', 'stream', '64', '3s'))
        self.assertTrue(summary['source'].startswith('the descriptor limit '), summary['source'])

    def test_a_small_descriptor_limit_is_a_warning(self):
        server = st.start_server(self, wrapper=('prlimit', '--nofile=64:64'))
        summary = next(match for line in server.stderr_lines()
                       if (match := re.search(st.STARTUP_RE, line)))
        self.assertLess(int(summary['limit']), 64)
        self.assertEqual(summary['source'], 'the descriptor limit 64')
        self.assertTrue(any(re.search(rf'\bwarning only {summary["limit"]} connections at once: '
                                      r'the descriptor limit is 64\b', line)
                            for line in server.stderr_lines()), server.stderr_lines())

    def test_max_connections_given_is_named(self):
        server = st.start_server(self, '--max-connections', '100')
        summary = next(match for line in server.stderr_lines()
                       if (match := re.search(st.STARTUP_RE, line)))
        self.assertEqual((summary['limit'], summary['source']), ('100', '--max-connections'))

if __name__ == '__main__':
    unittest.main()
