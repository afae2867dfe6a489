"""`cmake --install` (B11): the programs (stripped), their man pages, the systemd units, the
README and the licence land under the prefix; every man page renders without a warning; and
systemd-analyze finds nothing wrong in the units.
"""

import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
import doorman_testing as dt  # noqa: E402
import server_testing as st  # noqa: E402

PROGRAMS = ('doorman-server', 'doorman-client', 'doorman-bench')
UNITS = ('doorman.service', 'doorman.socket')


def run(argv, timeout=120, env=None):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.prefix = dt.temp_dir(st.ClassScope(cls))
        result = run(['cmake', '--install', dt.build_dir(), '--prefix', cls.prefix])
        if result.returncode != 0:
            raise AssertionError('cmake --install failed:\n' + result.stdout + result.stderr)

    def path(self, *parts):
        return os.path.join(self.prefix, *parts)

    def installed_programs(self):
        return [name for name in PROGRAMS
                if os.path.exists(os.path.join(dt.build_dir(), name))]

    def test_every_file_is_in_place(self):
        expected = [os.path.join('bin', name) for name in self.installed_programs()]
        expected += [os.path.join('share', 'man', 'man1', name + '.1')
                     for name in self.installed_programs()]
        expected += [os.path.join('lib', 'systemd', 'system', unit) for unit in UNITS]
        expected += [os.path.join('share', 'doc', 'doorman', name)
                     for name in ('README.md', 'LICENSE', os.path.join('examples', 'doorman.toml'))]
        expected.append(os.path.join('share', 'man', 'man5', 'doorman.toml.5'))
        missing = [name for name in expected if not os.path.isfile(self.path(name))]
        self.assertEqual(missing, [], f'not installed under {self.prefix}')

    def test_programs_are_stripped_and_run(self):
        for name in self.installed_programs():
            program = self.path('bin', name)
            sections = run(['readelf', '-S', '--wide', program]).stdout
            self.assertNotIn('.debug_info', sections, f'{name} is not stripped')
            self.assertNotIn('.symtab', sections, f'{name} is not stripped')
            self.assertEqual(run([program, '--help'], timeout=10).returncode, 0, name)

    def test_man_pages_render_without_warnings(self):
        pages = [self.path('share', 'man', 'man1', name + '.1') for name in self.installed_programs()]
        pages.append(self.path('share', 'man', 'man5', 'doorman.toml.5'))
        for page in pages:
            result = run(['groff', '-man', '-Tutf8', '-ww', '-z', page], timeout=30)
            self.assertEqual((result.returncode, result.stderr), (0, ''), page)

    def test_service_starts_the_installed_server(self):
        with open(self.path('lib', 'systemd', 'system', 'doorman.service')) as unit:
            exec_start = re.search(r'^ExecStart=(\S+)', unit.read(), re.M).group(1)
        self.assertTrue(exec_start.endswith('/bin/doorman-server'), exec_start)
        self.assertTrue(os.path.isabs(exec_start), exec_start)

    @unittest.skipUnless(shutil.which('systemd-analyze'), 'systemd-analyze is not installed')
    def test_units_pass_systemd_analyze_verify(self):
        # ExecStart names the server where the configured prefix puts it; verify checks that it
        # exists, so the copies checked name the one installed here.
        units = dt.temp_dir(self)
        server = self.path('bin', 'doorman-server')
        for unit in UNITS:
            with open(self.path('lib', 'systemd', 'system', unit)) as source:
                text = re.sub(r'^ExecStart=\S+', 'ExecStart=' + server, source.read(),
                              flags=re.M)
            with open(os.path.join(units, unit), 'w') as copy:
                copy.write(text)
        env = dict(os.environ, SYSTEMD_LOG_LEVEL='notice')
        result = run(['systemd-analyze', 'verify', '--man=no',
                      *[os.path.join(units, unit) for unit in UNITS]], env=env)
        self.assertEqual((result.returncode, result.stdout + result.stderr), (0, ''))


if __name__ == '__main__':
    unittest.main()
