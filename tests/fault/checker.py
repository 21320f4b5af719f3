#!/usr/bin/env python3
"""Checks the history of a fault-injection campaign against Strata for lost, duplicated,
reordered and invented records. Standard library only.

    python3 tests/fault/checker.py HISTORY.jsonl [--json OUT]

Prints a table (one row per anomaly kind with its count, then plain statistics, then examples of
each anomaly found); --json also writes the result (for a malformed history too). Exit status:
0 no anomaly, 1 at least one anomaly, 2 the history is malformed (the message on stderr names
the line and the reason). In-process, `check(events)` returns the same result as a dict, and
`load(path)` reads a history file.

History
-------
JSON Lines, one event per line; blank lines are skipped but still counted, so line numbers are
those of the file. Every event has "time_ms" (integer, milliseconds since the campaign's start;
a wall clock stepped back may make it negative), "process" (string) and "type" (string). A
process's kind is its name up to the first "-": "producer-0" is a producer, "consumer-0" a plain
consumer, "group-0" a consumer-group member, "final" the read after the faults heal, "nemesis"
the fault injector.

  invoke   {"f":"send","value":"p0-17","partition":2}          a producer starts a send
  ok       {"f":"send","value":"p0-17","partition":2,"offset":123}
                                                               acknowledged (acks=all)
  info     {"f":"send","value":"p0-17","partition":2,"error":"..."}
                                                               outcome unknown
  read     {"partition":2,"offset":123,"value":"p0-17"}         (group members add "group")
  commit   {"group":"g1","partition":2,"offset":124}            next offset to read
  restart  {"reason":"..."}                                     the process's read positions reset
  start / stop  {"fault":"kill","target":"broker-2"}            a fault window (nemesis)

Values are globally unique. Each invoke has at most one completion (ok or info), from the same
process, with the same partition, after it in the file; a send never completed counts as info.
Only consumers, group members (whose reads name their "group") and the final read read.
Events of other types ("note", ...) and sends whose "f" is not "send" are ignored. Anything
else that breaks these rules makes the history malformed.

Within one process, the order of its lines is the order of its events; time_ms is used only for
the fault windows and the examples. A group member whose assignment changes (a rebalance) resumes
from its group's committed offset, which may be below what it last read: the harness logs a
restart for it then, or the re-read counts as nonmonotonic.

Anomalies
---------
  lost                  an acknowledged value that nobody (any process, the final read included)
                        ever read.
  lost_below_read       the strong form: a lost value whose acknowledged offset is at or below
                        the highest offset the final read reached in its partition (the final
                        read went past it and did not see it). Every one is also counted as lost.
  acked_missing_from_final
                        an acknowledged value that some consumer or group member read during the
                        campaign but the final read did not contain: the log lost a record that
                        had been acknowledged and consumed (a truncation below the high watermark
                        with nothing written over it, which no other rule catches).
  duplicate             one value read at two or more distinct (partition, offset) positions.
  inconsistent_offset   one (partition, offset) read holding two different values; or an
                        acknowledgement that disagrees with the reads: its (partition, offset)
                        was read holding another value, its value was read at another position,
                        or another acknowledgement claims the same position for another value.
                        Counted once per position and once per disagreeing acknowledgement.
  aborted_read          a value read by a consumer or group member that was never acknowledged
                        (its send ended in info or never ended) and is not in the final read:
                        it was visible, then gone.
  phantom_read          a read of a value no producer ever sent (no invoke). Counted per value.
  nonmonotonic          within one plain consumer or one group member, per partition, an offset
                        read at or below the one it read before, with no restart of that process
                        in between. Counted per backward step.
  skip                  a plain consumer whose consecutive reads of a partition (no restart in
                        between) jump from offset a to b > a + 1 skips every offset strictly
                        between them that the final read holds. For a group (all its members
                        together) and a partition: every offset the final read holds that is at
                        or above the lowest offset any member read there and below the group's
                        highest committed offset there must have been read by some member.
                        Counted per skipped offset; an example is one jump or one run of offsets.
  final_read_gap        in the final read of a partition, an offset missing between the first
                        and the last offset it read (offsets are dense). Counted per offset.
  out_of_range          a consumer or group member was told its position is out of range
                        (an "out_of_range" event): positions come only from records it read
                        and offsets it committed, so the log refused an offset it had itself
                        made readable. Counted per event.

Counts are of distinct values unless said otherwise; each kind keeps up to 10 examples, naming
the lines, values and offsets involved. A history without any final read leaves the rules that
need one unjudged, and the result says so in "warnings".
"""
import argparse
import json
import sys
from collections import defaultdict, namedtuple
from dataclasses import dataclass

KINDS = (
    "lost",
    "lost_below_read",
    "acked_missing_from_final",
    "duplicate",
    "inconsistent_offset",
    "aborted_read",
    "phantom_read",
    "nonmonotonic",
    "skip",
    "final_read_gap",
    "out_of_range",
)

DESCRIPTIONS = {
    "lost": "acknowledged, never read by anyone",
    "lost_below_read": "lost, at or below the final read's highest offset",
    "acked_missing_from_final": "acknowledged, read, then absent from the final read",
    "duplicate": "one value at two or more positions",
    "inconsistent_offset": "two values at one position, or an ack the reads disagree with",
    "aborted_read": "unacknowledged value read, then absent from the final read",
    "phantom_read": "read of a value never sent",
    "nonmonotonic": "a process read a partition backwards without a restart",
    "skip": "offsets a consumer or group passed over",
    "final_read_gap": "offsets missing inside the final read",
    "out_of_range": "a consumer's own position refused as out of range",
}

MAX_EXAMPLES = 10
# How many lines or offsets one example lists before it only counts them.
MAX_LISTED = 10

READER_KINDS = ("consumer", "group", "final")

Malformed = namedtuple("Malformed", "line reason")
Read = namedtuple("Read", "line process kind group partition offset value")
Commit = namedtuple("Commit", "line group partition offset")
Window = namedtuple("Window", "fault target start_ms end_ms start_line stop_line")


@dataclass(slots=True)
class Send:
    """One value's send: its invoke and, once completed, its status ("ok" or "info")."""
    value: str
    process: str
    partition: int
    invoke_line: int
    invoke_ms: int
    status: str = None
    offset: int = None
    done_line: int = None
    done_ms: int = None


# ---------------------------------------------------------------------------------------------
# Reading and validating a history


def load(path):
    """Reads a history file: (events, line_numbers, None), or ([], [], Malformed) when a line is
    not a JSON object. Field and structure checks are check()'s."""
    try:
        with open(path, encoding="utf-8") as f:
            return parse_lines(f)
    except OSError as e:
        return [], [], Malformed(0, f"cannot read the history: {e.strerror}")
    except UnicodeDecodeError as e:
        return [], [], Malformed(0, f"not UTF-8 text: {e}")


def parse_lines(lines):
    """Parses JSON Lines: (events, line_numbers, Malformed or None). Blank lines are skipped."""
    events, numbers = [], []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            event = json.loads(text)
        except json.JSONDecodeError as e:
            return [], [], Malformed(number, f"not JSON: {e.msg} (column {e.colno})")
        if not isinstance(event, dict):
            return [], [], Malformed(number, "not a JSON object")
        events.append(event)
        numbers.append(number)
    return events, numbers, None


def process_kind(name):
    """"producer", "consumer", "group", "final", "nemesis" or "other", from the name's prefix."""
    kind = name.split("-", 1)[0]
    if kind in ("producer", "consumer", "group", "final", "nemesis"):
        return kind
    return "other"


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def _is_index(x):
    return _is_int(x) and x >= 0


SEND_FIELDS = (("value", "str"), ("partition", "index"))
SCHEMAS = {
    "invoke": SEND_FIELDS,
    "ok": SEND_FIELDS + (("offset", "index"),),
    "info": SEND_FIELDS,
    "read": (("partition", "index"), ("offset", "index"), ("value", "str")),
    "commit": (("group", "str"), ("partition", "index"), ("offset", "index")),
    "restart": (),
    "start": (("fault", "str"),),
    "stop": (("fault", "str"),),
}


def _field_error(event, name, kind):
    if name not in event:
        return f'missing "{name}"'
    if kind == "str" and not isinstance(event[name], str):
        return f'"{name}" must be a string'
    if kind == "index" and not _is_index(event[name]):
        return f'"{name}" must be an integer >= 0'
    if kind == "int" and not _is_int(event[name]):
        return f'"{name}" must be an integer'
    return None


def event_error(event):
    """Why one event breaks the format, or None. Sends with another "f" and unknown types pass
    (they are ignored)."""
    for name, kind in (("time_ms", "int"), ("process", "str"), ("type", "str")):
        error = _field_error(event, name, kind)
        if error:
            return error
    etype = event["type"]
    if etype not in SCHEMAS:
        return None
    if etype in ("invoke", "ok", "info"):
        error = _field_error(event, "f", "str")
        if error or event["f"] != "send":
            return error
    for name, kind in SCHEMAS[etype]:
        error = _field_error(event, name, kind)
        if error:
            return error
    if etype in ("start", "stop") and "target" in event and not isinstance(event["target"], str):
        return '"target" must be a string'
    if etype == "read":
        kind = process_kind(event["process"])
        if kind not in READER_KINDS:
            return f'read by "{event["process"]}", which is not a consumer, group member or final'
        if kind == "group":
            return _field_error(event, "group", "str")
    return None


def is_send(event):
    return event["type"] in ("invoke", "ok", "info") and event.get("f") == "send"


# ---------------------------------------------------------------------------------------------
# The history, indexed


class History:
    """The events of a valid history, sorted into sends, reads, commits, restarts and faults."""

    def __init__(self):
        self.sends = {}            # value -> Send
        self.reads = []            # Read, in line order
        self.commits = []          # Commit, in line order
        self.steps = []            # ("read", Read) / ("restart", process, line), in line order
        self.nemesis = []          # (line, event) of start/stop events
        self.lines = 0
        self.ignored = 0
        self.restarts = 0
        self.end_ms = 0


def _record_send(history, event, line):
    """Adds one invoke/ok/info to history.sends; a Malformed when it breaks the send rules."""
    value, etype = event["value"], event["type"]
    send = history.sends.get(value)
    if etype == "invoke":
        if send:
            return Malformed(line, f'value "{value}" already invoked on line {send.invoke_line}')
        history.sends[value] = Send(value, event["process"], event["partition"], line,
                                    event["time_ms"])
        return None
    if not send:
        return Malformed(line, f'{etype} for value "{value}", which was never invoked before')
    if send.status:
        return Malformed(line, f'second completion for value "{value}" '
                               f'(first on line {send.done_line})')
    if event["process"] != send.process:
        return Malformed(line, f'{etype} for value "{value}" by "{event["process"]}", but '
                               f'"{send.process}" invoked it (line {send.invoke_line})')
    if event["partition"] != send.partition:
        return Malformed(line, f'{etype} for value "{value}" names partition '
                               f'{event["partition"]}, its invoke {send.partition} '
                               f'(line {send.invoke_line})')
    send.status, send.offset = etype, event.get("offset")
    send.done_line, send.done_ms = line, event["time_ms"]
    return None


def _record(history, event, line):
    """Files one valid event into the history; a Malformed when it breaks the send rules."""
    etype, process = event["type"], event["process"]
    if is_send(event):
        return _record_send(history, event, line)
    if etype == "read":
        read = Read(line, process, process_kind(process), event.get("group"),
                    event["partition"], event["offset"], event["value"])
        history.reads.append(read)
        history.steps.append(("read", read))
    elif etype == "commit":
        history.commits.append(Commit(line, event["group"], event["partition"], event["offset"]))
    elif etype == "restart":
        history.restarts += 1
        history.steps.append(("restart", process, line))
    elif etype in ("start", "stop"):
        history.nemesis.append((line, event))
    else:
        history.ignored += 1
    return None


def index_history(events, line_numbers=None):
    """(History, None) for a valid history, or (None, Malformed) naming the first bad line."""
    if line_numbers is None:
        line_numbers = range(1, len(events) + 1)
    history = History()
    for event, line in zip(events, line_numbers):
        if not isinstance(event, dict):
            return None, Malformed(line, "not a JSON object")
        error = event_error(event)
        if error:
            return None, Malformed(line, error)
        malformed = _record(history, event, line)
        if malformed:
            return None, malformed
        history.lines += 1
        history.end_ms = max(history.end_ms, event["time_ms"])
    return history, None


# ---------------------------------------------------------------------------------------------
# Fault windows (shared with report.py)


def fault_windows(events, line_numbers=None):
    """The nemesis's fault windows, in order of their start: a start is closed by the next stop
    with the same fault and target; a start never stopped lasts to the history's last time_ms.
    A stop with no open start is ignored. Tolerates events it does not understand."""
    if line_numbers is None:
        line_numbers = range(1, len(events) + 1)
    end_ms = max((e["time_ms"] for e in events if _is_int(e.get("time_ms"))), default=0)
    open_windows = defaultdict(list)   # (fault, target) -> [(start_ms, start_line)]
    windows = []
    for line, event in zip(line_numbers, events):
        etype = event.get("type")
        if etype not in ("start", "stop") or not isinstance(event.get("fault"), str):
            continue
        if not _is_int(event.get("time_ms")):
            continue
        key = (event["fault"], event.get("target", ""))
        if etype == "start":
            open_windows[key].append((event["time_ms"], line))
        elif open_windows[key]:
            start_ms, start_line = open_windows[key].pop(0)
            windows.append(Window(key[0], key[1], start_ms, event["time_ms"], start_line, line))
    for (fault, target), starts in open_windows.items():
        for start_ms, start_line in starts:
            windows.append(Window(fault, target, start_ms, end_ms, start_line, None))
    windows.sort(key=lambda w: (w.start_ms, w.start_line))
    return windows


def faults_during(windows, start_ms, end_ms):
    """Names ("kill broker-2") of the fault windows overlapping [start_ms, end_ms]."""
    return [f"{w.fault} {w.target}".strip() for w in windows
            if w.start_ms <= end_ms and start_ms <= w.end_ms]


# ---------------------------------------------------------------------------------------------
# Rules


class Anomalies:
    """Counts and up to MAX_EXAMPLES examples of each anomaly kind."""

    def __init__(self):
        self.counts = {kind: 0 for kind in KINDS}
        self.examples = {kind: [] for kind in KINDS}

    def add(self, kind, example, n=1):
        self.counts[kind] += n
        if len(self.examples[kind]) < MAX_EXAMPLES:
            self.examples[kind].append(example)

    def as_dict(self):
        return {kind: {"count": self.counts[kind], "examples": self.examples[kind]}
                for kind in KINDS}


class Index:
    """The reads of a history looked up by value, by position and by the final read."""

    def __init__(self, history):
        self.by_value = defaultdict(list)      # value -> [Read]
        self.by_position = defaultdict(list)   # (partition, offset) -> [Read]
        self.final_offsets = defaultdict(set)  # partition -> offsets the final read holds
        self.final_values = set()
        self.has_final = False
        for read in history.reads:
            self.by_value[read.value].append(read)
            self.by_position[(read.partition, read.offset)].append(read)
            if read.kind == "final":
                self.has_final = True
                self.final_offsets[read.partition].add(read.offset)
                self.final_values.add(read.value)
        self.final_max = {p: max(offsets) for p, offsets in self.final_offsets.items()}
        self.acks_by_position = defaultdict(list)   # (partition, offset) -> [Send]
        for send in history.sends.values():
            if send.status == "ok":
                self.acks_by_position[(send.partition, send.offset)].append(send)


def _lines(reads):
    lines = sorted({r.line for r in reads})
    return lines[:MAX_LISTED]


def _acked(history):
    return [s for s in history.sends.values() if s.status == "ok"]


def check_lost(history, index, windows, anomalies):
    for send in _acked(history):
        if send.value in index.by_value:
            continue
        example = {"value": send.value, "partition": send.partition, "offset": send.offset,
                   "invoke_line": send.invoke_line, "ack_line": send.done_line,
                   "faults_during_send": faults_during(windows, send.invoke_ms, send.done_ms)}
        anomalies.add("lost", example)
        final_max = index.final_max.get(send.partition)
        if final_max is not None and send.offset <= final_max:
            anomalies.add("lost_below_read", dict(example, final_highest_offset=final_max))


def check_acked_missing_from_final(history, index, windows, anomalies):
    if not index.has_final:
        return
    for send in _acked(history):
        reads = index.by_value.get(send.value)
        if not reads or send.value in index.final_values:
            continue
        anomalies.add("acked_missing_from_final", {
            "value": send.value, "partition": send.partition, "offset": send.offset,
            "ack_line": send.done_line, "read_lines": _lines(reads),
            "final_highest_offset": index.final_max.get(send.partition),
            "faults_during_send": faults_during(windows, send.invoke_ms, send.done_ms)})


def _positions(reads):
    """{(partition, offset): [lines]} of some reads."""
    positions = defaultdict(list)
    for read in reads:
        positions[(read.partition, read.offset)].append(read.line)
    return positions


def check_duplicate(index, anomalies):
    for value, reads in index.by_value.items():
        positions = _positions(reads)
        if len(positions) < 2:
            continue
        anomalies.add("duplicate", {
            "value": value,
            "positions": [{"partition": p, "offset": o, "lines": lines[:MAX_LISTED]}
                          for (p, o), lines in sorted(positions.items())]})


def _ack_disagreements(send, index):
    """The reads and acknowledgements that contradict one acknowledged send."""
    position = (send.partition, send.offset)
    found = []
    for read in index.by_position.get(position, []):
        if read.value != send.value:
            found.append({"why": "position read holding another value", "line": read.line,
                          "process": read.process, "value": read.value})
    for read in index.by_value.get(send.value, []):
        if (read.partition, read.offset) != position:
            found.append({"why": "value read at another position", "line": read.line,
                          "process": read.process, "partition": read.partition,
                          "offset": read.offset})
    for other in index.acks_by_position.get(position, []):
        if other.value != send.value:
            found.append({"why": "another value acknowledged at this position",
                          "line": other.done_line, "value": other.value})
    return found


def check_inconsistent_offset(history, index, anomalies):
    for (partition, offset), reads in sorted(index.by_position.items()):
        values = defaultdict(list)
        for read in reads:
            values[read.value].append(read.line)
        if len(values) > 1:
            anomalies.add("inconsistent_offset", {
                "form": "two values at one position", "partition": partition, "offset": offset,
                "values": {v: lines[:MAX_LISTED] for v, lines in sorted(values.items())}})
    for send in sorted(_acked(history), key=lambda s: s.done_line):
        found = _ack_disagreements(send, index)
        if found:
            anomalies.add("inconsistent_offset", {
                "form": "acknowledgement disagrees with reads", "value": send.value,
                "partition": send.partition, "offset": send.offset, "ack_line": send.done_line,
                "disagreements": found[:MAX_LISTED]})


def check_aborted_and_phantom(history, index, anomalies):
    for value, reads in index.by_value.items():
        send = history.sends.get(value)
        positions = [{"partition": p, "offset": o, "lines": lines[:MAX_LISTED]}
                     for (p, o), lines in sorted(_positions(reads).items())]
        if send is None:
            anomalies.add("phantom_read", {"value": value, "positions": positions})
            continue
        if send.status == "ok" or not index.has_final or value in index.final_values:
            continue
        seen_by = sorted({r.process for r in reads if r.kind != "final"})
        if seen_by:
            anomalies.add("aborted_read", {
                "value": value, "send": send.status or "never completed",
                "invoke_line": send.invoke_line, "read_by": seen_by, "positions": positions})


def _skipped(index, partition, low, high):
    """Offsets strictly between low and high that the final read holds, ascending."""
    held = index.final_offsets.get(partition, ())
    if high - low - 1 <= len(held):
        return [o for o in range(low + 1, high) if o in held]
    return sorted(o for o in held if low < o < high)


def _consumer_step(previous, read, index, anomalies):
    """Judges one read against the same process's previous read of the partition."""
    if previous is None:
        return
    if read.offset <= previous.offset:
        anomalies.add("nonmonotonic", {
            "process": read.process, "partition": read.partition,
            "previous_offset": previous.offset, "previous_line": previous.line,
            "offset": read.offset, "line": read.line})
        return
    if read.kind != "consumer":
        return
    skipped = _skipped(index, read.partition, previous.offset, read.offset)
    if skipped:
        anomalies.add("skip", {
            "kind": "consumer", "process": read.process, "partition": read.partition,
            "from_offset": previous.offset, "from_line": previous.line,
            "to_offset": read.offset, "to_line": read.line,
            "skipped": skipped[:MAX_LISTED], "skipped_count": len(skipped)}, n=len(skipped))


def check_order(history, index, anomalies):
    """nonmonotonic (consumers and group members) and skip (plain consumers), walking each
    process's reads in line order; a restart of a process forgets its positions."""
    last = {}   # (process, partition) -> previous Read
    for step in history.steps:
        if step[0] == "restart":
            process = step[1]
            for key in [k for k in last if k[0] == process]:
                del last[key]
            continue
        read = step[1]
        if read.kind not in ("consumer", "group"):
            continue
        key = (read.process, read.partition)
        _consumer_step(last.get(key), read, index, anomalies)
        last[key] = read


def _runs(offsets):
    """Sorted offsets as [first, last] runs of consecutive ones."""
    runs = []
    for o in offsets:
        if runs and o == runs[-1][1] + 1:
            runs[-1][1] = o
        else:
            runs.append([o, o])
    return runs


def check_group_skip(history, index, anomalies):
    read_by_group = defaultdict(set)     # (group, partition) -> offsets members read
    for read in history.reads:
        if read.kind == "group":
            read_by_group[(read.group, read.partition)].add(read.offset)
    top_commit = {}                      # (group, partition) -> Commit with the highest offset
    for commit in history.commits:
        key = (commit.group, commit.partition)
        if key not in top_commit or commit.offset > top_commit[key].offset:
            top_commit[key] = commit
    for (group, partition), commit in sorted(top_commit.items()):
        read = read_by_group.get((group, partition))
        if not read:
            continue
        lowest = min(read)
        missing = sorted(o for o in index.final_offsets.get(partition, ())
                         if lowest <= o < commit.offset and o not in read)
        for first, last in _runs(missing):
            anomalies.add("skip", {
                "kind": "group", "group": group, "partition": partition,
                "first_offset": first, "last_offset": last, "skipped_count": last - first + 1,
                "highest_commit": commit.offset, "commit_line": commit.line,
                "lowest_read": lowest}, n=last - first + 1)


def check_final_read_gap(index, anomalies):
    for partition, offsets in sorted(index.final_offsets.items()):
        held = sorted(offsets)
        for before, after in zip(held, held[1:]):
            if after > before + 1:
                anomalies.add("final_read_gap", {
                    "partition": partition, "first_missing": before + 1,
                    "last_missing": after - 1, "count": after - before - 1,
                    "offset_before": before, "offset_after": after}, n=after - before - 1)


# ---------------------------------------------------------------------------------------------
# Statistics and the result


def stats(history, windows):
    sends = history.sends.values()
    reads = {kind: 0 for kind in READER_KINDS}
    for read in history.reads:
        reads[read.kind] += 1
    faults = defaultdict(int)
    for _, event in history.nemesis:
        if event["type"] == "start":
            faults[event["fault"]] += 1
    return {
        "events": history.lines,
        "ignored_events": history.ignored,
        "duration_ms": history.end_ms,
        "sends_invoked": len(sends),
        "sends_ok": sum(1 for s in sends if s.status == "ok"),
        "sends_info": sum(1 for s in sends if s.status != "ok"),
        "sends_never_completed": sum(1 for s in sends if s.status is None),
        "reads": reads,
        "commits": len(history.commits),
        "restarts": history.restarts,
        "faults": dict(sorted(faults.items())),
        "fault_windows": len(windows),
        "partitions": sorted({s.partition for s in sends} | {r.partition for r in history.reads}),
    }


def malformed_result(malformed):
    """The result for a malformed history: every anomaly kind at 0 (none was judged), not valid,
    and "malformed" naming the line and the reason."""
    return {"anomalies": Anomalies().as_dict(), "stats": {}, "valid": False, "warnings": [],
            "malformed": malformed._asdict()}


def check(events, line_numbers=None):
    """Checks a history (a list of event dicts, in file order). Returns
    {"anomalies": {kind: {"count", "examples"}}, "stats": {...}, "valid": bool,
     "warnings": [...], "malformed": None or {"line", "reason"}}.
    line_numbers gives each event's line in its file (default: 1, 2, ...). A malformed history
    gives valid False, every count 0, empty stats, and "malformed" saying where and why."""
    history, malformed = index_history(events, line_numbers)
    if malformed:
        return malformed_result(malformed)
    windows = fault_windows(events, line_numbers)
    index = Index(history)
    anomalies = Anomalies()
    check_lost(history, index, windows, anomalies)
    check_acked_missing_from_final(history, index, windows, anomalies)
    check_duplicate(index, anomalies)
    check_inconsistent_offset(history, index, anomalies)
    check_aborted_and_phantom(history, index, anomalies)
    check_order(history, index, anomalies)
    check_group_skip(history, index, anomalies)
    check_final_read_gap(index, anomalies)
    check_out_of_range(events, line_numbers, anomalies)
    warnings = []
    if not index.has_final:
        warnings.append("no final read: lost_below_read, acked_missing_from_final, aborted_read, "
                        "skip and final_read_gap were not judged")
    return {"anomalies": anomalies.as_dict(), "stats": stats(history, windows),
            "valid": not any(anomalies.counts.values()), "warnings": warnings,
            "malformed": None}


def check_out_of_range(events, line_numbers, anomalies):
    for n, e in enumerate(events):
        if e.get("type") == "out_of_range":
            line = line_numbers[n] if line_numbers else n + 1
            anomalies.add("out_of_range", {"line": line, "process": e.get("process"),
                                           "partition": e.get("partition"),
                                           "error": e.get("error")})


# ---------------------------------------------------------------------------------------------
# Command line


def summary(result):
    """The human summary: anomaly table, statistics, warnings, then examples."""
    out = [f"{'anomaly':<26} {'count':>7}  meaning", "-" * 92]
    for kind in KINDS:
        count = result["anomalies"][kind]["count"]
        out.append(f"{kind:<26} {count:>7}  {DESCRIPTIONS[kind]}")
    out.append("")
    s = result["stats"]
    out.append(f"events {s['events']} ({s['ignored_events']} ignored), "
               f"{s['duration_ms'] / 1000:.1f} s, partitions {s['partitions']}")
    out.append(f"sends: {s['sends_invoked']} invoked, {s['sends_ok']} ok, {s['sends_info']} info "
               f"({s['sends_never_completed']} never completed)")
    out.append("reads: " + ", ".join(f"{k} {n}" for k, n in s["reads"].items())
               + f"; commits {s['commits']}; restarts {s['restarts']}")
    faults = ", ".join(f"{k} {n}" for k, n in s["faults"].items()) or "none"
    out.append(f"faults started: {faults}")
    for warning in result["warnings"]:
        out.append(f"warning: {warning}")
    for kind in KINDS:
        examples = result["anomalies"][kind]["examples"]
        if examples:
            out.append("")
            out.append(f"{kind} examples:")
            out.extend("  " + json.dumps(e, sort_keys=True) for e in examples)
    out.append("")
    out.append("VALID" if result["valid"] else "INVALID")
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("history", help="the history, JSON Lines")
    parser.add_argument("--json", metavar="OUT", help="also write the result as JSON to OUT")
    args = parser.parse_args(argv)
    events, numbers, malformed = load(args.history)
    result = malformed_result(malformed) if malformed else check(events, numbers)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2, sort_keys=True)
            f.write("\n")
    if result["malformed"]:
        m = result["malformed"]
        print(f"{args.history}:{m['line']}: malformed history: {m['reason']}", file=sys.stderr)
        return 2
    print(summary(result))
    return 0 if result["valid"] else 1


if __name__ == "__main__":
    sys.exit(main())
