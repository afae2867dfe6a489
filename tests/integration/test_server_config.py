"""doorman-server --config FILE (B11): every option from a TOML file under its long name, the
command line overriding it, and every mistake in the file one line naming the file, the line
and the key, with exit status 64 (F1). packaging/doorman.toml loads and names every option.
"""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402
import server_testing as st  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
EXAMPLE = os.path.join(ROOT, 'packaging', 'doorman.toml')


def write_config(test, text, name='doorman.toml'):
    path = os.path.join(dt.temp_dir(test), name)
    with open(path, 'w', encoding='utf-8') as file:
        file.write(text)
    return path


def start_with_config(test, path, *args, listening=1):
    """The server with --config `path` and `args` only (no --listen of the helpers')."""
    process = dt.start(test, [dt.binary('doorman-server'), '--config', path,
                              *st.engine_args(args), *args])
    addresses = [st.Address(process.wait_for_line(st.LISTENING_RE, timeout=10)['address'])
                 for _ in range(listening)]
    return st.Server(process, addresses)


class FromTheFile(unittest.TestCase):
    def test_every_kind_of_value(self):
        unix_path = dt.free_unix_path(self)
        path = write_config(self, f'''
# a list, a duration, a number, a bool and strings
listen = ["127.0.0.1:0", "unix:{unix_path}"]
timeout = "500ms"
backlog = 5
threads = 1
defer-accept = false
password = "from-the-file"
log-level = "debug"
''')
        server = start_with_config(self, path, listening=2)
        self.assertEqual(server.addresses[1].text, 'unix:' + unix_path)
        for address in server.addresses:
            self.assertEqual(st.exchange(address, b'from-the-file'), st.WELCOME)
            self.assertEqual(st.exchange(address, b'1'), st.GO_OUT)
        server.process.wait_for_line(r'\bdebug \S+ welcomed$')
        with st.connect(server.address):
            line = server.process.wait_for_line(r'\bwarning time out\b', timeout=5)
        self.assertIn('sent nothing within 500ms', line.string)

    def test_a_duration_may_be_a_number_of_seconds(self):
        path = write_config(self, 'listen = "127.0.0.1:0"\ntimeout = 0.25\n')
        server = start_with_config(self, path)
        with st.connect(server.address):
            line = server.process.wait_for_line(r'\bwarning time out\b', timeout=5)
        self.assertIn('sent nothing within 250ms', line.string)

    def test_the_command_line_overrides_the_file(self):
        unix_path = dt.free_unix_path(self)
        path = write_config(self, f'listen = ["unix:{unix_path}"]\npassword = "from-the-file"\n'
                                  'timeout = "250ms"\n')
        server = start_with_config(self, path, '--listen', '127.0.0.1:0', '--password', 'typed')
        self.assertEqual(len(server.addresses), 1)
        self.assertEqual(server.address.host, '127.0.0.1')
        self.assertFalse(os.path.exists(unix_path))
        self.assertEqual(st.exchange(server.address, b'typed'), st.WELCOME)
        self.assertEqual(st.exchange(server.address, b'from-the-file'), st.GO_OUT)
        with st.connect(server.address):  # what the command line left alone comes from the file
            line = server.process.wait_for_line(r'\bwarning time out\b', timeout=5)
        self.assertIn('sent nothing within 250ms', line.string)


class Mistakes(unittest.TestCase):
    def assertRefused(self, text, where, reason):
        path = write_config(self, text)
        status, stdout, stderr = st.run_server('--config', path)
        self.assertEqual(status, st.EX_USAGE, stderr)
        self.assertEqual(stdout, '')
        lines = stderr.splitlines()
        self.assertEqual(len(lines), 1, stderr)
        self.assertEqual(lines[0], f'doorman-server: {path}:{where}: {reason}')

    def test_unknown_key(self):
        self.assertRefused('timeout = "5s"\n\nlisten-on = "x"\n', '3: listen-on', 'unknown option')

    def test_options_of_the_command_line_alone(self):
        self.assertRefused('config = "other.toml"\n', '1: config', 'unknown option')

    def test_wrong_types(self):
        for text, where, reason in [
                ('backlog = "five"\n', '1: backlog', 'expected a whole number'),
                ('defer-accept = "yes"\n', '1: defer-accept', 'expected true or false'),
                ('listen = 8001\n', '1: listen', 'expected a string or an array of strings'),
                ('password = 1\n', '1: password', 'expected a string'),
                ('timeout = true\n', '1: timeout', 'expected a duration: a string such as "5s" '
                                                   'or "500ms", or seconds')]:
            with self.subTest(text=text):
                self.assertRefused(text, where, reason)

    def test_bad_values(self):
        for text, where, reason in [
                ('\nbacklog = 0\n', '2: backlog', 'backlog must be at least 1'),
                ('timeout = "soon"\n', '1: timeout',
                 'expected a number with an optional unit: 5, 5s, 500ms, 2m'),
                ('log-level = "loud"\n', '1: log-level', None),
                ('listen = ["127.0.0.1:0", "::1:8001"]\n', '1: listen', None)]:
            with self.subTest(text=text):
                path = write_config(self, text)
                status, _, stderr = st.run_server('--config', path)
                self.assertEqual(status, st.EX_USAGE, stderr)
                self.assertEqual(len(stderr.splitlines()), 1, stderr)
                self.assertTrue(stderr.startswith(f'doorman-server: {path}:{where}: '), stderr)
                if reason:
                    self.assertEqual(stderr.strip(), f'doorman-server: {path}:{where}: {reason}')

    def test_bad_toml(self):
        path = write_config(self, 'timeout = "5s"\nbacklog = \n')
        status, _, stderr = st.run_server('--config', path)
        self.assertEqual(status, st.EX_USAGE, stderr)
        self.assertEqual(len(stderr.splitlines()), 1, stderr)
        self.assertTrue(stderr.startswith(f'doorman-server: {path}:2: '), stderr)

    def test_bad_toml_never_quotes_the_password(self):
        # The library quotes what it saw ("expected 'true', saw 'to'"): on a password's line,
        # and on the lines a multi-line password string runs on to, only file, line and key.
        redacted = 'password: not valid TOML (the line is not quoted: it may hold the password)'
        for text, line, secret in [
                ('password = to\n', 1, 'to'),
                ('password = topsecret\n', 1, 'topsecret'),
                ('backlog = 5\npassword = "unterminated\n', 2, 'unterminated'),
                ("password = 'x\n", 1, 'x'),
                ('password "sc"\n', 1, 'sc'),
                ('password = """ab\nc\\qd"""\n', 2, 'qd')]:
            with self.subTest(text=text):
                path = write_config(self, text)
                status, stdout, stderr = st.run_server('--config', path)
                self.assertEqual(status, st.EX_USAGE, stderr)
                self.assertEqual(stdout, '')
                self.assertEqual(stderr, f'doorman-server: {path}:{line}: {redacted}\n')
                self.assertNotIn(secret, stderr[len(f'doorman-server: {path}'):])

    def test_bad_toml_after_the_password_is_shown(self):
        path = write_config(self, 'password = "s3cr3t"\nbacklog = tru\n')
        status, _, stderr = st.run_server('--config', path)
        self.assertEqual(status, st.EX_USAGE, stderr)
        self.assertEqual(len(stderr.splitlines()), 1, stderr)
        self.assertTrue(stderr.startswith(f'doorman-server: {path}:2: '), stderr)
        self.assertIn("saw 'tr", stderr)
        self.assertNotIn('s3cr3t', stderr)

    def test_missing_file(self):
        path = os.path.join(dt.temp_dir(self), 'absent.toml')
        status, _, stderr = st.run_server('--config', path)
        self.assertEqual(status, st.EX_USAGE, stderr)
        self.assertEqual(stderr.strip(), f"doorman-server: --config: open '{path}': "
                                         'no such file or directory (ENOENT)')


class TheExample(unittest.TestCase):
    """packaging/doorman.toml: every option of --help, each at its default, and it loads."""

    def example(self):
        with open(EXAMPLE, encoding='utf-8') as file:
            return file.read()

    def test_names_every_option_of_help(self):
        status, help_text, _ = st.run_server('--help')
        self.assertEqual(status, 0)
        options = set(re.findall(r'--([a-z][a-z-]*)', help_text)) - {'help', 'version', 'config'}
        keys = set(re.findall(r'^# ([a-z][a-z-]*) = ', self.example(), re.M))
        self.assertEqual(options - keys, set(), 'options missing from packaging/doorman.toml')
        self.assertEqual(keys - options, set(), 'keys that are no options')

    def test_loads_as_it_is(self):
        server = start_with_config(self, EXAMPLE, '--listen', '127.0.0.1:0')
        self.assertEqual(st.exchange(server.address, b'1'), st.WELCOME)

    def test_loads_with_every_line_uncommented(self):
        # The identity and the password file need the system's help; the rest is taken as it is.
        needs_system = ('user', 'group', 'password-file')
        text = re.sub(r'^# ([a-z][a-z-]*) = ',
                      lambda m: m.group(0) if m.group(1) in needs_system else m.group(1) + ' = ',
                      self.example(), flags=re.M)
        path = write_config(self, text)
        server = start_with_config(self, path, '--listen', '127.0.0.1:0', '--metrics',
                                   '127.0.0.1:0')
        self.assertEqual(st.exchange(server.address, b'1'), st.WELCOME)


if __name__ == '__main__':
    unittest.main()
