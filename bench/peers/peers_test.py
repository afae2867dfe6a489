#!/usr/bin/env python3
"""Smoke test of the reference servers (bench/peers): each answers the password with a welcome,
anything else with a go-out, and closes a silent client after its --timeout; the datagram floor
answers datagrams. A failure in one peer does not hide the others'.

usage: peers_test.py FLOOR UDP_FLOOR ASIO_SERVER ASYNCIO_SERVER_PY

Every peer binds port 0 and is stopped by its PID; every wait is bounded.
"""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import local_server  # noqa: E402  (bench/local_server.py)
from failures import report  # noqa: E402  (bench/failures.py)

TIMEOUT = 0.5  # the peers' --timeout in this test
WAIT = 5       # the longest any single step may take

WELCOME = b'welcome to server!'
GO_OUT = b'please go out!'


def exchange(port, request):
    """The reply to `request`, read until the server closes."""
    with socket.create_connection(('127.0.0.1', port), timeout=WAIT) as client:
        client.sendall(request)
        reply = b''
        while chunk := client.recv(1024):
            reply += chunk
        return reply


def silent_close_after(port):
    """Seconds until the server closes a client that never speaks."""
    with socket.create_connection(('127.0.0.1', port), timeout=WAIT) as client:
        start = time.monotonic()
        try:
            data = client.recv(1024)
        except ConnectionResetError:
            data = b''
        if data:
            raise AssertionError(f'a silent client was sent {data!r}')
        return time.monotonic() - start


def check_stream(name, argv, failures, silent=True):
    try:
        with local_server.running([*argv, '--timeout', str(TIMEOUT), '0']) as (_, port):
            for request, expected in ((b'1', WELCOME), (b'2', GO_OUT), (b'11', GO_OUT)):
                reply = exchange(port, request)
                if reply != expected:
                    failures.append(f'{name}: {request!r} got {reply!r}, expected {expected!r}')
            if silent:
                waited = silent_close_after(port)
                if not TIMEOUT * 0.8 <= waited <= TIMEOUT + 2:
                    failures.append(f'{name}: silent client closed after {waited:.2f}s, '
                                    f'expected about {TIMEOUT}s')
    except (OSError, RuntimeError, AssertionError) as error:
        failures.append(f'{name}: {error}')


def check_datagram(name, argv, failures):
    try:
        with local_server.running([*argv, '0']) as (_, port):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                client.settimeout(WAIT)
                for request, expected in ((b'1', WELCOME), (b'x', GO_OUT)):
                    client.sendto(request, ('127.0.0.1', port))
                    reply = client.recv(1024)
                    if reply != expected:
                        failures.append(f'{name}: {request!r} got {reply!r}')
    except (OSError, RuntimeError) as error:
        failures.append(f'{name}: {error}')


def main():
    floor, udp_floor, asio_server, asyncio_server = sys.argv[1:5]
    failures = []
    check_stream('floor', [floor], failures)
    # Deferred, a silent client reaches the floor only when the kernel stops deferring: the
    # protocol is what is checked here.
    check_stream('floor --defer', [floor, '--defer'], failures, silent=False)
    check_stream('asio_server', [asio_server], failures)
    check_stream('asio_server --threads 2', [asio_server, '--threads', '2'], failures)
    check_stream('asyncio_server.py', [sys.executable, asyncio_server], failures)
    check_datagram('udp_floor', [udp_floor], failures)
    return report(failures)


if __name__ == '__main__':
    sys.exit(main())
