"""Helpers for doorman's integration tests: find the binaries, run short commands, start
long-running processes and wait for their readiness line, stop them by PID, hand out free
ports and Unix socket paths.

Standard library only. Test modules add this directory to sys.path:

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'support'))
    import doorman_testing as dt

Every wait here is bounded, and every process started through `start()` is stopped by the
test's cleanups, so a failing test never leaves a server behind or hangs the suite.
"""

import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

SUPPORT_DIR = os.path.dirname(os.path.abspath(__file__))

# Every readiness line of our programs and of the tutorial ports: `listening on HOST:PORT`.
LISTENING_RE = r'listening on (?P<host>\S+):(?P<port>\d+)$'

# The most bytes of a Unix socket name: sun_path is 108 bytes, and a path needs its NUL.
UNIX_PATH_MAX = 107


def build_dir():
    """The CMake build directory: $DOORMAN_BUILD_DIR, else ../../build from this file."""
    configured = os.environ.get('DOORMAN_BUILD_DIR')
    if configured:
        return os.path.abspath(configured)
    return os.path.abspath(os.path.join(SUPPORT_DIR, '..', '..', 'build'))


def binary(name):
    """The path of a built program; a missing one is a clear error, not a confusing ENOENT."""
    path = os.path.join(build_dir(), name)
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f'{path} is not built (run `make build`, or set DOORMAN_BUILD_DIR)')
    return path


def load_generator(test):
    """doorman-bench from the build under test, or from the plain build when this one (a
    sanitizer build, which leaves the bench out) has none: the load need not be instrumented."""
    try:
        return binary('doorman-bench')
    except FileNotFoundError:
        plain = os.path.join(SUPPORT_DIR, '..', '..', 'build', 'doorman-bench')
        if not os.access(plain, os.X_OK):
            test.skipTest('doorman-bench is not built here (DOORMAN_BUILD_BENCH=OFF)')
        return plain


def support_script(name):
    """A Python script in tests/support, as an argv prefix run by this same interpreter."""
    return [sys.executable, os.path.join(SUPPORT_DIR, name)]


def _decode(data):
    # surrogateescape: a test comparing text never fails on a decoding error, and stray bytes
    # still show up in the failure message.
    return data.decode('utf-8', 'surrogateescape')


def run(argv, timeout=10, input=None, env=None):
    """Runs a short-lived command to completion: (returncode, stdout, stderr) as text.

    On timeout the command is killed (subprocess.run does it) and TimeoutExpired propagates,
    which fails the test with the command line in the message.
    """
    completed = subprocess.run(argv, input=input, capture_output=True, timeout=timeout, env=env,
                               stdin=None if input is not None else subprocess.DEVNULL)
    return completed.returncode, _decode(completed.stdout), _decode(completed.stderr)


# Processes not yet stopped; atexit stops them if the run is interrupted (Ctrl-C skips the
# unittest cleanups of the test that was running).
_live = set()
_live_lock = threading.Lock()


class _Stream:
    """One output pipe of a child, drained by a thread so the child never blocks on a full pipe."""

    def __init__(self, pipe, condition):
        self.data = bytearray()
        self.closed = False
        self.cursor = 0  # lines before it were consumed by wait_for_line
        self._pipe = pipe
        self._condition = condition
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self):
        fd = self._pipe.fileno()
        try:
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                with self._condition:
                    self.data += chunk
                    self._condition.notify_all()
        finally:
            with self._condition:
                self.closed = True
                self._condition.notify_all()

    def lines(self):
        """Complete lines so far; the last, unterminated one too once the pipe is closed."""
        text = _decode(bytes(self.data))
        lines = text.split('\n')
        last = lines.pop()
        if self.closed and last:
            lines.append(last)
        return lines


class Process:
    """A long-running child process (a server, a listener) with its output captured.

    stdout and stderr are pipes drained by threads. The child runs in its own process group
    (its PID is the group's id), so stop() also reaches what it forked — socat's SYSTEM shell,
    for instance — and nothing outlives the test.

        with Process([...]) as server:
            match = server.wait_for_line(LISTENING_RE)
    """

    def __init__(self, argv, env=None, stdin=None, cwd=None, pass_fds=()):
        """stdin: None (the null device), bytes (fed to the child, then end of file).
        pass_fds: descriptors the child inherits (as subprocess.Popen's)."""
        self.argv = [str(arg) for arg in argv]
        self.pass_fds = tuple(pass_fds)
        self.env = env
        self.cwd = cwd
        self.stdin_data = stdin
        self.popen = None
        self.returncode = None
        self._condition = threading.Condition()
        self._streams = {}

    @property
    def pid(self):
        return self.popen.pid

    def start(self):
        stdin = subprocess.DEVNULL
        stdin_file = None
        if self.stdin_data is not None:
            # A temporary file rather than a pipe: the child reads it at its own pace and sees
            # end of file after it, and we never block writing to it.
            stdin_file = tempfile.TemporaryFile()
            stdin_file.write(self.stdin_data)
            stdin_file.seek(0)
            stdin = stdin_file
        try:
            self.popen = subprocess.Popen(self.argv, stdin=stdin, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, env=self.env, cwd=self.cwd,
                                          start_new_session=True, pass_fds=self.pass_fds)
        finally:
            if stdin_file is not None:
                stdin_file.close()
        with _live_lock:
            _live.add(self)
        self._streams = {
            'stdout': _Stream(self.popen.stdout, self._condition),
            'stderr': _Stream(self.popen.stderr, self._condition),
        }
        return self

    def running(self):
        return self.popen is not None and self.popen.poll() is None

    def wait_for_line(self, regex, stream='stderr', timeout=5):
        """Waits for a line of `stream` matching `regex` (re.search) and returns the match.

        Lines are consumed: the next call looks only after the matched line, so waiting twice
        for `time out` waits for two of them. Fails at once if the stream closes (the process
        exited) without the line, and after `timeout` seconds otherwise, showing the output.
        """
        pattern = re.compile(regex)
        captured = self._streams[stream]
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                lines = captured.lines()
                for index in range(captured.cursor, len(lines)):
                    match = pattern.search(lines[index])
                    if match:
                        captured.cursor = index + 1
                        return match
                if captured.closed:
                    reason = 'closed its ' + stream
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    reason = f'did not print it within {timeout} s'
                    break
                self._condition.wait(remaining)
        stdout, stderr = self.output()
        raise AssertionError(f'waiting for /{regex}/ on {stream}: {self.argv} {reason}\n'
                             f'--- stdout:\n{stdout}--- stderr:\n{stderr}')

    def lines(self, stream='stdout'):
        """Every line the stream carried so far (consumed or not)."""
        with self._condition:
            return self._streams[stream].lines()

    def output(self):
        """(stdout, stderr) as text, so far; complete once the process was stopped or waited."""
        with self._condition:
            return tuple(_decode(bytes(self._streams[name].data)) for name in ('stdout', 'stderr'))

    def output_bytes(self, stream='stdout'):
        with self._condition:
            return bytes(self._streams[stream].data)

    def wait(self, timeout=5):
        """Waits for the process to exit by itself and returns its status; on timeout it is
        stopped and the test fails."""
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            stdout, stderr = self.output()
            raise AssertionError(f'{self.argv} still running after {timeout} s\n'
                                 f'--- stdout:\n{stdout}--- stderr:\n{stderr}') from None
        return self._reap()

    def stop(self, grace=3):
        """SIGTERM, then SIGKILL after `grace` seconds; always reaps. Returns the exit status
        (negative: the signal that ended it). Safe to call more than once."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.popen.wait(grace)
        return self._reap()

    def _reap(self):
        self.returncode = self.popen.wait(0)
        # The leader is gone; anything it forked into its group (and that still holds our pipes)
        # is killed too. The group id stays reserved while any member lives, so this reaches
        # only our children's children.
        self._signal_group(signal.SIGKILL)
        for captured in self._streams.values():
            captured.thread.join(2)
        # A pipe is closed only once its reader is done: closing it under a blocked os.read
        # would let the reader read whatever file reuses the descriptor number.
        for name, pipe in (('stdout', self.popen.stdout), ('stderr', self.popen.stderr)):
            if not self._streams[name].thread.is_alive():
                pipe.close()
        with _live_lock:
            _live.discard(self)
        return self.returncode

    def _signal_group(self, signum):
        try:
            os.killpg(self.popen.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def start(test, argv, **kwargs):
    """Starts a Process and registers its stop() as a cleanup of `test`."""
    process = Process(argv, **kwargs)
    process.start()
    test.addCleanup(process.stop)
    return process


@atexit.register
def _stop_leftovers():
    with _live_lock:
        leftovers = list(_live)
    for process in leftovers:
        process.stop(grace=1)


def listening_port(match):
    """The port of a `listening on HOST:PORT` match (LISTENING_RE, or any regex with a `port`
    group; else its last group)."""
    try:
        return int(match.group('port'))
    except IndexError:
        return int(match.group(match.lastindex))


def free_port(family=socket.AF_INET, type=socket.SOCK_STREAM, host=None):
    """A port nobody listens on right now (the kernel's choice for port 0, released).

    Only for tests that need a *closed* port; a server under test binds port 0 itself and
    reports the port, which has no race.
    """
    host = host or ('::1' if family == socket.AF_INET6 else '127.0.0.1')
    with socket.socket(family, type) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def sanitized():
    """Whether the build under test is a sanitizer build (DOORMAN_SANITIZE): slower to start and
    to run, and its runtime reserves terabytes of address space."""
    try:
        with open(os.path.join(build_dir(), 'CMakeCache.txt')) as cache:
            return any(re.fullmatch(r'DOORMAN_SANITIZE:STRING=(?!OFF\b)\S+', line.strip())
                       for line in cache)
    except FileNotFoundError:
        return False


def temp_dir(test):
    """A fresh directory under the system's temp dir, removed after the test. Kept short
    (`/tmp/doorman-XXXXXXXX`) so Unix socket paths inside stay far below UNIX_PATH_MAX."""
    parent = tempfile.gettempdir()
    if len(parent) > 40:
        parent = '/tmp'
    path = tempfile.mkdtemp(prefix='doorman-', dir=parent)
    test.addCleanup(shutil.rmtree, path, True)
    return path


def free_unix_path(test, name='s.sock'):
    """A Unix socket path that does not exist yet, in a temp dir removed after the test."""
    return os.path.join(temp_dir(test), name)


def unique_abstract_name(prefix='doorman-test'):
    """A Linux abstract socket name (without the leading NUL) that no other test uses."""
    return f'{prefix}-{os.getpid()}-{uuid.uuid4().hex[:12]}'


def ipv6_loopback_available():
    """Whether [::1] can be bound here (some containers have no IPv6 at all)."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(('::1', 0))
        return True
    except OSError:
        return False


HAVE_IPV6 = ipv6_loopback_available()
