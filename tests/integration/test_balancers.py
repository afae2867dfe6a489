"""The tested deployments of B12: two doorman-servers with --proxy-protocol behind HAProxy
(examples/haproxy/haproxy.cfg, PROXY v2, health checks that are welcomed) and behind nginx's
stream module (examples/nginx/nginx.conf, PROXY v1). Each test runs the example's own file,
its `${...}` filled in with free loopback ports, in the foreground as a child of its own.

Through the balancer: every client welcomed, both instances serving, each client logged under
its own address; an instance killed mid-run costs clients only until the health check takes it
out; an instance drained with SIGTERM costs none.
"""

import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import balancer_testing as bt  # noqa: E402
import doorman_testing as dt  # noqa: E402
import server_testing as st  # noqa: E402

# After a kill, clients may fail until HAProxy's checks (inter 200ms fall 2) take the instance
# out and the connections it held are gone; the brief is a second.
KILL_WINDOW = 1.0
EVENT_AT = 1.0   # seconds into the run when an instance is killed or stopped
RUN_FOR = 3.5


class BehindHAProxy(unittest.TestCase):
    def setUp(self):
        reason = bt.missing('haproxy')
        if reason:
            self.skipTest(reason)
        self.doormen = bt.start_doormen(self)
        self.front = bt.front_address()
        config = bt.render(self, bt.example('haproxy', 'haproxy.cfg'), {
            'FRONT_PORT': self.front.port,
            'DOORMAN1_PORT': self.doormen[0].address.port,
            'DOORMAN2_PORT': self.doormen[1].address.port})
        self.haproxy = dt.start(self, ['haproxy', '-db', '-f', config])
        bt.wait_until_welcomed(self.haproxy, self.front)

    def test_a_thousand_clients_are_welcomed_by_both_instances_under_their_own_names(self):
        client_ports = []
        replies = bt.run_clients(self.front, 1000, batch=50, local_ports=client_ports)
        self.assertEqual(bt.failures(replies), [])
        logged = []
        for doorman in self.doormen:
            status, counters = doorman.stop()
            self.assertEqual(status, 0)
            self.assertGreater(counters['accepted'], 0)
            self.assertGreater(counters['welcomed'], 0)
            logged.append(bt.welcomed_ports(doorman))
        # Each client is logged by the instance that served it under its own port, never the
        # balancer's; what else is logged is the health checks' LOCAL connections.
        for ports in logged:
            self.assertGreater(len(ports & set(client_ports)), 100)
        self.assertEqual(set(client_ports) - (logged[0] | logged[1]), set())

    def test_an_instance_killed_mid_run_is_taken_out_and_the_clients_keep_being_served(self):
        victim, survivor = self.doormen
        killed_at = []

        def kill_at_its_moment(elapsed):
            if elapsed >= EVENT_AT and not killed_at:
                os.kill(victim.pid, signal.SIGKILL)
                killed_at.append(time.monotonic())

        results = bt.clients_while(self.front, kill_at_its_moment, RUN_FOR)
        self.haproxy.wait_for_line(r'Server doormen/doorman1 is DOWN', timeout=5)
        before = [reply for start, replies in results if not killed_at or start < killed_at[0]
                  for reply in replies]
        after = [reply for start, replies in results
                 if killed_at and start >= killed_at[0] + KILL_WINDOW for reply in replies]
        self.assertEqual(bt.failures(before), [])
        self.assertGreater(len(after), 100)
        self.assertEqual(bt.failures(after), [])
        status, counters = survivor.stop()
        self.assertEqual(status, 0)
        self.assertGreaterEqual(counters['welcomed'], len(after))

    def test_an_instance_drained_with_sigterm_costs_no_client(self):
        stopping, survivor = self.doormen
        stopped = []

        def stop_at_its_moment(elapsed):
            if elapsed >= EVENT_AT and not stopped:
                os.kill(stopping.pid, signal.SIGTERM)
                stopped.append(True)

        results = bt.clients_while(self.front, stop_at_its_moment, RUN_FOR)
        self.assertEqual(stopping.process.wait(timeout=10), 0)
        replies = [reply for _start, batch in results for reply in batch]
        self.assertGreater(len(replies), 200)
        self.assertEqual(bt.failures(replies), [])
        self.haproxy.wait_for_line(r'Server doormen/doorman1 is DOWN', timeout=5)
        self.assertEqual(survivor.stop()[0], 0)


class BehindNginx(unittest.TestCase):
    def setUp(self):
        reason = bt.missing('nginx')
        if reason:
            self.skipTest(reason)
        if not os.path.exists('/usr/lib/nginx/modules/ngx_stream_module.so'):
            self.skipTest("nginx's stream module is not installed (make deps installs it)")
        self.doormen = bt.start_doormen(self)
        self.front = bt.front_address()
        run_dir = dt.temp_dir(self)
        config = bt.render(self, bt.example('nginx', 'nginx.conf'), {
            'FRONT_PORT': self.front.port,
            'DOORMAN1_PORT': self.doormen[0].address.port,
            'DOORMAN2_PORT': self.doormen[1].address.port,
            'RUN_DIR': run_dir})
        self.nginx = dt.start(self, ['nginx', '-p', run_dir, '-e', 'stderr', '-c', config,
                                     '-g', 'daemon off;'])
        self.readiness_ports = bt.wait_until_welcomed(self.nginx, self.front)

    def test_clients_are_welcomed_by_both_instances_under_their_own_names(self):
        client_ports = []
        replies = bt.run_clients(self.front, 300, batch=50, local_ports=client_ports)
        self.assertEqual(bt.failures(replies), [])
        logged = []
        for doorman in self.doormen:
            status, counters = doorman.stop()
            self.assertEqual(status, 0)
            self.assertGreater(counters['welcomed'], 0)
            logged.append(bt.welcomed_ports(doorman))
        for ports in logged:
            self.assertGreater(len(ports & set(client_ports)), 50)
        # nginx has no health check connections: every name logged is a client's.
        self.assertLessEqual(logged[0] | logged[1], set(client_ports) | set(self.readiness_ports))
        self.assertLessEqual(set(client_ports), logged[0] | logged[1])


if __name__ == '__main__':
    unittest.main()
