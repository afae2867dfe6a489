"""The layers of docs/design.md section 1 hold: each directory of include/doorman/ and src/
includes only the layers below it, base includes nothing of the project, and there is no
cycle. A change that breaks this fails here, not in a reader's head.
"""

import glob
import os
import re
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')

# What each layer may include, as docs/design.md section 1 draws it.
ALLOWED = {
    'base': set(),
    'net': {'base'},
    'loop': {'base', 'net'},
    'proto': {'base', 'net'},
    'cli': {'base', 'net'},
    'client': {'base', 'net'},
    'server': {'base', 'net', 'loop', 'proto', 'cli'},
    'bench': {'base', 'net', 'loop', 'cli'},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"doorman/([a-z_]+)/', re.M)


def includes_by_layer():
    found = {}
    for top in ('include/doorman', 'src'):
        for path in glob.glob(os.path.join(ROOT, top, '*', '**', '*.[ch]pp'), recursive=True):
            layer = os.path.relpath(path, os.path.join(ROOT, top)).split(os.sep)[0]
            with open(path, encoding='utf-8') as file:
                for used in INCLUDE.findall(file.read()):
                    if used != layer:
                        found.setdefault(layer, {}).setdefault(used, []).append(
                            os.path.relpath(path, ROOT))
    return found


class Layers(unittest.TestCase):
    def test_every_layer_is_known(self):
        for top in ('include/doorman', 'src'):
            for layer in os.listdir(os.path.join(ROOT, top)):
                if os.path.isdir(os.path.join(ROOT, top, layer)):
                    self.assertIn(layer, ALLOWED, f'{top}/{layer}: a layer docs/design.md lacks')

    def test_no_layer_includes_one_above_it(self):
        wrong = []
        for layer, used in includes_by_layer().items():
            for other, paths in used.items():
                if other not in ALLOWED.get(layer, set()):
                    wrong.append(f'{layer} includes {other}: {", ".join(sorted(set(paths)))}')
        self.assertEqual(wrong, [])

    def test_the_graph_has_no_cycle(self):
        graph = {layer: set(used) for layer, used in includes_by_layer().items()}
        state = {}

        def visit(layer, path):
            if state.get(layer) == 'open':
                self.fail('cycle: ' + ' -> '.join(path + [layer]))
            if state.get(layer) == 'done':
                return
            state[layer] = 'open'
            for other in graph.get(layer, ()):
                visit(other, path + [layer])
            state[layer] = 'done'

        for layer in graph:
            visit(layer, [])


if __name__ == '__main__':
    unittest.main()
