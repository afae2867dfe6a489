"""The README, --help and the man pages agree: every option a program accepts is documented, each
program's exit statuses are the same in all three, and each man page points to the other two
programs."""

import os
import re
import subprocess
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("DOORMAN_BUILD_DIR", os.path.join(ROOT, "build"))
PROGRAMS = ("doorman-server", "doorman-client", "doorman-bench")


def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as file:
        return file.read()


def help_text(program):
    result = subprocess.run([os.path.join(BUILD, program), "--help"], capture_output=True,
                            text=True, timeout=10, check=True)
    return result.stdout


def options_in_help(program):
    return set(re.findall(r"(--[a-z][a-z-]*)", help_text(program)))


def statuses_in(text):
    """The exit statuses a list such as "0 the reply was printed; 64 a bad option, 68 a host..."
    names: each number that starts an item and is followed by words."""
    text = re.sub(r"`[^`]*`", "", " ".join(text.split()))
    return {int(n) for n in re.findall(r"(?:^|[:;,] )(\d{1,3})(?= [a-z])", text)}


def exit_status_sentence(text):
    """From "Exit status:" (any case) to the end of its sentence."""
    found = re.search(r"exit status:(.*?)\.(?:\s|$)", " ".join(text.split()), re.I)
    return found.group(1) if found else ""


def readme_section(program):
    """The README's section on `program`: from its heading to the next one."""
    found = re.search(r"^## " + re.escape(program) + r"\n(.*?)(?=^## |\Z)", read("README.md"),
                      re.M | re.S)
    return found.group(1) if found else ""


def man_page(program):
    # troff writes a hyphen as \- so that it is not hyphenated: read it back as '-'.
    return read("docs", "man", program + ".1").replace("\\-", "-")


def man_section(program, name):
    """The body of the man page's `.SH name` section."""
    found = re.search(r'^\.SH "?' + re.escape(name) + r'"?\n(.*?)(?=^\.SH |\Z)', man_page(program),
                      re.M | re.S)
    return found.group(1) if found else ""


def built(program):
    return os.path.exists(os.path.join(BUILD, program))


class EachProgram:
    """A test_* per program, each calling the subclass's check(program)."""

    def test_server(self):
        self.check("doorman-server")

    def test_client(self):
        self.check("doorman-client")

    @unittest.skipUnless(built("doorman-bench"), "built without DOORMAN_BUILD_BENCH")
    def test_bench(self):
        self.check("doorman-bench")


class DocsAgreeWithHelp(EachProgram, unittest.TestCase):
    def check(self, program):
        options = options_in_help(program)
        self.assertIn("--help", options)
        readme = read("README.md")
        man = man_page(program)
        for option in sorted(options - {"--help", "--version"}):
            with self.subTest(option=option):
                self.assertRegex(readme, re.escape(option) + r"\b", "missing from README.md")
        for option in sorted(options):
            with self.subTest(option=option):
                self.assertRegex(man, re.escape(option) + r"\b", "missing from the man page")


class ExitStatusesAgree(EachProgram, unittest.TestCase):
    """The README, the --help footer and the man page list the same exit statuses."""

    def check(self, program):
        in_man = statuses_in(man_section(program, "EXIT STATUS"))
        in_readme = statuses_in(exit_status_sentence(readme_section(program)))
        in_help = statuses_in(exit_status_sentence(help_text(program)))
        self.assertIn(0, in_man)
        self.assertIn(64, in_man)
        self.assertEqual(in_readme, in_man, "README.md and the man page differ")
        self.assertEqual(in_help, in_man, "--help and the man page differ")

    def test_statuses_in_reads_a_list(self):
        self.assertEqual(statuses_in("0 done; 64 a bad option, 69 cannot connect "
                                     "(`cannot connect to 127.0.0.1:8001: refused`), 71 other"),
                         {0, 64, 69, 71})

class SignalsAgree(unittest.TestCase):
    """What each signal does to doorman-server is told in --help, the man page and the README."""

    def test_server_signals(self):
        help_signals = help_text("doorman-server").split("Signals:", 1)[-1]
        man_signals = man_section("doorman-server", "SIGNALS")
        readme = readme_section("doorman-server")
        for signal, meaning in [("SIGINT", "stop"), ("SIGTERM", "stop"), ("SIGHUP", "reload"),
                                ("SIGUSR1", "counters"), ("SIGUSR2", "upgrade")]:
            for name, text in [("--help", help_signals), ("man page", man_signals),
                               ("README.md", readme)]:
                with self.subTest(signal=signal, source=name):
                    self.assertRegex(text, re.escape(signal) + r"\b")
                    self.assertRegex(text.lower(), meaning)


class ManPagesSeeAlso(unittest.TestCase):
    def test_each_names_the_other_two(self):
        for program in PROGRAMS:
            see_also = man_section(program, "SEE ALSO")
            for other in set(PROGRAMS) - {program}:
                with self.subTest(page=program, missing=other):
                    self.assertRegex(see_also, re.escape(other) + r"\b")


if __name__ == "__main__":
    unittest.main()
