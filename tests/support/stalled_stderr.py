"""A doorman-server whose stderr is a pipe that the test reads only when it chooses: the log
reader that stalls (a stuck log shipper, `doorman-server 2>&1 | less` left alone).

Standard library only. The server is stopped (by PID) in the test's cleanups; every read and
wait here is bounded.
"""

import os
import re
import select
import signal
import subprocess
import time

import server_testing as st


class StalledStderrServer:
    """Started with start(); stderr stays unread except through read_until() and read_all()."""

    def __init__(self, test, *args, threads=2):
        self.argv = st.server_argv(*args, threads=threads)
        self.read_end, write_end = os.pipe2(os.O_CLOEXEC)
        # Filling the pipe goes through a second open file description of its write end: the
        # server's stderr must stay blocking, as a real stderr is (O_NONBLOCK belongs to the
        # description, so setting it on the server's would hide the very stall under test).
        self.filler = os.open(f'/proc/self/fd/{write_end}', os.O_WRONLY | os.O_NONBLOCK |
                              os.O_CLOEXEC)
        try:
            self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=write_end,
                                          start_new_session=True)
        finally:
            os.close(write_end)
        test.addCleanup(self._cleanup)
        self.text = ''  # what was read so far
        self.address = st.Address(self.read_until(st.LISTENING_RE)['address'])

    @property
    def pid(self):
        return self.popen.pid

    def read_until(self, regex, timeout=10):
        """Reads stderr until a line matches `regex` (re.search); returns the match."""
        pattern = re.compile(regex, re.MULTILINE)
        deadline = time.monotonic() + timeout
        searched = 0
        while True:
            match = pattern.search(self.text, searched)
            if match:
                return match
            searched = max(0, self.text.rfind('\n') + 1)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f'waiting for /{regex}/ on stderr of {self.argv}: not '
                                     f'within {timeout} s\n--- stderr (end):\n'
                                     f'{self.text[-4000:]}')
            chunk = self._read(remaining)
            if chunk is None:
                raise AssertionError(f'waiting for /{regex}/: the server closed its stderr\n'
                                     f'--- stderr (end):\n{self.text[-4000:]}')

    def fill_pipe(self):
        """Fills the pipe: from now on the server cannot write a byte until someone reads.
        Returns how many bytes it took."""
        filled = 0
        block = b'#' * 4096
        while True:
            try:
                filled += os.write(self.filler, block)
            except BlockingIOError:
                break
        # Only whole 4 KiB blocks fit in a pipe's pages: top up the last, partly used one.
        while True:
            try:
                filled += os.write(self.filler, b'#')
            except BlockingIOError:
                return filled

    def terminate(self, timeout):
        """SIGTERM; returns (exit status, seconds it took). Fails if still running after
        `timeout` (the cleanup kills it)."""
        started = time.monotonic()
        os.kill(self.popen.pid, signal.SIGTERM)
        try:
            status = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f'doorman-server still running {timeout} s after SIGTERM, '
                                 'its stderr unread') from None
        return status, time.monotonic() - started

    def read_all(self, timeout=10):
        """Reads stderr to its end (the server must have exited): everything read so far."""
        os.close(self.filler)
        self.filler = None
        deadline = time.monotonic() + timeout
        while self._read(max(0.0, deadline - time.monotonic())) is not None:
            if time.monotonic() > deadline:
                raise AssertionError('stderr still open')
        return self.text

    def _read(self, timeout):
        """One read, waiting at most `timeout`: the text read ('' if none), None at the end."""
        ready, _, _ = select.select([self.read_end], [], [], timeout)
        if not ready:
            return ''
        chunk = os.read(self.read_end, 65536)
        if not chunk:
            return None
        text = chunk.decode('utf-8', 'surrogateescape')
        self.text += text
        return text

    def _cleanup(self):
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)
        if self.filler is not None:
            os.close(self.filler)
        os.close(self.read_end)
