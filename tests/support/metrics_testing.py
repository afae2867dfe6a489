"""Helpers for the --metrics tests (tests/integration/test_server_metrics.py): a server started
with --metrics and the address it logged, a bounded raw HTTP/1.1 client over any socket family
(Unix ones too, which urllib cannot reach), the Prometheus parser and a headless Chromium.

Every socket has a timeout, every wait is bounded.
"""

import shutil
import socket
import sys

import server_testing as st

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # a Python of its own (pyenv) does not see Debian's python3-* packages
    sys.path.append('/usr/lib/python3/dist-packages')
    from prometheus_client.parser import text_string_to_metric_families  # noqa: F401

METRICS_RE = r'\binfo metrics on (?P<address>\S+)$'
PROMETHEUS_TYPE = 'text/plain; version=0.0.4; charset=utf-8'


def start_metrics_server(test, *args, metrics='127.0.0.1:0', **kwargs):
    """A doorman-server with --metrics: (Server, the metrics Address as logged)."""
    server = st.start_server(test, '--metrics', metrics, *args, **kwargs)
    logged = server.process.wait_for_line(METRICS_RE, timeout=10)['address']
    return server, st.Address(logged)


class Response:
    def __init__(self, raw):
        head, _, self.body = raw.partition(b'\r\n\r\n')
        lines = head.decode('latin-1').split('\r\n')
        self.status_line = lines[0]
        self.status = int(lines[0].split()[1]) if len(lines[0].split()) > 1 else 0
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(':')
            self.headers[name.strip().lower()] = value.strip()

    @property
    def text(self):
        return self.body.decode('utf-8')

    def __repr__(self):
        return f'Response({self.status_line!r}, {len(self.body)} bytes)'


def connect(address, timeout=5):
    return st.connect(address, timeout=timeout)


def read_response(sock):
    return Response(st.recv_until_eof(sock, limit=1 << 22))


def request(address, raw, timeout=5):
    """Sends `raw` bytes, reads until the server closes: a Response."""
    with connect(address, timeout) as sock:
        sock.sendall(raw)
        return read_response(sock)


def get(address, path, method='GET', timeout=5):
    return request(address, f'{method} {path} HTTP/1.1\r\nHost: doorman\r\n'
                            f'User-Agent: doorman-tests\r\n\r\n'.encode(), timeout)


def families(text):
    """{name: Metric} of a Prometheus text exposition, through the real parser."""
    return {family.name: family for family in text_string_to_metric_families(text)}


def sample(parsed, family, name=None, **labels):
    """The value of the one sample of `family` named `name` (default: the family's name) with
    exactly `labels`."""
    name = name or family
    found = [s.value for s in parsed[family].samples if s.name == name and s.labels == labels]
    if len(found) != 1:
        raise AssertionError(f'{name}{labels}: {len(found)} samples in {parsed[family].samples}')
    return found[0]


def chromium():
    """The path of a headless Chromium, or None."""
    for name in ('chromium-headless-shell', 'chromium', 'chromium-browser'):
        path = shutil.which(name)
        if path:
            return path
    return None
