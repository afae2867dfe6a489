"""--metrics ADDR (B7): after a known mix of clients, /metrics says exactly what happened, in the
Prometheus text format as a real parser reads it; /status.json and the status page at / agree
with it, the page as a real (headless) browser renders it under load; the endpoint is hardened (404, 405,
400, 431, 408, 503 over the cap of concurrent scrapes) and serves every address form.
"""

import json
import os
import signal
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import devtools_pipe  # noqa: E402
import doorman_testing as dt  # noqa: E402
import metrics_testing as mt  # noqa: E402
import server_testing as st  # noqa: E402

MAX_SCRAPES = 64  # MetricsServer::kMaxScrapes
READ_TIMEOUT = 5  # MetricsServer::kReadTimeout, seconds


def send_empty_request(address):
    """Connects and ends its side at once: the server reads end of stream before any byte."""
    with st.connect(address) as sock:
        sock.shutdown(socket.SHUT_WR)
        return st.recv_until_eof(sock)


def wait_until_idle(test, metrics, timeout=5):
    deadline = time.monotonic() + timeout
    while json.loads(mt.get(metrics, '/status.json').body)['active'] != 0:
        test.assertLess(time.monotonic(), deadline, 'connections still active')
        time.sleep(0.02)


class KnownMix(unittest.TestCase):
    """3 welcomed, 2 rejected, 1 empty, 1 timed out: /metrics shows exactly those."""

    def test_metrics_count_each_outcome(self):
        server, metrics = mt.start_metrics_server(self, '--timeout', '0.3')
        for _ in range(3):
            self.assertEqual(st.stream_exchange(server.address, b'1'), st.WELCOME)
        for message in (b'2', b'password'):
            self.assertEqual(st.stream_exchange(server.address, message), st.GO_OUT)
        self.assertEqual(send_empty_request(server.address), st.GO_OUT)
        with st.connect(server.address) as silent:
            self.assertEqual(st.closed_by_peer(silent, timeout=5), 'eof')
        server.process.wait_for_line(r'time out', timeout=5)
        # A client sees the close a moment before the worker gives back its admission.
        wait_until_idle(self, metrics)

        response = mt.get(metrics, '/metrics')
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.headers['content-type'], mt.PROMETHEUS_TYPE)
        self.assertEqual(response.headers['connection'], 'close')
        self.assertEqual(int(response.headers['content-length']), len(response.body))
        parsed = mt.families(response.text)

        outcomes = {'welcomed': 3, 'rejected': 2, 'empty': 1, 'timed_out': 1, 'refused': 0,
                    'error': 0}
        for outcome, count in outcomes.items():
            with self.subTest(outcome=outcome):
                self.assertEqual(mt.sample(parsed, 'doorman_connections', 'doorman_connections_total',
                                           outcome=outcome), count)
        self.assertEqual(parsed['doorman_connections'].type, 'counter')
        self.assertEqual(mt.sample(parsed, 'doorman_connections_accepted',
                                   'doorman_connections_accepted_total'), 7)
        self.assertEqual(mt.sample(parsed, 'doorman_connections_active'), 0)
        self.assertEqual(parsed['doorman_connections_active'].type, 'gauge')
        for outcome in ('welcomed', 'rejected', 'dropped_loop', 'dropped_over_rate'):
            self.assertEqual(mt.sample(parsed, 'doorman_datagrams', 'doorman_datagrams_total',
                                       outcome=outcome), 0)

        # Every request that came (all but the silent one's) waited, and was recorded once.
        wait = parsed['doorman_request_wait_seconds']
        self.assertEqual(wait.type, 'histogram')
        self.assertEqual(mt.sample(parsed, 'doorman_request_wait_seconds',
                                   'doorman_request_wait_seconds_count'), 6)
        self.assertEqual(mt.sample(parsed, 'doorman_request_wait_seconds',
                                   'doorman_request_wait_seconds_bucket', le='+Inf'), 6)
        buckets = [s.value for s in wait.samples if s.name.endswith('_bucket')]
        self.assertEqual(buckets, sorted(buckets), 'buckets are cumulative')
        self.assertIn('0.0005', [s.labels.get('le') for s in wait.samples])

        build = parsed['doorman_build_info'].samples
        self.assertEqual(len(build), 1)
        self.assertRegex(build[0].labels['version'], r'^\d+\.\d+\.\d+')
        self.assertEqual(build[0].value, 1)

        self.assertGreater(mt.sample(parsed, 'process_open_fds'), 3)
        self.assertGreaterEqual(mt.sample(parsed, 'process_max_fds'),
                                mt.sample(parsed, 'process_open_fds'))
        self.assertGreater(mt.sample(parsed, 'process_resident_memory_bytes'), 1 << 20)
        self.assertGreater(mt.sample(parsed, 'process_virtual_memory_bytes'),
                           mt.sample(parsed, 'process_resident_memory_bytes'))
        self.assertGreaterEqual(mt.sample(parsed, 'process_cpu_seconds', 'process_cpu_seconds_total'), 0)
        self.assertAlmostEqual(mt.sample(parsed, 'process_start_time_seconds'), time.time(),
                               delta=120)
        for name in ('doorman_connections_total', 'doorman_connections_active',
                     'doorman_request_wait_seconds', 'process_open_fds'):
            self.assertIn(f'# HELP {name} ', response.text)
            self.assertIn(f'# TYPE {name} ', response.text)

        status = json.loads(mt.get(metrics, '/status.json').body)
        self.assertEqual(status['counters']['accepted'], 7)
        self.assertEqual(status['counters']['empty'], 1)
        self.assertEqual(sum(worker['accepted'] for worker in status['workers']), 7)

        # The summary line keeps its format: an empty request is still a rejected one there.
        _, counters = server.stop()
        self.assertEqual(counters, {'accepted': 7, 'welcomed': 3, 'rejected': 3, 'timed_out': 1,
                                    'refused': 0, 'errors': 0})


class Hardening(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server, cls.metrics = mt.start_metrics_server(st.ClassScope(cls))

    def test_the_three_pages(self):
        for path, content_type in (('/', 'text/html'), ('/metrics', 'text/plain'),
                                   ('/status.json', 'application/json'),
                                   ('/metrics?name=x', 'text/plain')):
            with self.subTest(path=path):
                response = mt.get(self.metrics, path)
                self.assertEqual(response.status, 200, response)
                self.assertTrue(response.headers['content-type'].startswith(content_type))

    def test_the_page_is_self_contained(self):
        page = mt.get(self.metrics, '/').text
        self.assertNotRegex(page, r'<(script|link|img)[^>]+(src|href)=')
        self.assertNotIn('@import', page)
        self.assertNotIn('url(', page)

    def test_head_has_no_body(self):
        response = mt.get(self.metrics, '/metrics', method='HEAD')
        self.assertEqual(response.status, 200)
        self.assertEqual(response.body, b'')
        self.assertGreater(int(response.headers['content-length']), 0)

    def test_unknown_path_is_404(self):
        for method in ('GET', 'POST'):
            self.assertEqual(mt.get(self.metrics, '/nothing-here', method=method).status, 404)

    def test_known_path_other_method_is_405_with_allow(self):
        for method in ('POST', 'PUT', 'DELETE', 'OPTIONS'):
            with self.subTest(method=method):
                response = mt.get(self.metrics, '/metrics', method=method)
                self.assertEqual(response.status, 405)
                self.assertEqual(response.headers['allow'], 'GET, HEAD')

    def test_malformed_request_is_400(self):
        for raw in (b'GARBAGE\r\n\r\n', b'GET /metrics HTTP/9.9\r\n\r\n', b'GET metrics HTTP/1.1\r\n\r\n',
                    b'\x00\xff\r\n\r\n'):
            with self.subTest(raw=raw):
                self.assertEqual(mt.request(self.metrics, raw).status, 400)

    def test_oversized_request_head_is_431_and_closed(self):
        raw = b'GET /metrics HTTP/1.1\r\nX-Padding: ' + b'a' * 16384 + b'\r\n\r\n'
        response = mt.request(self.metrics, raw)
        self.assertEqual(response.status, 431)
        # Endless headers: answered once the limit is passed, without waiting for their end.
        with mt.connect(self.metrics) as sock:
            sock.sendall(b'GET / HTTP/1.1\r\n' + b'X: y\r\n' * 2000)
            self.assertEqual(mt.read_response(sock).status, 431)

    def test_a_silent_client_gets_408_after_the_read_timeout(self):
        # Timed from the connect (the endpoint's clock starts at its accept): early by at most the
        # clock's granularity, late by at most a loop turn and scheduling on a busy machine. A
        # read timeout 1.5 times too long, or too short, falls outside.
        began = time.monotonic()
        with mt.connect(self.metrics, timeout=READ_TIMEOUT + 5) as sock:
            sock.sendall(b'GET /metrics HTTP/1.1\r\n')
            response = mt.read_response(sock)
            elapsed = time.monotonic() - began
        self.assertEqual(response.status, 408)
        self.assertGreaterEqual(elapsed, READ_TIMEOUT - 0.05, '408 before the read timeout')
        self.assertLessEqual(elapsed, READ_TIMEOUT + 0.3, '408 long after the read timeout')

    def test_scrapes_over_the_cap_get_503_and_the_others_still_work(self):
        held = []
        try:
            for _ in range(MAX_SCRAPES):
                sock = mt.connect(self.metrics)
                sock.sendall(b'GET /metrics HTTP/1.1\r\n')  # a head not finished yet
                held.append(sock)
            # The 64 are queued before it, and the endpoint takes its queue in order.
            self.assertEqual(mt.get(self.metrics, '/metrics').status, 503)
            # The held ones are still served once they finish their heads.
            held[0].sendall(b'\r\n')
            self.assertEqual(mt.read_response(held[0]).status, 200)
        finally:
            st.close_all(held)
        deadline = time.monotonic() + 5
        while mt.get(self.metrics, '/metrics').status != 200:
            self.assertLess(time.monotonic(), deadline, 'scrapes refused after the others left')
            time.sleep(0.05)

    def test_workers_serve_while_a_scrape_is_stuck(self):
        with mt.connect(self.metrics) as stuck:
            stuck.sendall(b'GET /metrics HTTP/1.1\r\n')
            self.assertEqual(st.stream_exchange(self.server.address, b'1'), st.WELCOME)


class AddressForms(unittest.TestCase):
    def scrape(self, metrics_address):
        server, metrics = mt.start_metrics_server(self, metrics=metrics_address)
        self.assertEqual(st.stream_exchange(server.address, b'1'), st.WELCOME)
        parsed = mt.families(mt.get(metrics, '/metrics').text)
        self.assertEqual(mt.sample(parsed, 'doorman_connections', 'doorman_connections_total',
                                   outcome='welcomed'), 1)
        return server, metrics

    def test_unix_path(self):
        path = dt.free_unix_path(self, 'metrics.sock')
        server, metrics = self.scrape('unix:' + path)
        self.assertEqual(metrics.text, 'unix:' + path)
        server.stop()
        self.assertFalse(os.path.exists(path), 'the socket file is removed on exit')

    def test_unix_abstract(self):
        name = dt.unique_abstract_name('doorman-metrics')
        _, metrics = self.scrape('unix:@' + name)
        self.assertEqual(metrics.text, 'unix:@' + name)

    @unittest.skipUnless(st.HAVE_IPV6, 'no IPv6 loopback')
    def test_ipv6(self):
        _, metrics = self.scrape('[::1]:0')
        self.assertRegex(metrics.text, r'^\[::1\]:[1-9]\d*$')

    def test_port_zero_logs_the_real_port(self):
        _, metrics = self.scrape('127.0.0.1:0')
        self.assertNotEqual(metrics.port, 0)

    def test_datagram_mode_counts_datagrams(self):
        server, metrics = mt.start_metrics_server(self, '--type', 'dgram')
        self.assertEqual(st.datagram_exchange(server.address, b'1')[0], st.WELCOME)
        self.assertEqual(st.datagram_exchange(server.address, b'x')[0], st.GO_OUT)
        parsed = mt.families(mt.get(metrics, '/metrics').text)
        self.assertEqual(mt.sample(parsed, 'doorman_datagrams', 'doorman_datagrams_total',
                                   outcome='welcomed'), 1)
        self.assertEqual(mt.sample(parsed, 'doorman_datagrams', 'doorman_datagrams_total',
                                   outcome='rejected'), 1)
        self.assertEqual(mt.sample(parsed, 'doorman_connections', 'doorman_connections_total',
                                   outcome='welcomed'), 0)


class StartUp(unittest.TestCase):
    def test_a_bad_address_is_a_usage_error(self):
        status, _, stderr = st.run_server('--metrics', 'nowhere')
        self.assertEqual(status, st.EX_USAGE)
        self.assertIn('--metrics', stderr)

    def test_an_address_in_use_stops_the_start(self):
        with socket.socket() as taken:
            taken.bind(('127.0.0.1', 0))
            taken.listen()
            port = taken.getsockname()[1]
            status, _, stderr = st.run_server('--listen', '127.0.0.1:0', '--metrics',
                                              f'127.0.0.1:{port}')
        self.assertEqual(status, st.EX_UNAVAILABLE)
        self.assertIn(f'127.0.0.1:{port}', stderr)


# Good clients for at most LOAD_SECONDS (stopped once the screenshot is taken); bad ones for
# BURST_SECONDS, once the chart has BURST_AT points (so the chart shows them come and go); the
# screenshot at CHART_POINTS points, under load.
LOAD_SECONDS = 20
BURST_SECONDS = 4
BURST_AT = 3
CHART_POINTS = 9  # the page adds a point a second, from its second poll on
# Every element of the page that has an id: {id: its text}.
PAGE_VALUES_JS = ('JSON.stringify(Object.fromEntries(Array.from(document.querySelectorAll("[id]"),'
                  ' element => [element.id, element.textContent])))')
# How many points the chart's line of accepted connections has.
CHART_POINTS_JS = ('((line) => line ? line.getAttribute("points").trim().split(/\\s+/).length : 0)'
                   '(document.getElementById("line-accepted"))')
# The highest rate on the chart: its axis' top label.
CHART_PEAK_JS = 'Number(document.querySelector("#chart text").textContent)'


def status_page_screenshot():
    """Where the test leaves its screenshot: build/status-page.png (docs/status-page.png is a
    copy of it, see docs/deployment.md)."""
    return os.path.join(dt.build_dir(), 'status-page.png')


@unittest.skipUnless(mt.chromium(), 'no headless Chromium (chromium-headless-shell) installed')
class StatusPageInABrowser(unittest.TestCase):
    """The page in a real browser, in real time: it polls /status.json every second while
    doorman-bench loads the server at a bounded rate, its chart fills, a screenshot is taken;
    once the load is over, every number it shows is /status.json's."""

    def test_the_page_shows_what_status_json_says(self):
        server, metrics = mt.start_metrics_server(self, '--timeout', '0.2', threads=2)
        url = f'http://{metrics.host}:{metrics.port}/'
        browser = devtools_pipe.Browser(self, mt.chromium(), url)
        browser.wait_for('document.getElementById("last-update").textContent !== "never"',
                         timeout=10)

        # The load, bounded in rate and time: good clients, a burst of bad ones, and silent ones
        # that time out.
        bench = dt.load_generator(self)
        common = ['--connect', server.address.text, '--json', '--no-progress']
        loads = [dt.start(self, [bench, *common, '--rate', '400',
                                 '--duration', f'{LOAD_SECONDS}s'])]
        stop = threading.Event()
        silent = []
        self.addCleanup(st.close_all, silent)

        def keep_some_silent():
            while not stop.wait(0.1):
                silent.append(st.connect(server.address))

        silencer = threading.Thread(target=keep_some_silent, daemon=True)
        silencer.start()
        try:
            browser.wait_for(f'{CHART_POINTS_JS} >= {BURST_AT}', timeout=2 * BURST_AT)
            loads.append(dt.start(self, [bench, *common, '--rate', '200', '--duration',
                                         f'{BURST_SECONDS}s', '--message', 'guess', '--expect',
                                         st.GO_OUT.decode()]))
            points = browser.wait_for(f'(points => points >= {CHART_POINTS} && points)'
                                      f'({CHART_POINTS_JS})', timeout=2 * CHART_POINTS)
            png = browser.screenshot()
            peak, rate = browser.evaluate(f'[{CHART_PEAK_JS}, '
                                          f'Number(document.getElementById("rate").textContent)]')
        finally:
            stop.set()
            silencer.join(timeout=5)
            os.kill(loads[0].pid, signal.SIGINT)  # ends the run early, with its report
        with open(status_page_screenshot(), 'wb') as file:
            file.write(png)
        self.assertTrue(png.startswith(b'\x89PNG\r\n\x1a\n') and len(png) > 10_000, len(png))
        self.assertGreaterEqual(points, CHART_POINTS)
        self.assertGreater(peak, 1, 'the chart has no load on it')
        self.assertGreater(rate, 0, 'the page shows no connection per second under load')
        for load, statuses in zip(loads, ((0, 130), (0,))):  # 130: interrupted, by SIGINT
            self.assertIn(load.wait(timeout=BURST_SECONDS + 10), statuses, load.output())
            self.assertGreater(json.loads(load.output()[0])['ok'], 0, load.output())

        # The load is over: the figures hold still, and the page must show them.
        st.close_all(silent)
        wait_until_idle(self, metrics, timeout=10)
        status = json.loads(mt.get(metrics, '/status.json').body)
        shown = json.loads(browser.evaluate(f'poll().then(() => {PAGE_VALUES_JS})'))
        for name, value in status['counters'].items():
            if f'count-{name}' in shown:
                with self.subTest(counter=name):
                    self.assertEqual(shown[f'count-{name}'], str(value))
        self.assertEqual(len([key for key in shown if key.startswith('count-')]), 7)
        for name in ('welcomed', 'rejected', 'timed_out'):
            self.assertGreater(int(shown[f'count-{name}']), 0, name)
        self.assertEqual(shown['active'], '0')
        self.assertEqual(shown['version'], status['version'])
        self.assertRegex(shown['uptime'], r'^\d+s$|m ')
        total = sum(worker['accepted'] for worker in status['workers'])
        self.assertEqual(len(status['workers']), 2)
        for index, worker in enumerate(status['workers']):
            with self.subTest(worker=index):
                self.assertEqual(shown[f'worker-{index}-accepted'], str(worker['accepted']))
                self.assertEqual(shown[f'worker-{index}-share'],
                                 f'{100 * worker["accepted"] / total:.1f}%')
        self.assertEqual(shown['problem'], '')


if __name__ == '__main__':
    unittest.main()
