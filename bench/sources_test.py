"""doorman-bench's --source (P7): every connection is bound to the next of the given source
addresses, so one target can hold more connections than one address has ephemeral ports.

usage: sources_test.py DOORMAN_SERVER DOORMAN_BENCH

The server's debug log names each welcomed client's address: the connections came from both
sources. A --source that is not an address, or not this machine's, is a usage error (64) in one
line. Every wait is bounded and every process started here is stopped by its PID.
"""

import re
import subprocess
import sys
import threading
import unittest

import local_server

SERVER = BENCH = None
RUN_TIMEOUT = 30
EX_USAGE = 64


def bench(*args):
    return subprocess.run([BENCH, '--no-progress', *args], capture_output=True, text=True,
                          timeout=RUN_TIMEOUT)


class SourceTest(unittest.TestCase):

    def test_connections_come_from_every_source(self):
        server = subprocess.Popen([SERVER, '--listen', '127.0.0.1:0', '--log-level', 'debug'],
                                  stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, bufsize=0)
        lines = []
        try:
            port = local_server.wait_for_port(server)
            # Read to the end in the background, so the server never blocks on the pipe.
            reader = threading.Thread(target=lambda: lines.extend(server.stderr), daemon=True)
            reader.start()
            result = bench('--connect', f'127.0.0.1:{port}', '--source', '127.0.0.2,127.0.0.3',
                           '--count', '40', '--concurrency', '4', '--max-errors', '0')
            self.assertEqual(result.returncode, 0, result.stderr)
        finally:
            local_server.stop(server)
        reader.join(timeout=10)
        server.stderr.close()
        text = b''.join(lines).decode('utf-8', 'replace')
        peers = re.findall(r'(\d+\.\d+\.\d+\.\d+):\d+ welcomed', text)
        self.assertEqual(len(peers), 40, text[-2000:])
        self.assertEqual(set(peers), {'127.0.0.2', '127.0.0.3'})

    def assertUsageLine(self, *args):
        result = bench('--connect', '127.0.0.1:1', '--count', '1', *args)
        self.assertEqual(result.returncode, EX_USAGE, result)
        self.assertEqual(result.stdout, '')
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertIn('--source', result.stderr)

    def test_a_source_that_is_no_address_is_a_usage_error(self):
        self.assertUsageLine('--source', '127.0.0.2,not-an-address')

    def test_a_source_that_is_not_this_machines_is_a_usage_error(self):
        # TEST-NET-1 (RFC 5737): never a local address.
        self.assertUsageLine('--source', '192.0.2.1')

    def test_a_source_of_another_family_than_the_target_is_a_usage_error(self):
        self.assertUsageLine('--source', '::1')


if __name__ == '__main__':
    SERVER, BENCH = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
