#!/usr/bin/env python3
"""Tests of tests/fault/checker.py on small synthetic histories: one clean history, then one
history per anomaly kind (each asserting exact counts, so a rule that stops firing, or fires
twice, fails), the cases that must not be anomalies, and the command line's exit statuses.

Run from the repository's root as `python3 -m unittest tests/fault/checker_test.py`, or directly
as `python3 tests/fault/checker_test.py`.
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import checker  # noqa: E402


class History:
    """Builds a history one event at a time; each event is 10 ms after the one before."""

    def __init__(self):
        self.events = []

    def add(self, process, etype, **fields):
        self.events.append(dict(time_ms=10 * len(self.events), process=process, type=etype,
                                **fields))
        return self

    def invoke(self, value, partition, process="producer-0"):
        return self.add(process, "invoke", f="send", value=value, partition=partition)

    def ok(self, value, partition, offset, process="producer-0"):
        return self.add(process, "ok", f="send", value=value, partition=partition,
                        offset=offset)

    def info(self, value, partition, process="producer-0"):
        return self.add(process, "info", f="send", value=value, partition=partition,
                        error="timeout")

    def sent(self, value, partition, offset, process="producer-0"):
        """An acknowledged send: invoke then ok."""
        return self.invoke(value, partition, process).ok(value, partition, offset, process)

    def read(self, process, partition, offset, value, group=None):
        fields = dict(partition=partition, offset=offset, value=value)
        if group is not None:
            fields["group"] = group
        return self.add(process, "read", **fields)

    def commit(self, group, partition, offset, process="group-0"):
        return self.add(process, "commit", group=group, partition=partition, offset=offset)

    def restart(self, process):
        return self.add(process, "restart", reason="test")

    def fault(self, etype, fault="kill", target="broker-2"):
        return self.add("nemesis", etype, fault=fault, target=target)


def clean_history():
    """Three acknowledged values in partition 0, read in order by a consumer, a group member
    (with commits) and the final read, with a fault window and a note in the middle."""
    h = History()
    h.fault("start")
    for i in range(3):
        h.sent(f"v{i}", 0, i)
    h.add("nemesis", "note", text="harmless")
    h.fault("stop")
    for i in range(3):
        h.read("consumer-0", 0, i, f"v{i}")
        h.read("group-0", 0, i, f"v{i}", group="g1")
    h.commit("g1", 0, 3)
    for i in range(3):
        h.read("final", 0, i, f"v{i}")
    return h


def counts(result):
    return {kind: a["count"] for kind, a in result["anomalies"].items()}


def only(result, **expected):
    """The counts a result should have: the ones named, every other kind 0."""
    want = {kind: 0 for kind in checker.KINDS}
    want.update(expected)
    return counts(result), want


class CleanHistoryTest(unittest.TestCase):
    def test_clean_history_is_valid(self):
        result = checker.check(clean_history().events)
        self.assertIsNone(result["malformed"])
        self.assertEqual(*only(result))
        self.assertTrue(result["valid"])
        self.assertEqual(result["warnings"], [])

    def test_stats(self):
        h = clean_history().invoke("v3", 1).info("v3", 1).invoke("v4", 1)
        h.fault("start", fault="pause", target="broker-1")
        stats = checker.check(h.events)["stats"]
        self.assertEqual((stats["sends_invoked"], stats["sends_ok"], stats["sends_info"],
                          stats["sends_never_completed"]), (5, 3, 2, 1))
        self.assertEqual(stats["reads"], {"consumer": 3, "group": 3, "final": 3})
        self.assertEqual(stats["faults"], {"kill": 1, "pause": 1})
        self.assertEqual(stats["fault_windows"], 2)
        self.assertEqual(stats["ignored_events"], 1)
        self.assertEqual(stats["commits"], 1)


class LostTest(unittest.TestCase):
    def test_acked_value_never_read_is_lost_below_read(self):
        h = clean_history().sent("v3", 0, 3).sent("v4", 0, 4).read("final", 0, 4, "v4")
        result = checker.check(h.events)
        self.assertEqual(*only(result, lost=1, lost_below_read=1, final_read_gap=1))
        example = result["anomalies"]["lost_below_read"]["examples"][0]
        self.assertEqual((example["value"], example["offset"], example["final_highest_offset"]),
                         ("v3", 3, 4))

    def test_lost_above_the_final_read_is_only_lost(self):
        h = clean_history().sent("v3", 0, 3)
        self.assertEqual(*only(checker.check(h.events), lost=1))

    def test_lost_names_the_faults_during_the_send(self):
        h = History().fault("start").invoke("v0", 0).fault("stop").ok("v0", 0, 0)
        h.fault("start", fault="partition", target="broker-0")
        example = checker.check(h.events)["anomalies"]["lost"]["examples"][0]
        self.assertEqual(example["faults_during_send"], ["kill broker-2"])

    def test_info_send_never_read_is_not_lost(self):
        h = clean_history().invoke("v3", 0).info("v3", 0).invoke("v4", 0)
        self.assertEqual(*only(checker.check(h.events)))

    def test_acked_value_read_then_missing_from_final(self):
        h = clean_history().sent("v3", 0, 3).read("consumer-0", 0, 3, "v3")
        result = checker.check(h.events)
        self.assertEqual(*only(result, acked_missing_from_final=1))
        self.assertEqual(result["anomalies"]["acked_missing_from_final"]["examples"][0]["value"],
                         "v3")


class DuplicateTest(unittest.TestCase):
    def test_value_at_two_positions(self):
        h = clean_history().sent("v3", 0, 3).read("final", 0, 3, "v3").read("final", 0, 4, "v3")
        result = checker.check(h.events)
        # The value read at offset 4 also disagrees with its acknowledgement at offset 3.
        self.assertEqual(*only(result, duplicate=1, inconsistent_offset=1))
        positions = result["anomalies"]["duplicate"]["examples"][0]["positions"]
        self.assertEqual([(p["partition"], p["offset"]) for p in positions], [(0, 3), (0, 4)])

    def test_rereading_one_position_is_not_a_duplicate(self):
        h = clean_history().restart("consumer-0").read("consumer-0", 0, 0, "v0")
        self.assertEqual(*only(checker.check(h.events)))


class InconsistentOffsetTest(unittest.TestCase):
    def test_two_values_at_one_position(self):
        h = clean_history().invoke("v3", 0).invoke("v4", 0)
        h.read("consumer-0", 0, 3, "v3").read("final", 0, 3, "v4")
        result = checker.check(h.events)
        # v3 was read by a consumer, never acknowledged, and is not in the final read.
        self.assertEqual(*only(result, inconsistent_offset=1, aborted_read=1))
        example = result["anomalies"]["inconsistent_offset"]["examples"][0]
        self.assertEqual(example["form"], "two values at one position")
        self.assertEqual(sorted(example["values"]), ["v3", "v4"])

    def test_ack_disagrees_with_the_value_read_at_its_position(self):
        h = clean_history().sent("v3", 0, 3).invoke("v4", 0)
        h.read("final", 0, 3, "v4").read("final", 0, 4, "v3")
        result = checker.check(h.events)
        # v3 acked at 3 but read at 4; position 3 holds v4. One acknowledgement, one count.
        self.assertEqual(*only(result, inconsistent_offset=1))
        example = result["anomalies"]["inconsistent_offset"]["examples"][0]
        self.assertEqual(example["form"], "acknowledgement disagrees with reads")
        self.assertEqual(sorted(d["why"] for d in example["disagreements"]),
                         ["position read holding another value", "value read at another position"])

    def test_ack_at_a_position_read_with_another_value(self):
        h = clean_history().sent("v3", 0, 3).invoke("v4", 0).read("final", 0, 3, "v4")
        result = checker.check(h.events)
        self.assertEqual(*only(result, inconsistent_offset=1, lost=1, lost_below_read=1))

    def test_two_acks_at_one_position(self):
        h = clean_history().sent("v3", 0, 3).sent("v4", 0, 3).read("final", 0, 3, "v3")
        result = checker.check(h.events)
        # v4's ack disagrees with the read and with v3's ack; v3's with v4's ack; v4 is lost.
        self.assertEqual(*only(result, inconsistent_offset=2, lost=1, lost_below_read=1))


class AbortedAndPhantomTest(unittest.TestCase):
    def test_aborted_read(self):
        h = clean_history().invoke("v3", 0).info("v3", 0).read("consumer-0", 0, 3, "v3")
        result = checker.check(h.events)
        self.assertEqual(*only(result, aborted_read=1))
        example = result["anomalies"]["aborted_read"]["examples"][0]
        self.assertEqual((example["value"], example["send"], example["read_by"]),
                         ("v3", "info", ["consumer-0"]))

    def test_unacknowledged_value_in_the_final_read_is_not_aborted(self):
        h = clean_history().invoke("v3", 0).info("v3", 0)
        h.read("consumer-0", 0, 3, "v3").read("final", 0, 3, "v3")
        self.assertEqual(*only(checker.check(h.events)))

    def test_phantom_read(self):
        h = clean_history().read("consumer-0", 0, 3, "ghost").read("group-0", 0, 3, "ghost",
                                                                    group="g1")
        result = checker.check(h.events)
        self.assertEqual(*only(result, phantom_read=1))
        self.assertEqual(result["anomalies"]["phantom_read"]["examples"][0]["value"], "ghost")

    def test_without_a_final_read_aborted_reads_are_not_judged(self):
        h = History().invoke("v0", 0).read("consumer-0", 0, 0, "v0")
        result = checker.check(h.events)
        self.assertEqual(*only(result))
        self.assertEqual(len(result["warnings"]), 1)


class OrderTest(unittest.TestCase):
    def test_nonmonotonic_consumer(self):
        h = clean_history().read("consumer-0", 0, 1, "v1")
        result = checker.check(h.events)
        self.assertEqual(*only(result, nonmonotonic=1))
        example = result["anomalies"]["nonmonotonic"]["examples"][0]
        self.assertEqual((example["previous_offset"], example["offset"]), (2, 1))

    def test_nonmonotonic_group_member(self):
        h = clean_history().read("group-0", 0, 2, "v2", group="g1")
        self.assertEqual(*only(checker.check(h.events), nonmonotonic=1))

    def test_restart_resets_positions(self):
        h = clean_history()
        h.restart("consumer-0").read("consumer-0", 0, 0, "v0").read("consumer-0", 0, 1, "v1")
        h.restart("group-0").read("group-0", 0, 1, "v1", group="g1")
        self.assertEqual(*only(checker.check(h.events)))

    def test_restart_of_another_process_does_not_reset(self):
        h = clean_history().restart("consumer-1").read("consumer-0", 0, 0, "v0")
        self.assertEqual(*only(checker.check(h.events), nonmonotonic=1))

    def test_consumer_skip(self):
        h = History()
        for i in range(5):
            h.sent(f"v{i}", 0, i)
        h.read("consumer-0", 0, 0, "v0").read("consumer-0", 0, 3, "v3")
        h.read("consumer-0", 0, 4, "v4")
        for i in range(5):
            h.read("final", 0, i, f"v{i}")
        result = checker.check(h.events)
        self.assertEqual(*only(result, skip=2))
        example = result["anomalies"]["skip"]["examples"][0]
        self.assertEqual((example["kind"], example["skipped"]), ("consumer", [1, 2]))

    def test_consumer_may_start_anywhere_after_a_restart(self):
        h = History()
        for i in range(5):
            h.sent(f"v{i}", 0, i)
        h.read("consumer-0", 0, 0, "v0").restart("consumer-0").read("consumer-0", 0, 3, "v3")
        for i in range(5):
            h.read("final", 0, i, f"v{i}")
        self.assertEqual(*only(checker.check(h.events)))

    def test_group_skip(self):
        h = History()
        for i in range(6):
            h.sent(f"v{i}", 0, i)
        # Two members share the partition; nobody reads offsets 2 and 3; the group commits 5.
        h.read("group-0", 0, 1, "v1", group="g1").commit("g1", 0, 2)
        h.restart("group-0")
        h.read("group-1", 0, 4, "v4", group="g1").commit("g1", 0, 5, process="group-1")
        for i in range(6):
            h.read("final", 0, i, f"v{i}")
        result = checker.check(h.events)
        self.assertEqual(*only(result, skip=2))
        example = result["anomalies"]["skip"]["examples"][0]
        self.assertEqual((example["kind"], example["group"], example["first_offset"],
                          example["last_offset"]), ("group", "g1", 2, 3))

    def test_group_offsets_above_the_commit_are_not_skips(self):
        h = History()
        for i in range(6):
            h.sent(f"v{i}", 0, i)
        h.read("group-0", 0, 0, "v0", group="g1").read("group-0", 0, 1, "v1", group="g1")
        h.commit("g1", 0, 2)
        for i in range(6):
            h.read("final", 0, i, f"v{i}")
        self.assertEqual(*only(checker.check(h.events)))

    def test_final_read_gap(self):
        h = clean_history().sent("v3", 0, 3).sent("v4", 0, 4).sent("v5", 0, 5)
        h.read("consumer-0", 0, 3, "v3").read("consumer-0", 0, 4, "v4")
        h.read("final", 0, 5, "v5")
        result = checker.check(h.events)
        self.assertEqual(*only(result, final_read_gap=2, acked_missing_from_final=2))
        example = result["anomalies"]["final_read_gap"]["examples"][0]
        self.assertEqual((example["first_missing"], example["last_missing"]), (3, 4))


class OutOfRangeTest(unittest.TestCase):
    def test_a_refused_position_is_reported(self):
        h = clean_history()
        h.add("consumer-0", "out_of_range", partition=0, error="OUT_OF_RANGE: offset 3")
        self.assertEqual(*only(checker.check(h.events), out_of_range=1))


class MalformedTest(unittest.TestCase):
    def check_malformed(self, events, line, reason_part):
        result = checker.check(events)
        self.assertFalse(result["valid"])
        self.assertEqual(*only(result))
        self.assertEqual(result["malformed"]["line"], line)
        self.assertIn(reason_part, result["malformed"]["reason"])

    def test_missing_field(self):
        events = clean_history().events
        del events[2]["offset"]   # v0's ok
        self.check_malformed(events, 3, '"offset"')

    def test_completion_without_invoke(self):
        self.check_malformed(History().ok("v0", 0, 0).events, 1, "never invoked")

    def test_second_completion(self):
        self.check_malformed(History().sent("v0", 0, 0).info("v0", 0).events, 3,
                             "second completion")

    def test_completion_by_another_process(self):
        h = History().invoke("v0", 0).ok("v0", 0, 0, process="producer-1")
        self.check_malformed(h.events, 2, "producer-1")

    def test_value_invoked_twice(self):
        self.check_malformed(History().invoke("v0", 0).invoke("v0", 1).events, 2,
                             "already invoked")

    def test_read_by_a_producer(self):
        self.check_malformed(History().read("producer-0", 0, 0, "v0").events, 1, "not a consumer")

    def test_group_read_without_group(self):
        self.check_malformed(History().read("group-0", 0, 0, "v0").events, 1, '"group"')

    def test_time_must_be_an_integer(self):
        self.check_malformed(History().add("final", "note").events + [
            {"time_ms": 1.5, "process": "final", "type": "note"}], 2, '"time_ms"')

    def test_boolean_is_not_an_offset(self):
        self.check_malformed(History().read("final", 0, True, "v0").events, 1, "integer")


class CommandLineTest(unittest.TestCase):
    def run_cli(self, text, *args):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "history.jsonl")
            with open(path, "w") as f:
                f.write(text)
            out_json = os.path.join(tmp, "result.json")
            proc = subprocess.run(
                [sys.executable, os.path.join(HERE, "checker.py"), path, "--json", out_json,
                 *args], capture_output=True, text=True, timeout=60)
            with open(out_json) as f:
                result = json.load(f)
        return proc, result

    @staticmethod
    def jsonl(events):
        return "".join(json.dumps(e) + "\n" for e in events)

    def test_malformed_line_exits_2_naming_the_line(self):
        text = self.jsonl(clean_history().events[:2]) + "\n" + '{"time_ms": 5, "process": \n'
        proc, result = self.run_cli(text)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("history.jsonl:4:", proc.stderr)
        self.assertIn("not JSON", proc.stderr)
        self.assertEqual(result["malformed"]["line"], 4)

    def test_line_numbers_count_blank_lines(self):
        text = "\n\n" + self.jsonl([{"time_ms": 0, "process": "final", "type": "read"}])
        proc, _ = self.run_cli(text)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("history.jsonl:3:", proc.stderr)

    def test_clean_history_exits_0(self):
        proc, result = self.run_cli(self.jsonl(clean_history().events))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(result["valid"])
        self.assertIn("VALID", proc.stdout)
        for kind in checker.KINDS:
            self.assertIn(kind, proc.stdout)

    def test_anomaly_exits_1(self):
        proc, result = self.run_cli(self.jsonl(clean_history().sent("v3", 0, 3).events))
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(result["anomalies"]["lost"]["count"], 1)
        self.assertFalse(result["valid"])


if __name__ == "__main__":
    unittest.main()
