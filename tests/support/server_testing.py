"""Helpers for the doorman-server integration tests (tests/integration/test_server_*.py), on top
of doorman_testing: start the server and read the addresses it actually bound, talk the
tutorial's protocol with Python's socket module over every family and type, hold silent
clients open, watch a connection being closed, and read a process's CPU time from /proc.

Standard library only. Every socket made here has a timeout, every wait is bounded.
"""

import os
import re
import selectors
import signal
import socket
import time

import doorman_testing as dt

WELCOME = b'welcome to server!'
GO_OUT = b'please go out!'

# sysexits.h, as the server documents them.
EX_USAGE = 64
EX_UNAVAILABLE = 69
EX_OSERR = 71
EX_NOPERM = 77

# One `listening on ADDR` line per address bound, ADDR as bound (port 0 shows the real port).
LISTENING_RE = r'\binfo listening on (?P<address>\S+)$'
# The last line of a server stopped by a signal.
STOPPED_RE = (r'\binfo stopped: (?P<accepted>\d+) accepted, (?P<welcomed>\d+) welcomed, '
              r'(?P<rejected>\d+) rejected, (?P<timed_out>\d+) timed out, '
              r'(?P<refused>\d+) refused, (?P<errors>\d+) errors$')
# A log line: time, level, message.
LOG_LINE_RE = r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (debug|info|warning|error) \S'


HAVE_IPV6 = dt.HAVE_IPV6


class Address:
    """An address as the server prints it, and what Python's socket module needs to reach it."""

    def __init__(self, text):
        self.text = text
        if text.startswith('unix:@'):
            self.family, self.sockaddr = socket.AF_UNIX, '\0' + text[len('unix:@'):]
        elif text.startswith('unix:'):
            self.family, self.sockaddr = socket.AF_UNIX, text[len('unix:'):]
        elif text.startswith('['):
            host, port = re.fullmatch(r'\[(.+)\]:(\d+)', text).groups()
            self.family, self.sockaddr = socket.AF_INET6, (host, int(port))
        else:
            host, port = text.rsplit(':', 1)
            self.family, self.sockaddr = socket.AF_INET, (host, int(port))

    @property
    def port(self):
        return self.sockaddr[1]

    @property
    def host(self):
        return self.sockaddr[0]

    def __repr__(self):
        return f'Address({self.text!r})'


class Server:
    """A running doorman-server (a doorman_testing.Process) and the addresses it bound."""

    def __init__(self, process, addresses):
        self.process = process
        self.addresses = addresses

    @property
    def address(self):
        return self.addresses[0]

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        """SIGTERM; returns (exit status, counters of the `stopped:` line or None)."""
        status = self.process.stop()
        return status, stopped_counters(self.process)

    def stderr_lines(self):
        return self.process.lines('stderr')


class ClassScope:
    """Lets a server live for a whole TestCase class: pass `ClassScope(cls)` where a test is
    expected (in setUpClass); its stop() becomes a class cleanup."""

    def __init__(self, cls):
        self.addCleanup = cls.addClassCleanup


# The tutorial's backlog (5) holds 6 connections: a client that connects in a quick loop can
# fill it before the worker thread is even scheduled, and the next SYN is dropped and sent again
# a second later (TcpExtListenOverflows). Tests that are not about the backlog use a larger one.
TEST_BACKLOG = '128'


def engine_args(args):
    """--engine $DOORMAN_TEST_ENGINE unless `args` names an engine: CTest runs the server suites
    once as they are (epoll, the default) and once as integration_uring.* with io_uring."""
    engine = os.environ.get('DOORMAN_TEST_ENGINE')
    return ['--engine', engine] if engine and '--engine' not in args else []


def engine():
    """The engine the suite runs the server with: epoll unless DOORMAN_TEST_ENGINE says."""
    return os.environ.get('DOORMAN_TEST_ENGINE') or 'epoll'


def server_argv(*args, listen=('127.0.0.1:0',), threads=1, wrapper=()):
    """doorman-server's command line: --listen each address, --threads (None: the default),
    --backlog TEST_BACKLOG unless `args` has one, then `args`."""
    argv = [*wrapper, dt.binary('doorman-server')]
    for address in listen:
        argv += ['--listen', address]
    if threads is not None:
        argv += ['--threads', str(threads)]
    args = [str(arg) for arg in args]
    if '--backlog' not in args:
        argv += ['--backlog', TEST_BACKLOG]
    return argv + engine_args(args) + args


def start_server(test, *args, listen=('127.0.0.1:0',), threads=1, wrapper=(), cwd=None,
                 ready_timeout=10, lines=None, env=None):
    """Starts doorman-server (stopped in the test's cleanups) and waits for its `listening on`
    lines: one per --listen, or `lines` of them when an address resolves to several."""
    argv = server_argv(*args, listen=listen, threads=threads, wrapper=wrapper)
    process = dt.start(test, argv, cwd=cwd, env=env)
    expected = len(listen) if lines is None else lines
    addresses = [Address(process.wait_for_line(LISTENING_RE, timeout=ready_timeout)['address'])
                 for _ in range(expected)]
    return Server(process, addresses)


# --- Fault injection ------------------------------------------------------------------------

FAULT_LIBRARY = 'doorman-fault.so'  # tests/fault: preloaded, it makes system calls fail
# The errors a server must ride out without losing the client: the call is simply made again.
HARMLESS_FAULTS = ('EINTR', 'EAGAIN', 'short')
# A failed close has closed all the same (Linux), after the client had everything: harmless
# whatever the error.
HARMLESS_CALLS = ('close',)


class Faults:
    """The record of what doorman-fault injected into a server: `CALL ACTION PEER` lines."""

    def __init__(self, log_path):
        self.log_path = log_path

    def records(self):
        try:
            with open(self.log_path) as log:
                return [tuple(line.split()) for line in log if line.strip()]
        except FileNotFoundError:
            return []

    def count(self, call=None, action=None):
        return sum(1 for record in self.records()
                   if call in (None, record[0]) and action in (None, record[1]))

    def hit_ports(self):
        """The client ports (the server's peers) that met a fault no server can hide: an error
        other than HARMLESS_FAULTS on their own connection (a failed close is none)."""
        ports = set()
        for call, action, peer in self.records():
            if (action not in HARMLESS_FAULTS and call not in HARMLESS_CALLS
                    and peer not in ('-', 'unix')):
                ports.add(int(peer.rsplit(':', 1)[1]))
        return ports

    def ports_with(self, call, action):
        """The client ports whose connection took this fault (`recv`, `short`, say)."""
        return {int(peer.rsplit(':', 1)[1]) for record_call, record_action, peer in self.records()
                if (record_call, record_action) == (call, action) and peer not in ('-', 'unix')}


def start_server_with_faults(test, faults, *args, seed=1, **kwargs):
    """doorman-server with doorman-fault preloaded: `faults` as DOORMAN_FAULT (for instance
    'send:short:1.0,recv:EINTR:0.05'), a fixed seed so a failure can be replayed. Returns
    (Server, Faults)."""
    log_path = os.path.join(dt.temp_dir(test), 'faults.log')
    env = dict(os.environ)
    env.update(LD_PRELOAD=dt.binary(FAULT_LIBRARY), DOORMAN_FAULT=faults,
               DOORMAN_FAULT_SEED=str(seed), DOORMAN_FAULT_LOG=log_path)
    # A sanitizer build wants its runtime first in the library list; the shim comes before it.
    env['ASAN_OPTIONS'] = ':'.join(filter(None, [env.get('ASAN_OPTIONS'),
                                                 'verify_asan_link_order=0']))
    return start_server(test, *args, env=env, **kwargs), Faults(log_path)


def stopped_counters(process):
    for line in reversed(process.lines('stderr')):
        match = re.search(STOPPED_RE, line)
        if match:
            return {key: int(value) for key, value in match.groupdict().items()}
    return None


def run_server(*args, timeout=10, wrapper=(), env=None):
    """Runs doorman-server expecting it to exit by itself (a start-up failure):
    (returncode, stdout, stderr)."""
    args = [str(arg) for arg in args]
    return dt.run([*wrapper, dt.binary('doorman-server'), *engine_args(args), *args],
                  timeout=timeout, env=env)


# Logged at start by a server that runs as root without --user, as the tests do when run as root.
ROOT_WARNING = 'warning running as root: use --user to drop privileges'


# The start-up summary: version, pid, workers, type, engine, the connection limit and where it
# comes from, backlog, timeout.
STARTUP_RE = (r'\binfo doorman-server (?P<version>\S+), pid (?P<pid>\d+): (?P<workers>\d+) workers, '
              r'(?P<type>stream|dgram), (?P<engine>epoll|io_uring), at most (?P<limit>\d+) connections \((?P<source>[^)]*)\), '
              r'backlog (?P<backlog>\d+), timeout (?P<timeout>\S+)$')


def transcript(lines):
    """A server's stderr lines without those that depend on who runs them and where (the root
    warning, the start-up summary with its pid and limits), for tests of a whole transcript."""
    return [line for line in lines
            if not line.endswith(ROOT_WARNING) and not re.search(STARTUP_RE, line)]


# --- Clients -------------------------------------------------------------------------------

def connect(address, timeout=5):
    """A connected stream socket with a timeout."""
    sock = socket.socket(address.family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(address.sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


def recv_until_eof(sock, limit=1 << 20):
    """Everything the peer sends until it closes (bounded by the socket's timeout)."""
    chunks = []
    total = 0
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b''.join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise AssertionError(f'more than {limit} bytes from the server')


def stream_exchange(address, message, timeout=5):
    """The tutorial's client with Python's socket module: connect, send, read until EOF."""
    with connect(address, timeout) as sock:
        sock.sendall(message)
        return recv_until_eof(sock)


def datagram_socket(address, timeout=5):
    """A datagram socket that can get a reply: Unix datagram sockets are autobound to an
    abstract name (an unbound sender has no address to answer to)."""
    sock = socket.socket(address.family, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    if address.family == socket.AF_UNIX:
        sock.bind('')  # Linux autobind: a unique abstract name, no file to clean up
    return sock


def datagram_exchange(address, message, timeout=5):
    """One datagram to the server, its one reply datagram back: (reply, sender)."""
    with datagram_socket(address, timeout) as sock:
        sock.sendto(message, address.sockaddr)
        reply, sender = sock.recvfrom(65536)
        return reply, sender


def exchange(address, message, type='stream', timeout=5):
    if type == 'stream':
        return stream_exchange(address, message, timeout)
    return datagram_exchange(address, message, timeout)[0]


def open_silent(address, count, timeout=5):
    """`count` connected stream sockets that never send a byte."""
    sockets = []
    try:
        for _ in range(count):
            sockets.append(connect(address, timeout))
    except BaseException:
        close_all(sockets)
        raise
    return sockets


def burst_connect(address, count, timeout=5):
    """`count` stream connections started at once (non-blocking connects), returned once
    every handshake has ended (connected, or refused/closed by the server)."""
    sockets = []
    selector = selectors.DefaultSelector()
    try:
        for _ in range(count):
            sock = socket.socket(address.family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setblocking(False)
            sock.connect_ex(address.sockaddr)
            selector.register(sock, selectors.EVENT_WRITE)
        pending = len(sockets)
        deadline = time.monotonic() + timeout
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f'{pending} of {count} connects still pending after '
                                     f'{timeout} s')
            for key, _ in selector.select(remaining):
                selector.unregister(key.fileobj)
                pending -= 1
    except BaseException:
        close_all(sockets)
        raise
    finally:
        selector.close()
    return sockets


def closing_times(sockets, timeout):
    """Waits (bounded by `timeout`) until the peer has ended each of `sockets`, all at once on
    one selector, so each end is timed when it happens rather than when its turn to be looked
    at came. Returns [(ending, time.monotonic() of it)], ending as closed_by_peer's; a socket
    still open at the deadline fails the test."""
    endings = [None] * len(sockets)
    selector = selectors.DefaultSelector()
    try:
        for index, sock in enumerate(sockets):
            selector.register(sock, selectors.EVENT_READ, index)
        deadline = time.monotonic() + timeout
        pending = len(sockets)
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f'{pending} of {len(sockets)} connections still open after '
                                     f'{timeout} s')
            for key, _ in selector.select(remaining):
                now = time.monotonic()
                selector.unregister(key.fileobj)
                endings[key.data] = (closed_by_peer(key.fileobj, 0), now)
                pending -= 1
    finally:
        selector.close()
    return endings


def close_all(sockets):
    for sock in sockets:
        try:
            sock.close()
        except OSError:
            pass


def closed_by_peer(sock, timeout):
    """Waits up to `timeout` (0: only looks) for the peer to end the connection: 'eof', 'reset',
    or None (still open). Data instead of an end is an error: a silent client must be told
    nothing."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(1024)
    except (socket.timeout, BlockingIOError):
        return None
    except ConnectionResetError:
        return 'reset'
    if data:
        raise AssertionError(f'expected the connection closed without a reply, got {data!r}')
    return 'eof'


def set_linger_zero(sock):
    """close() will then send a reset instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')


def many_exchanges(address, messages, timeout=20, local_ports=None):
    """Runs one stream client per message, all at once, on one selector: connect, send, read
    until EOF. Returns the replies in order (an exception object for a failed client).
    `local_ports`, a list, receives each client's own port (the server's peer), in order."""
    selector = selectors.DefaultSelector()
    state = {}
    replies = [None] * len(messages)
    deadline = time.monotonic() + timeout
    try:
        for index, message in enumerate(messages):
            sock = socket.socket(address.family, socket.SOCK_STREAM)
            sock.setblocking(False)
            error = sock.connect_ex(address.sockaddr)
            if local_ports is not None:
                local_ports.append(sock.getsockname()[1] if address.family != socket.AF_UNIX
                                   else None)
            if error not in (0, 115):  # EINPROGRESS
                sock.close()
                replies[index] = OSError(error, os.strerror(error))
                continue
            state[sock] = [index, message, bytearray(), False]
            selector.register(sock, selectors.EVENT_WRITE)
        while state:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            for key, events in selector.select(min(remaining, 1)):
                sock = key.fileobj
                index, message, received, sent = state[sock]
                try:
                    if not sent:
                        error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        if error:
                            raise OSError(error, os.strerror(error))
                        sock.sendall(message)  # tiny: fits the empty send buffer at once
                        state[sock][3] = True
                        selector.modify(sock, selectors.EVENT_READ)
                        continue
                    chunk = sock.recv(65536)
                    if chunk:
                        received += chunk
                        continue
                    replies[index] = bytes(received)
                except OSError as error:
                    replies[index] = error
                selector.unregister(sock)
                sock.close()
                del state[sock]
        for sock, (index, *_rest) in state.items():
            replies[index] = TimeoutError(f'client {index}: no end of reply within {timeout} s')
    finally:
        for sock in list(state):
            selector.unregister(sock)
            sock.close()
        selector.close()
    return replies


# --- /proc ---------------------------------------------------------------------------------

def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds."""
    with open(f'/proc/{pid}/stat') as stat:
        fields = stat.read().rsplit(')', 1)[1].split()
    # After the command name: state is field 3, so utime (14) and stime (15) are 11 and 12.
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def cpu_share(pid, seconds=1.0):
    """The share of one core a process used over the next `seconds`."""
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


def open_descriptors(pid):
    return len(os.listdir(f'/proc/{pid}/fd'))


def holds_ring(pid):
    """Whether the process holds an io_uring instance (its worker has set its ring up)."""
    for fd in os.listdir(f'/proc/{pid}/fd'):
        try:
            if os.readlink(f'/proc/{pid}/fd/{fd}') == 'anon_inode:[io_uring]':
                return True
        except FileNotFoundError:
            continue
    return False


def tcp_ports_connected_to(port, host='127.0.0.1'):
    """The local ports of the open TCP connections to host:port, from the kernel's socket
    diagnostics (ss filters in the kernel: fast however many sockets the machine holds, where
    /proc/net/tcp takes seconds with tens of thousands of them)."""
    # close-wait too: the server may have closed its end already (a time out, say).
    status, output = dt.run(['ss', '-Htn', 'state', 'established', 'state', 'close-wait', 'dst',
                             f'{host}:{port}'], timeout=10)[:2]
    if status != 0:
        raise AssertionError(f'ss failed: {output}')
    return {int(line.split()[-2].rsplit(':', 1)[1]) for line in output.splitlines() if line.strip()}


def wait_until(predicate, timeout, interval=0.01, message='condition'):
    """Polls `predicate` until it returns a true value (returned) or `timeout` passes (fails).
    Only for states that have no readiness signal (another process's sockets, say)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f'{message}: not reached within {timeout} s')
        time.sleep(interval)


def died_of_signal(returncode):
    return returncode is not None and returncode < 0


def signal_name(returncode):
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return str(-returncode)
