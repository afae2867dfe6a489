"""doorman-server --user/--group (B10): bound and the password read as root, the server becomes
the user for good (real, effective and saved ids, supplementary groups) and still serves; its
Unix socket file and PATH.lock are handed to the user, so they are removed on exit; an unknown
user or group is a usage error; running as root without --user is a warning.
"""

import grp
import os
import pwd
import signal
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402
import server_testing as st  # noqa: E402
from test_server_upgrade import kill_quietly, read_pid, wait_gone  # noqa: E402

USER = 'nobody'
AS_ROOT = os.geteuid() == 0


def existing_user():
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        return None


def status_ids(pid):
    """The Uid:, Gid: (real, effective, saved, filesystem) and Groups: lines of /proc/PID/status."""
    fields = {}
    with open(f'/proc/{pid}/status') as status:
        for line in status:
            name, _, value = line.partition(':')
            if name in ('Uid', 'Gid', 'Groups'):
                fields[name] = [int(number) for number in value.split()]
    return fields


@unittest.skipUnless(AS_ROOT, 'dropping privileges needs root')
@unittest.skipUnless(existing_user(), f'no user {USER}')
class DropToUser(unittest.TestCase):
    def setUp(self):
        self.account = existing_user()

    def assertServes(self, server):
        self.assertEqual(st.exchange(server.address, b'1'), st.WELCOME)
        self.assertEqual(st.exchange(server.address, b'x'), st.GO_OUT)

    def test_ids_and_groups_are_the_users(self):
        server = st.start_server(self, '--user', USER)
        ids = status_ids(server.pid)
        self.assertEqual(ids['Uid'], [self.account.pw_uid] * 4)
        self.assertEqual(ids['Gid'], [self.account.pw_gid] * 4)
        self.assertEqual(sorted(ids['Groups']),
                         sorted(set(os.getgrouplist(USER, self.account.pw_gid))))
        self.assertServes(server)
        self.assertFalse([line for line in server.stderr_lines() if 'running as root' in line])
        self.assertEqual(server.stop()[0], 0)

    def test_an_upgrade_keeps_the_user(self):
        # The new process starts as the user already: nothing left to drop, and no failure
        # trying (setgroups needs root).
        server = st.start_server(self, '--user', USER)
        os.kill(server.pid, signal.SIGUSR2)
        new_pid = int(server.process.wait_for_line(
            r'\binfo upgraded: process (?P<pid>\d+) serves the sockets now$', timeout=20)['pid'])
        self.addCleanup(kill_quietly, new_pid)
        self.assertEqual(server.process.popen.wait(timeout=20), 0, server.process.output()[1])
        self.assertTrue(any(f"already running as '{USER}': nothing to drop" in line
                            for line in server.stderr_lines()), server.stderr_lines())
        ids = status_ids(new_pid)
        self.assertEqual(ids['Uid'], [self.account.pw_uid] * 4)
        self.assertEqual(ids['Gid'], [self.account.pw_gid] * 4)
        self.assertServes(server)

    def root_only_pid_file(self):
        """A pid file path in a directory only root may write, as /run."""
        directory = dt.temp_dir(self)
        os.chmod(directory, 0o755)
        return os.path.join(directory, 'doorman.pid')

    def test_pid_file_is_written_as_root_and_emptied_on_exit(self):
        # The user cannot remove a file from a directory only root may write: the file is left,
        # empty, and the next start writes it again.
        path = self.root_only_pid_file()
        for start in ('first', 'second'):
            with self.subTest(start=start):
                server = st.start_server(self, '--user', USER, '--pid-file', path)
                self.assertEqual(read_pid(path), server.pid)
                self.assertOwnedByTheUser(path)
                self.assertServes(server)
                self.assertEqual(server.stop()[0], 0, server.stderr_lines())
                with open(path, encoding='ascii') as file:
                    self.assertEqual(file.read(), '')
        self.assertEqual(os.listdir(os.path.dirname(path)), ['doorman.pid'])

    def test_pid_file_names_the_process_an_upgrade_started(self):
        path = self.root_only_pid_file()
        server = st.start_server(self, '--user', USER, '--pid-file', path)
        os.kill(server.pid, signal.SIGUSR2)
        new_pid = int(server.process.wait_for_line(
            r'\binfo upgraded: process (?P<pid>\d+) serves the sockets now$', timeout=20)['pid'])
        self.addCleanup(kill_quietly, new_pid)
        self.assertEqual(server.process.popen.wait(timeout=20), 0, server.process.output()[1])
        self.assertEqual(read_pid(path), new_pid)
        self.assertServes(server)
        os.kill(new_pid, signal.SIGTERM)
        wait_gone(new_pid)
        with open(path, encoding='ascii') as file:
            self.assertEqual(file.read(), '')

    def test_group_given_is_the_only_group(self):
        other = grp.getgrnam('nogroup' if group_exists('nogroup') else 'daemon')
        server = st.start_server(self, '--user', USER, '--group', other.gr_name)
        ids = status_ids(server.pid)
        self.assertEqual(ids['Uid'], [self.account.pw_uid] * 4)
        self.assertEqual(ids['Gid'], [other.gr_gid] * 4)
        self.assertEqual(ids['Groups'], [other.gr_gid])
        self.assertServes(server)

    def test_password_file_only_root_may_read_is_read_before_the_drop(self):
        path = os.path.join(dt.temp_dir(self), 'password')
        with open(path, 'w') as file:
            file.write('s3cr3t-XYZ\n')
        os.chmod(path, 0o600)
        server = st.start_server(self, '--user', USER, '--password-file', path)
        self.assertEqual(st.exchange(server.address, b's3cr3t-XYZ'), st.WELCOME)

    def sticky_directory(self):
        directory = dt.temp_dir(self)
        os.chmod(directory, 0o1777)  # sticky, as /tmp: only a file's owner may remove it
        return directory

    def assertOwnedByTheUser(self, *paths):
        for name in paths:
            with self.subTest(file=name):
                info = os.lstat(name)
                self.assertEqual((info.st_uid, info.st_gid),
                                 (self.account.pw_uid, self.account.pw_gid))

    def test_unix_socket_and_lock_are_handed_over_and_removed_on_exit(self):
        path = os.path.join(self.sticky_directory(), 'doorman.sock')
        server = st.start_server(self, '--user', USER, listen=('unix:' + path,))
        self.assertOwnedByTheUser(path, path + '.lock')
        self.assertServes(server)
        self.assertEqual(server.stop()[0], 0)
        self.assertFalse(os.path.lexists(path))
        self.assertFalse(os.path.lexists(path + '.lock'))

    def test_metrics_unix_socket_and_lock_are_handed_over_and_removed_on_exit(self):
        path = os.path.join(self.sticky_directory(), 'metrics.sock')
        server = st.start_server(self, '--user', USER, '--metrics', 'unix:' + path)
        server.process.wait_for_line(r'\binfo metrics on unix:', timeout=10)
        self.assertOwnedByTheUser(path, path + '.lock')
        self.assertEqual(server.stop()[0], 0)
        self.assertFalse(os.path.lexists(path))
        self.assertFalse(os.path.lexists(path + '.lock'))


def group_exists(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


class Refused(unittest.TestCase):
    def assertUsageError(self, *args, fragment):
        status, stdout, stderr = st.run_server(*args)
        self.assertEqual(status, st.EX_USAGE, stderr)
        self.assertEqual(stdout, '')
        self.assertEqual(len(stderr.splitlines()), 1, stderr)
        self.assertIn(fragment, stderr)

    def test_unknown_user(self):
        self.assertUsageError('--user', 'doorman-no-such-user', fragment="'doorman-no-such-user'")

    def test_unknown_group(self):
        self.assertUsageError('--user', USER, '--group', 'doorman-no-such-group',
                              fragment="--group: look up group 'doorman-no-such-group'")

    def test_group_root(self):
        # Refused before anything is bound, for what it is: not "root could be taken back".
        self.assertUsageError('--user', USER, '--group', 'root',
                              fragment="--group: run as group 'root': refusing to run with group "
                                       'root (gid 0) after dropping privileges')

    def test_group_without_user(self):
        self.assertUsageError('--group', 'nogroup', fragment='--group: needs --user')

    def test_root_is_no_drop(self):
        self.assertUsageError('--user', 'root', fragment='--user')


@unittest.skipIf(AS_ROOT, 'only a user other than root is refused by the system')
@unittest.skipUnless(existing_user(), f'no user {USER}')
class NotRoot(unittest.TestCase):
    def test_changing_user_needs_root(self):
        status, _, stderr = st.run_server('--listen', '127.0.0.1:0', '--user', USER)
        self.assertEqual(status, st.EX_NOPERM, stderr)
        self.assertEqual(len(stderr.splitlines()), 1, stderr)


@unittest.skipUnless(AS_ROOT, 'the warning is for root')
class RootWarning(unittest.TestCase):
    def test_root_without_user_is_warned_once(self):
        server = st.start_server(self)
        self.assertEqual(server.stop()[0], 0)
        warned = [line for line in server.stderr_lines() if line.endswith(st.ROOT_WARNING)]
        self.assertEqual(len(warned), 1, server.stderr_lines())
        self.assertRegex(warned[0], st.LOG_LINE_RE)

    def test_a_start_up_failure_is_still_one_line(self):
        taken = st.start_server(self)
        status, _, stderr = st.run_server('--listen', taken.address.text)
        self.assertEqual(status, st.EX_UNAVAILABLE, stderr)
        self.assertEqual(len(stderr.splitlines()), 1, stderr)


if __name__ == '__main__':
    unittest.main()
