"""A server on loopback for the bench scripts: started, its port read from its
`listening on ADDR:PORT` line (so it can bind port 0), kept from blocking on a full stderr pipe,
and stopped by its PID. Every wait is bounded."""

import contextlib
import re
import select
import signal
import socket
import subprocess
import threading
import time

READY_TIMEOUT = 10


def wait_for_port(server, timeout=READY_TIMEOUT):
    """The port from the server's `listening on HOST:PORT` line on stderr."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([server.stderr], [], [], deadline - time.monotonic())
        if not ready:
            break
        # stderr is unbuffered (see running()): a buffered reader could take two lines at once,
        # and select() would then wait for more while the second one sits in its buffer.
        line = server.stderr.readline().decode('utf-8', 'replace')
        if not line:
            break
        seen.append(line)
        match = re.search(r'listening on \S+:(\d+)$', line.strip())
        if match:
            return int(match.group(1))
    raise RuntimeError(f'{server.args} not ready; it said: ' + ''.join(seen))


@contextlib.contextmanager
def refused_port():
    """A loopback TCP port where every connect is refused, for as long as the block runs: bound
    and not listening. Kept bound, because a port merely closed again lies in the ephemeral
    range: thousands of connects to it can pick it as their own source port, and such a
    connect then succeeds to itself (TCP simultaneous open)."""
    with socket.socket() as holder:
        holder.bind(('127.0.0.1', 0))
        yield holder.getsockname()[1]


def stop(server):
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@contextlib.contextmanager
def running(argv):
    """Yields (process, port) for a server started with `argv`; stops it on exit."""
    server = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, bufsize=0)
    try:
        port = wait_for_port(server)
        # Whatever it logs from now on is read and dropped, so it never blocks on the pipe.
        threading.Thread(target=server.stderr.read, daemon=True).start()
        yield server, port
    finally:
        stop(server)
