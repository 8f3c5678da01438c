"""An SVG plot of server CPU per acknowledged event against couples, from human.py's JSON.

    python bench/plot.py -o docs/cost-per-event.svg "before (gevent)=a.json" "after=b.json"

Each argument is LABEL=FILE (a `bench/load.py --mode human --json` result). The y value is
the step's `cpu_ms_per_event`, or, for results written before that field existed, server
CPU per second over acknowledged events per second. Plain SVG, no third-party library.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
W, H, LEFT, RIGHT, TOP, BOTTOM = 640, 380, 60, 170, 30, 50


def cost(step: dict) -> float:
    if "cpu_ms_per_event" in step:
        return step["cpu_ms_per_event"]
    return 10 * step["server_cpu_percent"] / max(step["all_ok_per_s"], 1e-9)


def series(path: str) -> list[tuple[int, float]]:
    data = json.loads(Path(path).read_text())
    return sorted((s["couples"], cost(s)) for s in data["steps"])


def svg(lines: list[tuple[str, list[tuple[int, float]]]], title: str) -> str:
    xs = [x for _, pts in lines for x, _ in pts]
    ys = [y for _, pts in lines for _, y in pts]
    x_lo, x_hi = math.log10(max(1, min(xs)) / 1.2), math.log10(max(xs) * 1.2)
    y_hi = max(ys) * 1.15 or 1.0
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (math.log10(x) - x_lo) / (x_hi - x_lo) * pw

    def py(y: float) -> float:
        return TOP + ph - y / y_hi * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{LEFT}" y="18" font-size="14">{title}</text>',
           f'<line x1="{LEFT}" y1="{TOP + ph}" x2="{LEFT + pw}" y2="{TOP + ph}" stroke="black"/>',
           f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + ph}" stroke="black"/>']
    step = 10 ** math.floor(math.log10(y_hi / 2)) or 1
    for mult in (1, 2, 5):
        if y_hi / (step * mult) <= 8:
            step *= mult
            break
    y = 0.0
    while y <= y_hi:
        out.append(f'<line x1="{LEFT}" y1="{py(y):.1f}" x2="{LEFT + pw}" y2="{py(y):.1f}" '
                   f'stroke="#ddd"/><text x="{LEFT - 6}" y="{py(y) + 4:.1f}" '
                   f'text-anchor="end">{y:g}</text>')
        y += step
    for x in sorted(set(xs)):
        out.append(f'<line x1="{px(x):.1f}" y1="{TOP + ph}" x2="{px(x):.1f}" '
                   f'y2="{TOP + ph + 4}" stroke="black"/><text x="{px(x):.1f}" '
                   f'y="{TOP + ph + 18}" text-anchor="middle">{x}</text>')
    out.append(f'<text x="{LEFT + pw / 2}" y="{H - 10}" text-anchor="middle">couples '
               '(log scale; two sockets each)</text>')
    out.append(f'<text x="16" y="{TOP + ph / 2}" text-anchor="middle" '
               f'transform="rotate(-90 16 {TOP + ph / 2})">server CPU ms per acked event</text>')
    for i, (label, pts) in enumerate(lines):
        colour = COLOURS[i % len(COLOURS)]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                   'stroke-width="2"/>')
        for x, y in pts:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{colour}">'
                       f'<title>{label}: {x} couples, {y:.2f} ms</title></circle>')
        ly = TOP + 10 + 20 * i
        out.append(f'<line x1="{W - RIGHT + 12}" y1="{ly}" x2="{W - RIGHT + 32}" y2="{ly}" '
                   f'stroke="{colour}" stroke-width="2"/><text x="{W - RIGHT + 38}" '
                   f'y="{ly + 4}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="LABEL=FILE")
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--title", default="Server CPU per event, human pace, one worker")
    args = parser.parse_args()
    lines = []
    for run in args.runs:
        label, _, path = run.partition("=")
        lines.append((label, series(path)))
    Path(args.output).write_text(svg(lines, args.title))


if __name__ == "__main__":
    main()
