"""Helpers for the tests of examples/haproxy and examples/nginx (B12): fill in an example's
`${NAME}` placeholders into a configuration file of the test's own, start the balancer in the
foreground on it, wait until a client is welcomed through it, and read which client ports each
doorman-server logged.

Standard library only. The balancers run as our own children (stopped by PID in the test's
cleanups); a service the package may have started is never looked at.
"""

import os
import re
import shutil
import time

import doorman_testing as dt
import server_testing as st

REPOSITORY = os.path.abspath(os.path.join(dt.SUPPORT_DIR, '..', '..'))
PLACEHOLDER_RE = re.compile(r'\$\{(\w+)\}')
# A connection a server judged, under the name the PROXY header gave it (--log-level debug).
WELCOMED_RE = re.compile(r' debug 127\.0\.0\.1:(\d+) welcomed$')


def example(*parts):
    return os.path.join(REPOSITORY, 'examples', *parts)


def missing(program):
    """A skip reason when `program` is not installed (scripts/deps.sh installs it), else None."""
    if shutil.which(program) is None:
        return f'{program} is not installed (make deps installs it)'
    return None


def render(test, example_path, values):
    """The example file with every `${NAME}` replaced by values[NAME], written to a temp dir of
    the test: the example itself is what is tested. A placeholder without a value fails."""
    with open(example_path) as source:
        text = source.read()
    unknown = sorted(set(PLACEHOLDER_RE.findall(text)) - set(values))
    if unknown:
        raise AssertionError(f'{example_path}: no value for {", ".join(unknown)}')
    text = PLACEHOLDER_RE.sub(lambda match: str(values[match.group(1)]), text)
    path = os.path.join(values.get('RUN_DIR') or dt.temp_dir(test),
                        os.path.basename(example_path))
    with open(path, 'w') as rendered:
        rendered.write(text)
    return path


def start_doormen(test, count=2, *args):
    """`count` doorman-servers behind a balancer: --proxy-protocol, debug lines naming each
    client, port 0."""
    return [st.start_server(test, '--proxy-protocol', '--log-level', 'debug', *args)
            for _ in range(count)]


def wait_until_welcomed(balancer, address, timeout=10):
    """Readiness of a balancer, which prints no line when it is: a client welcomed through it.
    Retries a refused or cut connection until `timeout`. Returns the local ports of the
    clients it tried (the servers may have logged them)."""
    deadline = time.monotonic() + timeout
    tried = []
    while True:
        reply = st.many_exchanges(address, [b'1'], timeout=2, local_ports=tried)[0]
        if reply == st.WELCOME:
            return tried
        failure = reply if isinstance(reply, Exception) else f'replied {reply!r}'
        if not balancer.running():
            balancer.wait()
            raise AssertionError(f'{balancer.argv} exited ({balancer.returncode}):\n'
                                 f'{balancer.output()[1]}')
        if time.monotonic() > deadline:
            raise AssertionError(f'no client welcomed through {address.text} within {timeout} s: '
                                 f'{failure}')
        time.sleep(0.05)  # polling: the balancer has no readiness signal


def front_address():
    return st.Address(f'127.0.0.1:{dt.free_port()}')


def welcomed_ports(server):
    """The client ports a (stopped or running) server logged as welcomed."""
    ports = set()
    for line in server.stderr_lines():
        match = WELCOMED_RE.search(line)
        if match:
            ports.add(int(match.group(1)))
    return ports


def run_clients(address, count, batch=50, local_ports=None, timeout=20):
    """`count` tutorial clients sending `1`, `batch` at a time: their replies (or errors)."""
    replies = []
    while len(replies) < count:
        size = min(batch, count - len(replies))
        replies += st.many_exchanges(address, [b'1'] * size, timeout=timeout,
                                     local_ports=local_ports)
    return replies


def clients_while(address, during, seconds, batch=20):
    """Batches of clients back to back for `seconds`; `during(elapsed)` is called between
    batches (to kill or stop a server at its moment). Returns [(start, replies)] with start
    in time.monotonic()."""
    results = []
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        during(time.monotonic() - started)
        results.append((time.monotonic(), st.many_exchanges(address, [b'1'] * batch,
                                                            timeout=15)))
    return results


def failures(replies):
    return [reply for reply in replies if reply != st.WELCOME]

