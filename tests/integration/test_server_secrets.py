"""doorman-server's password sources (B10): --password-file and DOORMAN_PASSWORD keep the
password out of `ps`, /proc/PID/cmdline and /proc/PID/environ; exactly one source may be given,
the default `1` only applies when none is; every refusal is one line that never holds the
password.
"""

import os
import pwd
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402
import server_testing as st  # noqa: E402

SECRET = 's3cr3t-XYZ'
VARIABLE = 'DOORMAN_PASSWORD'


def environment(**extra):
    env = {key: value for key, value in os.environ.items() if key != VARIABLE}
    env.update(extra)
    return env


def password_file(test, contents, mode=0o600):
    path = os.path.join(dt.temp_dir(test), 'password')
    with open(path, 'wb') as file:
        file.write(contents)
    os.chmod(path, mode)
    return path


class KeptOutOfSight(unittest.TestCase):
    def assertServesTheSecretOnly(self, server):
        self.assertEqual(st.exchange(server.address, SECRET.encode()), st.WELCOME)
        self.assertEqual(st.exchange(server.address, b'1'), st.GO_OUT)

    def assertNowhereToBeSeen(self, server):
        pid = str(server.pid)
        args = subprocess.run(['ps', '-o', 'args=', '-p', pid], capture_output=True, text=True,
                              timeout=10, check=True).stdout
        self.assertIn('doorman-server', args)
        self.assertNotIn(SECRET, args)
        for name in ('cmdline', 'environ'):
            with self.subTest(proc=name), open(f'/proc/{pid}/{name}', 'rb') as proc:
                self.assertNotIn(SECRET.encode(), proc.read())
        self.assertFalse([line for line in server.stderr_lines() if SECRET in line])

    def test_password_file(self):
        path = password_file(self, SECRET.encode() + b'\n')
        server = st.start_server(self, '--password-file', path, env=environment())
        self.assertServesTheSecretOnly(server)
        self.assertNowhereToBeSeen(server)

    def test_environment_variable_is_scrubbed(self):
        server = st.start_server(self, env=environment(**{VARIABLE: SECRET}))
        self.assertServesTheSecretOnly(server)
        self.assertNowhereToBeSeen(server)
        with open(f'/proc/{server.pid}/environ', 'rb') as proc:
            names = [entry.split(b'=', 1)[0] for entry in proc.read().split(b'\0')]
        self.assertIn(VARIABLE.encode(), names)  # the name stays in the initial block, emptied

    def test_first_line_only_without_crlf(self):
        path = password_file(self, SECRET.encode() + b'\r\nsecond line\n')
        server = st.start_server(self, '--password-file', path, env=environment())
        self.assertServesTheSecretOnly(server)

    def test_file_without_a_newline(self):
        path = password_file(self, SECRET.encode())
        server = st.start_server(self, '--password-file', path, env=environment())
        self.assertServesTheSecretOnly(server)

    def test_file_others_may_read_is_served_with_a_warning(self):
        path = password_file(self, SECRET.encode() + b'\n', mode=0o644)
        server = st.start_server(self, '--password-file', path, env=environment())
        self.assertServesTheSecretOnly(server)
        warned = [line for line in server.stderr_lines() if 'readable by group or others' in line]
        self.assertEqual(len(warned), 1, server.stderr_lines())
        self.assertIn(' warning ', warned[0])


def assert_usage_error(test, args, env, *fragments):
    status, stdout, stderr = st.run_server(*args, env=env)
    test.assertEqual(status, st.EX_USAGE, stderr)
    test.assertEqual(stdout, '')
    lines = stderr.splitlines()
    test.assertEqual(len(lines), 1, stderr)
    test.assertNotIn(SECRET, stderr)
    test.assertTrue(lines[0].startswith('doorman-server: '), lines[0])
    for fragment in fragments:
        test.assertIn(fragment, lines[0])


class Refused(unittest.TestCase):
    def assertUsageError(self, args, env, *fragments):
        assert_usage_error(self, args, env, *fragments)

    def test_password_and_password_file(self):
        path = password_file(self, SECRET.encode() + b'\n')
        self.assertUsageError(['--password', SECRET, '--password-file', path], environment(),
                              '--password-file', '--password')

    def test_variable_and_password(self):
        self.assertUsageError(['--password', SECRET], environment(**{VARIABLE: SECRET}),
                              VARIABLE, '--password')

    def test_variable_and_password_file(self):
        path = password_file(self, SECRET.encode() + b'\n')
        self.assertUsageError(['--password-file', path], environment(**{VARIABLE: SECRET}),
                              VARIABLE, '--password-file')

    def test_empty_file(self):
        for contents in (b'', b'\n', b'\r\n' + SECRET.encode()):
            with self.subTest(contents=contents):
                path = password_file(self, contents)
                self.assertUsageError(['--password-file', path], environment(),
                                      '--password-file', 'empty')

    def test_missing_file(self):
        path = os.path.join(dt.temp_dir(self), 'absent')
        self.assertUsageError(['--password-file', path], environment(),
                              '--password-file', path, 'ENOENT')

    def test_directory(self):
        path = dt.temp_dir(self)
        self.assertUsageError(['--password-file', path], environment(), path, 'not a regular file')

    def test_file_others_may_write(self):
        path = password_file(self, SECRET.encode() + b'\n', mode=0o622)
        self.assertUsageError(['--password-file', path], environment(), path, 'write')

    def test_empty_variable(self):
        self.assertUsageError([], environment(**{VARIABLE: ''}), VARIABLE, 'empty')

    def test_longer_than_the_read_size(self):
        path = password_file(self, SECRET.encode() + b'\n')
        self.assertUsageError(['--password-file', path, '--read-size', '4'], environment(),
                              '--password-file', '--read-size')


OTHER_USER = 'daemon'  # an ordinary account that is neither root nor the server's --user
SERVER_USER = 'nobody'


def uid_of(name):
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


@unittest.skipUnless(os.geteuid() == 0, 'giving a file to another user needs root')
@unittest.skipUnless(uid_of(OTHER_USER) and uid_of(SERVER_USER), 'no daemon or nobody user')
class Owner(unittest.TestCase):
    """Whoever owns the file may chmod and rewrite it: only root and the server's user may."""

    def owned_by(self, name):
        path = password_file(self, SECRET.encode() + b'\n')
        os.chown(path, uid_of(name), -1)
        return path

    def test_another_users_file_is_refused(self):
        path = self.owned_by(OTHER_USER)
        for args in (['--password-file', path],
                     ['--password-file', path, '--user', SERVER_USER]):
            with self.subTest(args=args):
                assert_usage_error(self, ['--listen', '127.0.0.1:0', *args], environment(),
                                   '--password-file', path, f'owned by uid {uid_of(OTHER_USER)}',
                                   'chown root')

    def test_the_server_users_file_is_read(self):
        path = self.owned_by(SERVER_USER)
        server = st.start_server(self, '--password-file', path, '--user', SERVER_USER,
                                 env=environment())
        self.assertEqual(st.exchange(server.address, SECRET.encode()), st.WELCOME)


if __name__ == '__main__':
    unittest.main()
