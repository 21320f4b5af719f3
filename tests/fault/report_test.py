#!/usr/bin/env python3
"""Tests of tests/fault/report.py: a tiny history renders to SVG that parses as XML, with one
shaded rectangle per fault window (a window never stopped reaching the history's end), bars
for the acknowledged sends and both latency lines.

Run from the repository's root as `python3 -m unittest tests/fault/report_test.py`, or directly
as `python3 tests/fault/report_test.py`.
"""
import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import report  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"


def tiny_history():
    """Sends over 4 s (acked in seconds 0, 1 and 3), a kill window and a pause never stopped."""
    e = []

    def add(t, process, etype, **fields):
        e.append(dict(time_ms=t, process=process, type=etype, **fields))

    add(0, "nemesis", "start", fault="kill", target="broker-2")
    for i, (sent, acked) in enumerate([(10, 15), (20, 40), (900, 1500), (1100, 1200),
                                       (3000, 3300)]):
        add(sent, "producer-0", "invoke", f="send", value=f"v{i}", partition=0)
        add(acked, "producer-0", "ok", f="send", value=f"v{i}", partition=0, offset=i)
    add(1800, "nemesis", "stop", fault="kill", target="broker-2")
    add(2500, "nemesis", "start", fault="pause", target="broker-1")
    add(3900, "final", "read", partition=0, offset=0, value="v0")
    return e


def rects(root, cls):
    return [r for r in root.iter(SVG + "rect") if r.get("class") == cls]


class ReportTest(unittest.TestCase):
    def test_svg_parses_with_one_rect_per_fault_window(self):
        root = ET.fromstring(report.render(tiny_history(), "tiny <campaign>"))
        faults = rects(root, "fault")
        self.assertEqual([(r.get("data-fault"), r.get("data-start-ms"), r.get("data-end-ms"))
                          for r in faults],
                         [("kill", "0", "1800"), ("pause", "2500", "3900")])
        self.assertNotEqual(faults[0].get("fill"), faults[1].get("fill"))
        self.assertEqual(len(rects(root, "bar")), 3)     # seconds 0, 1 and 3
        self.assertEqual(len([p for p in root.iter(SVG + "polyline") if p.get("class") == "p50"]),
                         1)                            # seconds 0-1; second 3 is a lone point
        titles = [t.text for t in root.iter(SVG + "text")]
        self.assertIn("tiny <campaign>", titles)
        self.assertIn("kill", titles)
        self.assertIn("pause", titles)

    def test_latency_series(self):
        acks, latencies = report.ack_series(tiny_history())
        self.assertEqual(acks, {0: 2, 1: 2, 3: 1})
        self.assertEqual(latencies[1], [600, 100])
        self.assertEqual(report.nearest_rank(latencies[1], 0.5), 100)

    def test_empty_history_draws_axes(self):
        root = ET.fromstring(report.render([], "empty"))
        self.assertEqual(rects(root, "fault"), [])

    def test_command_line_writes_the_file(self):
        import json
        with tempfile.TemporaryDirectory() as tmp:
            history, out = os.path.join(tmp, "h.jsonl"), os.path.join(tmp, "h.svg")
            with open(history, "w") as f:
                f.writelines(json.dumps(e) + "\n" for e in tiny_history())
            proc = subprocess.run([sys.executable, os.path.join(HERE, "report.py"), history, out,
                                   "--title", "T"], capture_output=True, text=True, timeout=60)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(len(rects(ET.parse(out).getroot(), "fault")), 2)
            with open(history, "a") as f:
                f.write("not json\n")
            proc = subprocess.run([sys.executable, os.path.join(HERE, "report.py"), history, out],
                                  capture_output=True, text=True, timeout=60)
            self.assertEqual(proc.returncode, 2)
            self.assertIn("h.jsonl:15:", proc.stderr)


if __name__ == "__main__":
    unittest.main()
