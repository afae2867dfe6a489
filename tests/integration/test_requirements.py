"""The repository stands on its own: every requirement id that code, tests, scripts or man pages
cite is defined in docs/requirements.md, every path and test that page names exists, and no file
points at a document outside the repository or at a tracker's numbered item.

Reads files only; needs no build.
"""

import os
import re
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
REQUIREMENTS = os.path.join(ROOT, 'docs', 'requirements.md')

# Where requirement ids are cited.
CITING_PLACES = ['include', 'src', 'apps', 'tests', 'bench', 'examples', 'scripts',
                 os.path.join('docs', 'man')]

# An id is a letter of the four groups and a number of one or two digits, standing alone: not
# part of a word, a hex escape (\xF1), a path or a file name (a.B1), a colour (#F1) or a
# format (%S1). A range such as S8-S12 cites both ends.
CITED_ID = re.compile(r'(?<![\w./\\#%])([SBPF]\d{1,2})(?!\w)')
# Latency percentiles written in capitals are not performance ids.
NOT_IDS = {'P50', 'P90', 'P95', 'P99'}

DEFINED_ID = re.compile(r'<a id="([SBPF]\d{1,2})"></a>')

# References to what only exists outside the repository. The patterns are spelled so that this
# file does not match them itself.
OUTSIDE_REFERENCES = [
    ('the specification file', re.compile(r'\bSPEC\.md\b')),
    ('the design notes file', re.compile(r'\bDESIGN\.md\b')),
    ('the shared folder', re.compile(r'\.\./shared\b')),
    ('the seed text', re.compile(r'\bseed/0\d\d_[0-9a-f]+')),
    ('a numbered issue', re.compile(r'\bissues?\s+#?\d+', re.IGNORECASE)),
]
# The outside page's name in capitals before an id: the id alone says it, defined here.
SPEC_BY_NAME = re.compile(r'\bSPEC\b')
# "The specification" with no name is the outside page under another word. The one public
# specification the code follows is named as such on the line that cites it.
SPECIFICATION = re.compile(r'\bspecifications?\b', re.IGNORECASE)
NAMED_SPECIFICATIONS = re.compile(r"HAProxy's PROXY protocol specification")

SKIPPED_DIRS = {'.git', '__pycache__'}


def is_build_dir(relative):
    # The build trees (build/, build-asan/...) are not part of the repository.
    return os.sep not in relative and relative.startswith('build')


def text_files(*tops):
    """(relative path, text) of every text file under the given folders of the repository."""
    for top in tops:
        for folder, dirs, files in os.walk(os.path.join(ROOT, top)):
            relative_folder = os.path.relpath(folder, ROOT)
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not is_build_dir(
                os.path.normpath(os.path.join(relative_folder, d))))
            for name in sorted(files):
                path = os.path.join(folder, name)
                with open(path, 'rb') as file:
                    data = file.read()
                if b'\0' in data:
                    continue  # binary
                yield os.path.relpath(path, ROOT), data.decode('utf-8', 'replace')


def read(path):
    with open(path, encoding='utf-8') as file:
        return file.read()


def defined_ids():
    return set(DEFINED_ID.findall(read(REQUIREMENTS)))


class RequirementIds(unittest.TestCase):
    def test_the_page_defines_every_group(self):
        ids = defined_ids()
        expected = ({f'S{n}' for n in range(1, 14)} | {f'B{n}' for n in range(1, 13)} |
                    {f'P{n}' for n in range(1, 8)} | {f'F{n}' for n in range(1, 8)})
        self.assertEqual(ids, expected)

    def test_each_id_is_defined_once(self):
        ids = DEFINED_ID.findall(read(REQUIREMENTS))
        self.assertEqual(sorted(ids), sorted(set(ids)), 'an id defined twice')

    def test_what_counts_as_a_cited_id(self):
        cited = CITED_ID.findall('(S7, B6) S8-S12; B10/x P4. F1: -O2 S_IFMT 0xF1 \\xB1 a.S1 '
                                 '#F1 %S1 S123 BS1 P99')
        self.assertEqual(cited, ['S7', 'B6', 'S8', 'S12', 'B10', 'P4', 'F1', 'P99'])

    def test_every_cited_id_is_defined(self):
        ids = defined_ids()
        undefined = []
        for path, text in text_files(*CITING_PLACES):
            for number, line in enumerate(text.splitlines(), 1):
                for cited in CITED_ID.findall(line):
                    if cited not in ids and cited not in NOT_IDS:
                        undefined.append(f'{path}:{number}: {cited}')
        if undefined:
            self.fail('ids not defined in docs/requirements.md:\n' + '\n'.join(undefined))


class RequirementsPageIsTrue(unittest.TestCase):
    """The where column names files that exist, and tests that exist in the files named."""

    PATH = re.compile(r'^(?:include|src|apps|tests|bench|examples|scripts|docs)/[\w./-]*$|'
                      r'^(?:CMakeLists\.txt|README\.md|Makefile)$')
    # A test class (CamelCase) or a test function, named after the module or file it is in.
    TEST_NAME = re.compile(r'^(?:[A-Z][a-z]+[A-Za-z]*|test_\w+)$')

    def rows(self):
        for line in read(REQUIREMENTS).splitlines():
            if line.startswith('| <a id='):
                yield DEFINED_ID.search(line).group(1), line

    def test_named_paths_exist(self):
        missing = []
        for text in (read(REQUIREMENTS), read(os.path.join(ROOT, 'docs', 'design.md'))):
            for name, after in re.findall(r'`([^`\s]+)`( \(planned\))?', text):
                if self.PATH.match(name) and '*' not in name and not after:
                    if not os.path.exists(os.path.join(ROOT, name)):
                        missing.append(name)
        if missing:
            self.fail('named in docs but missing:\n' + '\n'.join(missing))

    def test_named_tests_exist_in_the_file_named_before_them(self):
        missing = []
        for requirement, row in self.rows():
            current = None
            for name in re.findall(r'`([^`]+)`', row):
                if self.PATH.match(name) and os.path.isfile(os.path.join(ROOT, name)):
                    current = name
                elif current and current.startswith(('tests/', 'bench/')) and \
                        self.TEST_NAME.match(name):
                    defined = (r'^\s*(?:class|def)\s+' + name + r'\b' if current.endswith('.py')
                               else r'\b' + name + r'\b')
                    if not re.search(defined, read(os.path.join(ROOT, current)), re.MULTILINE):
                        missing.append(f'{requirement}: {name} in {current}')
        if missing:
            self.fail('named in docs but missing:\n' + '\n'.join(missing))


class NoOutsideReferences(unittest.TestCase):
    def places(self, patterns):
        found = []
        for path, text in text_files('.'):
            for number, line in enumerate(text.splitlines(), 1):
                for what, pattern in patterns:
                    if pattern.search(line):
                        found.append(f'{path}:{number}: {what}: {line.strip()[:100]}')
        return found

    def test_no_file_points_outside_the_repository(self):
        found = self.places(OUTSIDE_REFERENCES)
        if found:
            self.fail('cite requirement ids (docs/requirements.md) instead:\n' + '\n'.join(found))

    def test_a_specification_is_named(self):
        # This file names the word itself, to catch it.
        this_file = os.path.relpath(os.path.abspath(__file__), ROOT)
        found = [place for place in self.places([('an unnamed specification', SPECIFICATION)])
                 if not NAMED_SPECIFICATIONS.search(place)
                 and not place.startswith(this_file + ':')]
        if found:
            self.fail("name the document (HAProxy's PROXY protocol specification) or cite an id "
                      "of docs/requirements.md:\n" + '\n'.join(found))

    def test_what_counts_as_an_unnamed_specification(self):
        unnamed = ['The specification states these', 'as the SPECIFICATION says',
                   '(the specifications)']
        named = ["HAProxy's PROXY protocol specification: UNKNOWN"]
        for line in unnamed:
            self.assertTrue(SPECIFICATION.search(line) and not NAMED_SPECIFICATIONS.search(line),
                            line)
        for line in named:
            self.assertTrue(NAMED_SPECIFICATIONS.search(line), line)
        self.assertFalse(SPECIFICATION.search('spec = [listener]; specified; respecification'))

    def test_ids_are_cited_without_the_outside_page_name(self):
        found = self.places([('the specification by name', SPEC_BY_NAME)])
        if found:
            self.fail('write the id alone, as docs/requirements.md defines it:\n' +
                      '\n'.join(found))


if __name__ == '__main__':
    unittest.main()
