"""The tutorial's story, told by its programs: the C++ examples (tutorial-server,
tutorial-client; S13) and the Python 3 ports of the tutorial's server.py and client.py,
in every pairing, so each side is checked against the other (S10, S12).

The tutorial's three outcomes, with its 5 s server timeout scaled down to SERVER_TIMEOUT:
message `1` prints `welcome to server!`, another message prints `please go out!`, and a client
that waits longer than the timeout makes the server print `time out`.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402

SERVER_TIMEOUT = 0.5
DELAY_WITHIN = 0.1   # well inside the timeout, even on a busy machine
DELAY_BEYOND = 1.0   # twice the timeout


def cpp_server():
    return [dt.binary('tutorial-server')]


def python_server():
    return dt.support_script('tutorial_server.py')


def cpp_client():
    return [dt.binary('tutorial-client')]


def python_client():
    return dt.support_script('tutorial_client.py')


class TutorialStory:
    """The three outcomes for one server and one client program; subclasses pick the pair.
    Both take the C++ examples' arguments: server [PORT [TIMEOUT]], client [PORT [DELAY [MESSAGE]]].
    """

    server_argv = None
    client_argv = None

    def setUp(self):
        self.server = dt.start(self, self.server_argv() + [0, SERVER_TIMEOUT])
        # Both servers print `listening on 127.0.0.1:PORT` on stderr after listen().
        self.port = dt.listening_port(self.server.wait_for_line(dt.LISTENING_RE))

    def run_client(self, delay, *message):
        return dt.run(self.client_argv() + [str(self.port), str(delay), *message], timeout=10)

    def test_password_is_welcomed(self):
        self.assertEqual(self.run_client(DELAY_WITHIN, '1'), (0, 'welcome to server!\n', ''))

    def test_default_message_is_the_password(self):
        self.assertEqual(self.run_client(DELAY_WITHIN), (0, 'welcome to server!\n', ''))

    def test_other_message_is_sent_away(self):
        self.assertEqual(self.run_client(DELAY_WITHIN, '2'), (0, 'please go out!\n', ''))

    def test_delay_beyond_the_timeout_makes_the_server_time_out(self):
        result = self.run_client(DELAY_BEYOND, '1')
        self.server.wait_for_line(r'^time out$', stream='stdout')
        # The server closed before the request came, so the client's recv returns nothing and it
        # prints an empty line, as the tutorial's client.py does (print of an empty string).
        self.assertEqual(result, (0, '\n', ''))
        # One client at a time, for ever: the next client is served as usual.
        self.assertEqual(self.run_client(DELAY_WITHIN, '1'), (0, 'welcome to server!\n', ''))
        self.assertEqual(self.server.lines('stdout'), ['time out'])


class CppServerCppClientTest(TutorialStory, unittest.TestCase):
    server_argv = staticmethod(cpp_server)
    client_argv = staticmethod(cpp_client)


class CppServerPythonClientTest(TutorialStory, unittest.TestCase):
    """The tutorial's client.py (ported) against the C++ example server."""
    server_argv = staticmethod(cpp_server)
    client_argv = staticmethod(python_client)


class PythonServerCppClientTest(TutorialStory, unittest.TestCase):
    """The C++ example client against the tutorial's server.py (ported)."""
    server_argv = staticmethod(python_server)
    client_argv = staticmethod(cpp_client)


class PythonServerPythonClientTest(TutorialStory, unittest.TestCase):
    """The tutorial itself, in Python 3: the ports behave as the tutorial says."""
    server_argv = staticmethod(python_server)
    client_argv = staticmethod(python_client)


class CppServerDoormanClientTest(unittest.TestCase):
    """doorman-client against the C++ example server (what `make demo` shows until
    doorman-server exists)."""

    def setUp(self):
        server = dt.start(self, cpp_server() + [0, SERVER_TIMEOUT])
        self.server = server
        self.address = f'127.0.0.1:{dt.listening_port(server.wait_for_line(dt.LISTENING_RE))}'

    def client(self, *args):
        return dt.run([dt.binary('doorman-client'), '--connect', self.address, *args], timeout=10)

    def test_three_outcomes(self):
        self.assertEqual(self.client('--delay', str(DELAY_WITHIN), '--message', '1'),
                         (0, 'welcome to server!\n', ''))
        self.assertEqual(self.client('--delay', str(DELAY_WITHIN), '--message', 'hello'),
                         (0, 'please go out!\n', ''))
        returncode, stdout, stderr = self.client('--delay', str(DELAY_BEYOND))
        self.assertEqual((returncode, stdout), (76, ''))
        self.assertIn('closed the connection without a reply', stderr)
        self.server.wait_for_line(r'^time out$', stream='stdout')


if __name__ == '__main__':
    unittest.main()
