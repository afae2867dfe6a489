"""The descriptor budget (B6, docs/design.md §5) with a --listen name that resolves to several
addresses: each address gets a listening socket per worker, and those sockets count against the
descriptor limit. The connection limit the server announces leaves a descriptor for every one
of them, so a burst up to that limit is served without running out of descriptors, and
--max-connections raises the limit far enough for all of them.

Each test prints its figures on stderr (ctest -V shows them).
"""

import math
import os
import re
import socket
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402
import server_testing as st  # noqa: E402

NAME = 'doorman-several'
# Loopback addresses all (127.0.0.0/8 is the loopback interface's): many sockets per worker.
SEVERAL = [f'127.0.0.{host}' for host in range(1, 17)]
# What the server counts besides connections and listening sockets (descriptor_budget.cpp):
# stdio and a margin, then per worker its epoll, eventfd, reserve and a connection it refuses.
MARGIN = 8
PER_WORKER = 4
# How much more than that the limit is raised for --max-connections: headroom, not counted.
RAISE_HEADROOM = 64 - MARGIN


def figures(test, text):
    print(f'\n{test.id()}: {text}', file=sys.stderr, flush=True)


def name_with_several_addresses(test):
    """(name, wrapper, count): a host name that resolves to `count` loopback addresses when the
    server runs under `wrapper`. A private /etc/hosts in a mount namespace of the server's own
    gives NAME with the 16 addresses of SEVERAL; where no namespace can be made (a container
    without the capability), 'localhost' if it has 127.0.0.1 and ::1. Else the test is skipped."""
    hosts = os.path.join(dt.temp_dir(test), 'hosts')
    with open(hosts, 'w') as file:
        file.write(''.join(f'{address} {NAME}\n' for address in SEVERAL))
    mount = ['sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', hosts]
    attempts = [['unshare', '--mount', *mount], ['unshare', '--mount', '--map-root-user', *mount]]
    for wrapper in attempts if os.geteuid() == 0 else attempts[1:]:
        try:
            status, output, _ = dt.run([*wrapper, 'getent', 'ahostsv4', NAME])
        except FileNotFoundError:
            break
        if status == 0 and {line.split()[0] for line in output.splitlines()} == set(SEVERAL):
            return NAME, wrapper, len(SEVERAL)
    if st.HAVE_IPV6:
        local = {info[4][0] for info in socket.getaddrinfo('localhost', 0, 0, socket.SOCK_STREAM,
                                                             0, socket.AI_PASSIVE)}
        if len(local) > 1:
            return 'localhost', [], len(local)
    test.skipTest('no host name with several addresses: no mount namespace can be made here, '
                  'and localhost has one address')


def startup_summary(server):
    return next(match for line in server.stderr_lines()
                if (match := re.search(st.STARTUP_RE, line)))


@unittest.skipIf(st.engine() == 'io_uring',
                 'the budget is the same with either engine; the epoll run covers it')
class ListeningSocketsInTheBudget(unittest.TestCase):
    def test_a_burst_up_to_the_announced_limit_is_served_without_running_out(self):
        limit, threads = 256, 4
        name, wrapper, count = name_with_several_addresses(self)
        server = st.start_server(self, '--timeout', '60s', listen=(f'{name}:0',),
                                 threads=threads, lines=count,
                                 wrapper=('prlimit', f'--nofile={limit}:{limit}', '--', *wrapper))
        summary = startup_summary(server)
        sockets = count * threads
        expected = limit - (MARGIN + sockets + PER_WORKER * threads)
        figures(self, f'{name} resolves to {count} addresses, {threads} workers: {sockets} '
                      f'listening sockets; at most {summary["limit"]} connections announced '
                      f'({summary["source"]}), {expected} expected')
        self.assertEqual((int(summary['limit']), summary['source']),
                         (expected, f'the descriptor limit {limit}'))

        baseline = st.open_descriptors(server.pid)
        held = []
        self.addCleanup(st.close_all, held)
        for index in range(expected):
            held += st.open_silent(server.addresses[index % count], 1)
        st.wait_until(lambda: st.open_descriptors(server.pid) >= baseline + expected,
                      timeout=10, message=f'{expected} connections accepted')
        # Over the limit: each refused, with a descriptor the budget kept for it.
        over = []
        self.addCleanup(st.close_all, over)
        for index in range(2 * threads):
            over += st.open_silent(server.addresses[index % count], 1)
        endings = [st.closed_by_peer(sock, timeout=10) for sock in over]
        for sock in held:
            sock.sendall(b'1')
        replies = [st.recv_until_eof(sock) for sock in held]
        status, counters = server.stop()
        welcomed = sum(1 for reply in replies if reply == st.WELCOME)
        out_of_descriptors = [line for line in server.stderr_lines()
                              if 'out of file descriptors' in line]
        figures(self, f'{welcomed} of {expected} held connections welcomed, {len(over)} over '
                      f'the limit closed ({endings.count(None)} not); counters {counters}')
        self.assertEqual(out_of_descriptors, [])
        self.assertEqual(welcomed, expected)
        self.assertNotIn(None, endings)
        self.assertEqual(status, 0)
        self.assertEqual((counters['accepted'], counters['refused'], counters['errors']),
                         (expected, len(over), 0), counters)

    def test_max_connections_raises_the_limit_for_every_listening_socket(self):
        name, wrapper, count = name_with_several_addresses(self)
        # Enough workers that the sockets of the extra addresses outgrow the headroom.
        threads = max(2, math.ceil((RAISE_HEADROOM + 1) / (count - 1)))
        sockets = count * threads
        wanted = 1000
        needed = wanted + MARGIN + sockets + PER_WORKER * threads
        # The hard limit is below what --max-connections needs: the server raises it if it may
        # (CAP_SYS_RESOURCE), to what it counted it needs, else it says what it counted.
        server = st.start_server(self, '--max-connections', wanted, listen=(f'{name}:0',),
                                 threads=threads, lines=count,
                                 wrapper=('prlimit', f'--nofile=64:{wanted}', '--', *wrapper))
        summary = startup_summary(server)
        with open(f'/proc/{server.pid}/limits') as limits:
            soft, hard = (int(value) for value in next(
                row for row in limits if row.startswith('Max open files')).split()[3:5])
        short = [match for line in server.stderr_lines()
                 if (match := re.search(r'\bwarning the descriptor limit is \d+, short of the '
                                        rf'(\d+) that --max-connections {wanted} needs', line))]
        figures(self, f'{name} resolves to {count} addresses, {threads} workers: {sockets} '
                      f'listening sockets, {needed} descriptors needed at least; the limit '
                      f'raised from 64:{wanted} to {soft}:{hard}; at most {summary["limit"]} '
                      f'connections ({summary["source"]}); {[m.group(0) for m in short]}')
        if hard > wanted:  # it may raise the hard limit: as far as every connection needs
            self.assertGreaterEqual(soft, needed)
            self.assertEqual((int(summary['limit']), summary['source']),
                             (wanted, '--max-connections'), server.stderr_lines())
        else:  # it may not: what it asked for is said, and it counts every socket
            self.assertEqual(len(short), 1, server.stderr_lines())
            self.assertGreaterEqual(int(short[0].group(1)), needed)


if __name__ == '__main__':
    unittest.main()
