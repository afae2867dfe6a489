"""The layers of docs/design.md section 1 hold: each directory of include/doorman/ and src/
includes only the layers below it, base and proto include nothing of the project, the mains and
the examples include what the page allows them, only the programs' command lines see `cli` and
CLI11, and there is no cycle. A change that breaks this fails here, not in a reader's head.
"""

import glob
import os
import re
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')

# What each layer may include, as docs/design.md section 1 draws it. `cli` is not among the
# programs' layers: only their command-line units may include it (CLI_USERS).
ALLOWED = {
    'base': set(),
    'net': {'base'},
    'loop': {'base', 'net'},
    'proto': set(),
    'cli': {'base', 'net'},
    'client': {'base', 'net'},
    'server': {'base', 'net', 'loop', 'proto'},
    'bench': {'base', 'net', 'loop'},
}
# Each main (apps/NAME/main.cpp) builds its program's command line with `cli` and runs it.
APPS = {
    'doorman-server': {'cli', 'server'},
    'doorman-client': {'cli', 'client'},
    'doorman-bench': {'cli', 'bench'},
}
# The tutorial in C++ stands on the socket layer alone.
EXAMPLES = {'net'}
# The files of the programs' layers that may include `cli`: each program's command line.
CLI_USERS = {'src/server/command_line.cpp', 'src/bench/command_line.cpp'}
# Where CLI11 itself may be included besides `cli` and the mains: the command-line units and
# their headers, and the --config file, which is applied through the same CLI11 options.
CLI11_USERS = {
    'include/doorman/server/command_line.hpp', 'src/server/command_line.cpp',
    'include/doorman/server/config_file.hpp', 'src/server/config_file.cpp',
    'include/doorman/bench/command_line.hpp', 'src/bench/command_line.cpp',
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"doorman/([a-z_]+)/', re.M)
CLI11 = re.compile(r'^\s*#\s*include\s+[<"]CLI/', re.M)
SOURCE_TOPS = ('include/doorman', 'src', 'apps', 'examples')


def sources():
    """(relative path, owner, text) of every C++ file of the layers, the mains and the examples:
    the owner is the layer, `apps/NAME` or `examples`."""
    for top in SOURCE_TOPS:
        for path in sorted(glob.glob(os.path.join(ROOT, top, '**', '*.[ch]pp'), recursive=True)):
            relative = os.path.relpath(path, ROOT)
            inside = os.path.relpath(path, os.path.join(ROOT, top)).split(os.sep)
            if top == 'examples':
                owner = 'examples'
            elif top == 'apps':
                owner = 'apps/' + inside[0]
            else:
                owner = inside[0]
            with open(path, encoding='utf-8') as file:
                yield relative, owner, file.read()


def allowed_for(owner):
    if owner == 'examples':
        return EXAMPLES
    if owner.startswith('apps/'):
        return APPS.get(owner[len('apps/'):], set())
    return ALLOWED.get(owner, set())


def includes_by_owner():
    found = {}
    for relative, owner, text in sources():
        for used in INCLUDE.findall(text):
            if used != owner:
                found.setdefault(owner, {}).setdefault(used, []).append(relative)
    return found


class Layers(unittest.TestCase):
    def test_every_layer_and_main_is_known(self):
        for top in ('include/doorman', 'src'):
            for layer in os.listdir(os.path.join(ROOT, top)):
                if os.path.isdir(os.path.join(ROOT, top, layer)):
                    self.assertIn(layer, ALLOWED, f'{top}/{layer}: a layer docs/design.md lacks')
        for main in os.listdir(os.path.join(ROOT, 'apps')):
            self.assertIn(main, APPS, f'apps/{main}: a main this test does not know')

    def test_the_sources_are_found(self):
        owners = {owner for _, owner, _ in sources()}
        self.assertLessEqual(set(ALLOWED) | {'apps/' + main for main in APPS} | {'examples'},
                             owners)

    def test_no_file_includes_what_its_layer_may_not(self):
        wrong = []
        for relative, owner, text in sources():
            for used in set(INCLUDE.findall(text)):
                if used == owner or used in allowed_for(owner):
                    continue
                if used == 'cli' and relative in CLI_USERS:
                    continue
                wrong.append(f'{relative} ({owner}) includes {used}')
        self.assertEqual(wrong, [])

    def test_only_the_command_lines_see_cli11(self):
        wrong = [relative for relative, owner, text in sources()
                 if CLI11.search(text) and owner != 'cli' and not owner.startswith('apps/')
                 and relative not in CLI11_USERS]
        self.assertEqual(wrong, [], 'CLI11 outside the command lines')

    def test_the_exceptions_name_files_that_exist(self):
        for relative in CLI_USERS | CLI11_USERS:
            self.assertTrue(os.path.isfile(os.path.join(ROOT, relative)), relative)

    def test_the_graph_has_no_cycle(self):
        graph = {owner: set(used) for owner, used in includes_by_owner().items()}
        state = {}

        def visit(owner, path):
            if state.get(owner) == 'open':
                self.fail('cycle: ' + ' -> '.join(path + [owner]))
            if state.get(owner) == 'done':
                return
            state[owner] = 'open'
            for other in graph.get(owner, ()):
                visit(other, path + [owner])
            state[owner] = 'done'

        for owner in graph:
            visit(owner, [])


if __name__ == '__main__':
    unittest.main()
