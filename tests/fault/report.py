#!/usr/bin/env python3
"""Draws a fault campaign's history as a self-contained SVG timeline. Standard library only.

    python3 tests/fault/report.py HISTORY.jsonl OUT.svg [--title T]

The history is the checker's (tests/fault/checker.py describes the format). The x axis is time
in seconds since the campaign's start. Two panels share it:

  top     acknowledged sends per second: the "ok" send events of all producers, bucketed by
          the second of their time_ms, drawn as bars (a negative time_ms, from a wall clock
          stepped back, counts as 0).
  bottom  acknowledgement latency per second bucket: for each "ok", its time_ms minus the
          time_ms of the same value's invoke, bucketed by the ok's second; the bucket's median
          (nearest rank) and maximum are drawn as two lines on a logarithmic axis with a tick
          per decade. Latencies under 1 ms are drawn at 1 ms; seconds without an
          acknowledgement leave a break in the lines.

Each fault window (a nemesis "start" to the next "stop" of the same fault and target; one
never stopped lasts to the history's end) is one translucent rectangle across both panels,
coloured by fault kind, with the kinds in the legend. A rectangle carries class="fault",
data-fault, data-target, data-start-ms and data-end-ms attributes and a tooltip.

In-process, draw(events, path, title) writes the file and render(events, title) returns the
SVG text. Exit status of the command: 0 drawn, 2 malformed history.
"""
import argparse
import math
import os
import sys
from collections import defaultdict
from xml.sax.saxutils import escape, quoteattr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import checker  # noqa: E402

WIDTH, HEIGHT = 1000, 640
LEFT, RIGHT = 80, 800          # plot area's x extent; the legend is to its right
TOP_PANEL = (70, 290)          # y extent (top, bottom) of the acknowledgement-rate panel
BOTTOM_PANEL = (350, 570)      # y extent of the latency panel
FAULT_COLOURS = ("#d62728", "#9467bd", "#ff7f0e", "#2ca02c", "#8c564b", "#e377c2", "#17becf",
                 "#bcbd22", "#7f7f7f")
BAR_COLOUR, P50_COLOUR, MAX_COLOUR = "#4c78a8", "#1f3b73", "#e45756"
FAULT_OPACITY = 0.18


# ---------------------------------------------------------------------------------------------
# Series


def nearest_rank(values, q):
    """The q-quantile by nearest rank (the median of 4 values is the second smallest)."""
    s = sorted(values)
    return s[max(0, math.ceil(q * len(s)) - 1)]


def ack_series(events):
    """({second: acknowledgements}, {second: [latency ms]}) from the history's sends."""
    invoked = {}
    acks = defaultdict(int)
    latencies = defaultdict(list)
    for e in events:
        if e.get("f") != "send" or not isinstance(e.get("time_ms"), int):
            continue
        if e.get("type") == "invoke":
            invoked[e.get("value")] = e["time_ms"]
        elif e.get("type") == "ok":
            second = max(e["time_ms"], 0) // 1000
            acks[second] += 1
            if e.get("value") in invoked:
                latencies[second].append(e["time_ms"] - invoked[e["value"]])
    return dict(acks), dict(latencies)


def end_ms(events):
    return max((e["time_ms"] for e in events if isinstance(e.get("time_ms"), int)), default=0)


# ---------------------------------------------------------------------------------------------
# Scales and ticks


def nice_step(span, most):
    """The smallest 1, 2 or 5 times a power of ten that cuts span into at most `most` steps."""
    span = max(span, 1e-9)
    power = 10 ** math.floor(math.log10(span / most))
    for m in (1, 2, 5, 10):
        if span / (m * power) <= most:
            return m * power
    return 10 * power


class Linear:
    def __init__(self, lo, hi, a, b):
        self.lo, self.hi, self.a, self.b = lo, hi, a, b

    def __call__(self, v):
        return self.a + (v - self.lo) / (self.hi - self.lo) * (self.b - self.a)


class Log10:
    def __init__(self, lo, hi, a, b):
        self.lo, self.hi, self.a, self.b = math.log10(lo), math.log10(hi), a, b

    def __call__(self, v):
        return self.a + (math.log10(v) - self.lo) / (self.hi - self.lo) * (self.b - self.a)


def ms_label(ms):
    if ms >= 1000:
        return f"{ms / 1000:g} s"
    return f"{ms:g} ms"


# ---------------------------------------------------------------------------------------------
# SVG pieces


def text(x, y, s, anchor="middle", size=12, extra=""):
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>'
            f"{escape(s)}</text>")


def line(x1, y1, x2, y2, colour="#000", width=1, extra=""):
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
            f'stroke-width="{width}"{extra}/>')


def x_axis(x, seconds, panel):
    """Ticks and grid lines at a nice step of seconds along one panel's bottom."""
    top, bottom = panel
    out = [line(LEFT, bottom, RIGHT, bottom)]
    step = nice_step(seconds, 12)
    t = 0
    while t <= seconds + 1e-9:
        out.append(line(x(t), top, x(t), bottom, "#ddd", extra=' class="grid"'))
        out.append(line(x(t), bottom, x(t), bottom + 5))
        out.append(text(x(t), bottom + 18, f"{t:g}"))
        t += step
    return out


def y_axis(y, ticks, panel, label):
    top, bottom = panel
    out = [line(LEFT, top, LEFT, bottom)]
    for value, name in ticks:
        out.append(line(LEFT, y(value), RIGHT, y(value), "#eee", extra=' class="grid"'))
        out.append(line(LEFT - 5, y(value), LEFT, y(value)))
        out.append(text(LEFT - 8, y(value) + 4, name, anchor="end"))
    middle = (top + bottom) / 2
    out.append(text(20, middle, label, extra=f' transform="rotate(-90 20 {middle:.1f})"'))
    return out


def ack_panel(x, acks, panel):
    """Bars of acknowledgements per second, with their y axis."""
    top, bottom = panel
    peak = max(acks.values(), default=0)
    step = nice_step(max(peak, 1), 5)
    y = Linear(0, max(step * math.ceil(max(peak, 1) / step), step), bottom, top)
    ticks = [(v * step, f"{v * step:g}") for v in range(int(y.hi / step) + 1)]
    out = y_axis(y, ticks, panel, "acks / s")
    for second, count in sorted(acks.items()):
        x0, x1 = x(second), x(second + 1)
        gap = 1 if x1 - x0 > 3 else 0
        out.append(f'<rect class="bar" x="{x0:.1f}" y="{y(count):.1f}" '
                   f'width="{max(x1 - x0 - gap, 0.5):.1f}" height="{bottom - y(count):.1f}" '
                   f'fill="{BAR_COLOUR}"><title>{second} s: {count} acks</title></rect>')
    return out


def polylines(points, colour, cls):
    """Polylines through (x, y) points, broken wherever a bucket is missing (x is None)."""
    out, run = [], []
    for p in points + [None]:
        if p is not None:
            run.append(p)
            continue
        if len(run) == 1:
            out.append(f'<circle class="{cls}" cx="{run[0][0]:.1f}" cy="{run[0][1]:.1f}" r="2" '
                       f'fill="{colour}"/>')
        elif run:
            coords = " ".join(f"{px:.1f},{py:.1f}" for px, py in run)
            out.append(f'<polyline class="{cls}" points="{coords}" fill="none" '
                       f'stroke="{colour}" stroke-width="1.5"/>')
        run = []
    return out


def latency_panel(x, latencies, seconds, panel):
    """The median and maximum acknowledgement latency per second, on a log axis."""
    top, bottom = panel
    peak = max((max(v) for v in latencies.values()), default=1)
    hi = 10 ** max(1, math.ceil(math.log10(max(peak, 1))))
    y = Log10(1, hi, bottom, top)
    ticks = [(10 ** k, ms_label(10 ** k)) for k in range(int(round(math.log10(hi))) + 1)]
    out = y_axis(y, ticks, panel, "ack latency")
    for q, colour, cls in ((0.5, P50_COLOUR, "p50"), (1.0, MAX_COLOUR, "max")):
        points = []
        for second in range(seconds):
            values = latencies.get(second)
            points.append((x(second + 0.5), y(max(nearest_rank(values, q), 1)))
                          if values else None)
        out.extend(polylines(points, colour, cls))
    return out


def fault_colours(windows):
    kinds = sorted({w.fault for w in windows})
    return {kind: FAULT_COLOURS[i % len(FAULT_COLOURS)] for i, kind in enumerate(kinds)}


def fault_rects(x, windows, colours):
    """One translucent rectangle per fault window, across both panels."""
    out = []
    for w in windows:
        x0, x1 = x(max(w.start_ms, 0) / 1000), x(max(w.end_ms, 0) / 1000)
        tip = f"{w.fault} {w.target}: {w.start_ms / 1000:g}-{w.end_ms / 1000:g} s".replace("  ",
                                                                                          " ")
        if w.stop_line is None:
            tip += " (never stopped)"
        out.append(f'<rect class="fault" data-fault={quoteattr(w.fault)} '
                   f'data-target={quoteattr(w.target)} data-start-ms="{w.start_ms}" '
                   f'data-end-ms="{w.end_ms}" x="{x0:.1f}" y="{TOP_PANEL[0]}" '
                   f'width="{max(x1 - x0, 1):.1f}" height="{BOTTOM_PANEL[1] - TOP_PANEL[0]}" '
                   f'fill="{colours[w.fault]}" fill-opacity="{FAULT_OPACITY}">'
                   f"<title>{escape(tip)}</title></rect>")
    return out


def legend(colours):
    x, y = RIGHT + 20, TOP_PANEL[0] + 10
    out = [f'<rect class="legend-swatch" x="{x}" y="{y - 9}" width="14" height="10" '
           f'fill="{BAR_COLOUR}"/>', text(x + 20, y, "acks / s", anchor="start")]
    for colour, name in ((P50_COLOUR, "latency p50"), (MAX_COLOUR, "latency max")):
        y += 20
        out.append(line(x, y - 4, x + 14, y - 4, colour, 2))
        out.append(text(x + 20, y, name, anchor="start"))
    if colours:
        y += 30
        out.append(text(x, y, "faults", anchor="start", extra=' font-weight="bold"'))
    for kind, colour in colours.items():
        y += 20
        out.append(f'<rect class="legend-swatch" x="{x}" y="{y - 9}" width="14" height="10" '
                   f'fill="{colour}" fill-opacity="{FAULT_OPACITY * 2}" stroke="{colour}"/>')
        out.append(text(x + 20, y, kind, anchor="start"))
    return out


# ---------------------------------------------------------------------------------------------
# The picture


def render(events, title="Strata fault campaign"):
    """The SVG text of a history's timeline."""
    last_ms = end_ms(events)
    seconds = last_ms // 1000 + 1
    x = Linear(0, seconds, LEFT, RIGHT)
    acks, latencies = ack_series(events)
    windows = checker.fault_windows(events)
    colours = fault_colours(windows)
    body = [f'<rect class="background" width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
            text(WIDTH / 2, 30, title, size=16, extra=' font-weight="bold"')]
    body += x_axis(x, seconds, TOP_PANEL) + x_axis(x, seconds, BOTTOM_PANEL)
    body += ack_panel(x, acks, TOP_PANEL)
    body += latency_panel(x, latencies, seconds, BOTTOM_PANEL)
    body += fault_rects(x, windows, colours)
    body += legend(colours)
    body.append(text((LEFT + RIGHT) / 2, TOP_PANEL[0] - 8,
                     "acknowledged sends per second (all producers)", size=12))
    body.append(text((LEFT + RIGHT) / 2, BOTTOM_PANEL[0] - 8,
                     "acknowledgement latency per second: p50 and max (log scale)", size=12))
    body.append(text((LEFT + RIGHT) / 2, HEIGHT - 25, "time since the campaign's start (s)"))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif">\n'
            + "\n".join(body) + "\n</svg>\n")


def draw(events, path, title="Strata fault campaign"):
    """Writes the timeline of a history (a list of event dicts) to an SVG file."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(render(events, title))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("history", help="the history, JSON Lines")
    parser.add_argument("out", help="the SVG file to write")
    parser.add_argument("--title", default=None, help="the picture's title")
    args = parser.parse_args(argv)
    events, numbers, malformed = checker.load(args.history)
    if not malformed:
        _, malformed = checker.index_history(events, numbers)
    if malformed:
        print(f"{args.history}:{malformed.line}: malformed history: {malformed.reason}",
              file=sys.stderr)
        return 2
    draw(events, args.out, args.title or os.path.basename(args.history))
    return 0


if __name__ == "__main__":
    sys.exit(main())
