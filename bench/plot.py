#!/usr/bin/env python3
"""The plot of bench/run.py's results: server CPU per connection, per scenario and server, the
median as a bar and the range over the repetitions as an error bar, with the ratio to the
scenario's reference written above.

    bench/plot.py [RESULTS_JSON [SVG]]   (default: build/bench-results.json, build/bench-cpu.svg)
"""

import json
import os
import sys

import matplotlib

matplotlib.use('svg')
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

HERE = os.path.dirname(os.path.abspath(__file__))


def cpu_per_connection(results, svg_path):
    scenarios = [(name, scenario) for name, scenario in results['scenarios'].items()
                 if any(row['cpu_us_per_conn'] for row in scenario['summary'].values())]
    if not scenarios:
        return
    figure, axes = plt.subplots(len(scenarios), 1, figsize=(9, 2.2 * len(scenarios) + 0.6),
                                squeeze=False)
    plt.rcParams['svg.hashsalt'] = 'doorman'  # the same results give the same file
    for axis, (name, scenario) in zip(axes[:, 0], scenarios):
        rows = [(server, row) for server, row in scenario['summary'].items()
                if row['cpu_us_per_conn']]
        labels = [server for server, _ in rows]
        medians = [row['cpu_us_per_conn']['median'] for _, row in rows]
        below = [row['cpu_us_per_conn']['median'] - row['cpu_us_per_conn']['min']
                 for _, row in rows]
        above = [row['cpu_us_per_conn']['max'] - row['cpu_us_per_conn']['median']
                 for _, row in rows]
        positions = range(len(rows))
        colors = ['#4c72b0' if server == scenario['reference'] else
                  '#dd8452' if server.startswith('doorman') else '#8c8c8c' for server in labels]
        axis.barh(positions, medians, xerr=[below, above], color=colors, capsize=3)
        axis.set_yticks(list(positions), labels)
        axis.invert_yaxis()
        for position, (_, row) in zip(positions, rows):
            ratio = row['ratio']['cpu_us_per_conn']
            if ratio:
                axis.annotate(f" {ratio['median']:.2f} x ({ratio['min']:.2f}-{ratio['max']:.2f})",
                              (row['cpu_us_per_conn']['max'], position), va='center', fontsize=8)
        axis.set_title(f"{name} [{scenario['requirement']}]: {scenario['description']}",
                       fontsize=9, loc='left')
        axis.set_xlim(0, max(row['cpu_us_per_conn']['max'] for _, row in rows) * 1.45)
    axes[-1, 0].set_xlabel('server CPU per connection, us (bar: median, whiskers: range; '
                           'label: ratio to the blue reference)')
    figure.tight_layout()
    figure.savefig(svg_path, metadata={'Date': None})
    plt.close(figure)


def main():
    build = os.path.join(os.path.dirname(HERE), 'build')
    source = sys.argv[1] if len(sys.argv) > 1 else os.path.join(build, 'bench-results.json')
    target = sys.argv[2] if len(sys.argv) > 2 else os.path.join(build, 'bench-cpu.svg')
    with open(source) as raw:
        cpu_per_connection(json.load(raw), target)
    print(target)


if __name__ == '__main__':
    main()
