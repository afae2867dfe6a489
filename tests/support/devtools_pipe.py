"""A headless Chromium driven through the DevTools protocol over a pipe
(`--remote-debugging-pipe`: the browser reads commands on its descriptor 3 and writes replies
and events on its descriptor 4, each message JSON ended by a NUL byte). Standard library only:
no WebSocket, no port to open.

Unlike `--screenshot` or `--dump-dom` with a virtual time budget, the page runs in real time
here, so its timers (the status page's refresh every second) run as often as they would for a
person watching, and the test decides when to look.

    browser = Browser(test, chromium_path, url, width=1200, height=720)
    browser.wait_for('document.readyState === "complete"', timeout=10)
    png = browser.screenshot()

The browser runs as a doorman_testing.Process (its own process group, stopped in the test's
cleanups); every read has a deadline.
"""

import base64
import json
import os
import select
import subprocess
import sys
import time

import doorman_testing as dt


# Puts the pipe ends given as argv[1] and argv[2] at descriptors 3 and 4, where Chromium looks
# for them, then becomes argv[3:]. Through descriptors 10 and up first, so that neither end can
# be overwritten by the other's move.
_AT_3_AND_4 = """
import fcntl, os, sys
ends = [fcntl.fcntl(int(fd), fcntl.F_DUPFD, 10) for fd in sys.argv[1:3]]
for target, end in zip((3, 4), ends):
    os.dup2(end, target)
for fd in {*map(int, sys.argv[1:3]), *ends} - {3, 4}:
    os.close(fd)
os.execv(sys.argv[3], sys.argv[3:])
"""


class DevToolsError(AssertionError):
    pass


class Browser:
    def __init__(self, test, chromium, url, width=1200, height=720):
        profile = os.path.join(dt.temp_dir(test), 'chromium-profile')
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()
        argv = [sys.executable, '-c', _AT_3_AND_4, str(to_browser_read), str(from_browser_write),
                chromium, '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
                '--disable-extensions', '--disable-background-networking', '--disable-sync',
                '--disable-dev-shm-usage', '--hide-scrollbars', '--remote-debugging-pipe',
                f'--window-size={width},{height}', '--user-data-dir=' + profile, url]
        try:
            self.process = dt.start(test, argv, pass_fds=(to_browser_read, from_browser_write))
        finally:
            os.close(to_browser_read)
            os.close(from_browser_write)
        test.addCleanup(self.close)
        self._buffer = b''
        self._next_id = 0
        self._session = None
        self._attach()

    def close(self):
        """Asks the browser to close, then stops its process group; safe to call twice."""
        if self._to_browser is None:
            return
        try:
            self._send('Browser.close', {}, session=False)
            self.process.popen.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass  # gone already, or stopped below
        os.close(self._to_browser)
        self._to_browser = None
        self.process.stop()
        os.close(self._from_browser)

    def call(self, method, params=None, timeout=10, session=True):
        """Sends a command (to the page unless `session` is False) and returns its result;
        a protocol error or no reply within `timeout` seconds fails the test."""
        sent = self._send(method, params or {}, session)
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline, method)
            if message.get('id') != sent:
                continue  # an event, or the reply to a command given up on
            if 'error' in message:
                raise DevToolsError(f'{method}: {message["error"]}')
            return message['result']

    def evaluate(self, expression, timeout=10):
        """The value of a JavaScript expression in the page (awaited when it is a promise)."""
        result = self.call('Runtime.evaluate', {'expression': expression, 'returnByValue': True,
                                                'awaitPromise': True}, timeout=timeout)
        if 'exceptionDetails' in result:
            raise DevToolsError(f'{expression}: {result["exceptionDetails"]}')
        return result['result'].get('value')

    def wait_for(self, expression, timeout, every=0.25):
        """Evaluates `expression` until it is truthy and returns that value; fails after
        `timeout` seconds with the last value seen. An exception counts as not yet: the page
        may still be loading (its elements not there yet)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(expression)
            except DevToolsError as error:
                value = error
            if value and not isinstance(value, DevToolsError):
                return value
            if time.monotonic() >= deadline:
                raise DevToolsError(f'{expression} still {value!r} after {timeout} s')
            time.sleep(every)

    def screenshot(self):
        """The page as it is shown now, PNG bytes."""
        return base64.b64decode(self.call('Page.captureScreenshot', {'format': 'png'})['data'])

    def _attach(self, timeout=20):
        """Attaches to the page the browser opened for our URL (it shows up a moment after
        the browser starts)."""
        deadline = time.monotonic() + timeout
        while True:
            targets = self.call('Target.getTargets', session=False)['targetInfos']
            pages = [target for target in targets if target['type'] == 'page']
            if pages:
                break
            if time.monotonic() >= deadline:
                raise DevToolsError(f'no page after {timeout} s: {targets}')
            time.sleep(0.1)
        attached = self.call('Target.attachToTarget',
                             {'targetId': pages[0]['targetId'], 'flatten': True}, session=False)
        self._session = attached['sessionId']

    def _send(self, method, params, session):
        self._next_id += 1
        message = {'id': self._next_id, 'method': method, 'params': params}
        if session:
            message['sessionId'] = self._session
        data = json.dumps(message).encode() + b'\0'
        while data:  # a pipe takes 64 KiB at once; our commands are far smaller
            data = data[os.write(self._to_browser, data):]
        return self._next_id

    def _receive(self, deadline, waiting_for):
        while b'\0' not in self._buffer:
            remaining = deadline - time.monotonic()
            ready = select.select([self._from_browser], [], [], max(remaining, 0))[0]
            if not ready:
                raise DevToolsError(f'{waiting_for}: no reply from the browser in time\n'
                                    f'{self.process.output()[1][-2000:]}')
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise DevToolsError(f'{waiting_for}: the browser closed its pipe\n'
                                    f'{self.process.output()[1][-2000:]}')
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b'\0')
        return json.loads(message)
