"""The README, --help and the man pages agree: every option a program accepts is documented."""

import os
import re
import subprocess
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("DOORMAN_BUILD_DIR", os.path.join(ROOT, "build"))


def options_in_help(program):
    result = subprocess.run([os.path.join(BUILD, program), "--help"], capture_output=True,
                            text=True, timeout=10, check=True)
    return set(re.findall(r"(--[a-z][a-z-]*)", result.stdout))


def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as file:
        return file.read()


class DocsAgreeWithHelp(unittest.TestCase):
    def check(self, program):
        options = options_in_help(program)
        self.assertIn("--help", options)
        readme = read("README.md")
        # troff writes a hyphen as \- so that it is not hyphenated: read it back as '-'.
        man = read("docs", "man", program + ".1").replace("\\-", "-")
        for option in sorted(options - {"--help", "--version"}):
            with self.subTest(option=option):
                self.assertRegex(readme, re.escape(option) + r"\b", "missing from README.md")
        for option in sorted(options):
            with self.subTest(option=option):
                self.assertRegex(man, re.escape(option) + r"\b", "missing from the man page")

    def test_server(self):
        self.check("doorman-server")

    def test_client(self):
        self.check("doorman-client")

    @unittest.skipUnless(os.path.exists(os.path.join(BUILD, "doorman-bench")),
                         "built without DOORMAN_BUILD_BENCH")
    def test_bench(self):
        self.check("doorman-bench")


if __name__ == "__main__":
    unittest.main()
