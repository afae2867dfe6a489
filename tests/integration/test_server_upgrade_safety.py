"""doorman-server's upgrades (B12) against what could spoil them: after the handover the old
process drains on when a service manager's stop or a Ctrl-C signals it too, and only a further
signal cuts its connections.

As in test_server_upgrade.py, the old process's exit is waited for with Popen.wait: the new
process is in its process group, which doorman_testing's reap would kill.
"""

import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import server_testing as st  # noqa: E402
from test_server_upgrade import UPGRADED_RE, kill_quietly, wait_gone  # noqa: E402


class StopAfterUpgrade(unittest.TestCase):
    def test_the_first_stop_signal_lets_the_drain_go_on_and_a_further_one_cuts(self):
        server = st.start_server(self, '--timeout', '20s')
        finishing = st.connect(server.address, timeout=10)
        self.addCleanup(finishing.close)
        cut = st.connect(server.address, timeout=10)
        self.addCleanup(cut.close)
        os.kill(server.pid, signal.SIGUSR2)
        new_pid = int(server.process.wait_for_line(UPGRADED_RE, timeout=20)['pid'])
        self.addCleanup(kill_quietly, new_pid)
        server.process.wait_for_line(r'\binfo draining 2 connections$', timeout=10)

        # As systemd's KillMode=control-group or a terminal's Ctrl-C would.
        os.kill(server.pid, signal.SIGTERM)
        server.process.wait_for_line(
            r'\binfo draining on after TERM: the new process serves; another signal stops at '
            r'once$', timeout=10)
        finishing.sendall(b'1')
        self.assertEqual(st.recv_until_eof(finishing), st.WELCOME)

        os.kill(server.pid, signal.SIGTERM)
        server.process.wait_for_line(r'\bwarning stopping at once on a second signal \(TERM\)$',
                                     timeout=10)
        self.assertEqual(st.recv_until_eof(cut), b'')
        self.assertEqual(server.process.popen.wait(timeout=20), 0, server.process.output()[1])
        # The new process was not signalled: it serves on.
        self.assertEqual(st.exchange(server.address, b'1', timeout=10), st.WELCOME)
        os.kill(new_pid, signal.SIGTERM)
        wait_gone(new_pid)


if __name__ == '__main__':
    unittest.main()
