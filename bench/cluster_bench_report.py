#!/usr/bin/env python3
"""The report of bench/cluster_bench.sh: reads the run's raw figures, prints markdown tables and
writes JSON. Standard library only.

Raw files (in --raw):
  limits.fio.jsonl    fio's 4 KiB write + fdatasync p50/p99 and sequential write bandwidth
  limits.rtt.jsonl    bench/loopback_rtt's raw loopback round trip
  replication.jsonl   {"config": "rf3"|"rf1", "round", "kind": "throughput"|"sync", "result":
                      strata bench produce --json}
  acks.txt            cluster_failover write's log: "A send_us ack_us offset retries" / "E ..."
  trials.jsonl        one line per failover trial: signal, old leader and its epoch, signal time
  epochs.txt          "base_offset last_offset leader_epoch" of every batch of the failover
                      partition (strata log dump, after the run)

A trial's failover time is the first acknowledgement on the new leader minus the signal time:
the first one acknowledged after the signal whose batch is in a newer leader epoch than the old
leader's, or that needed a retry (a retry the new leader answered from its log: the batch was
appended by the old leader, so its epoch is the old one). "First ack after the signal" (any
leader) is reported beside it: after SIGTERM the old leader goes on acknowledging until the
controller has moved its leadership.
"""
import argparse
import bisect
import json
import math
import os
import platform
import statistics
import subprocess
import time


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def nearest_rank(values, q):
    """The q-quantile by nearest rank: p99 of 20 samples is the largest."""
    if not values:
        return None
    s = sorted(values)
    return s[max(0, math.ceil(q * len(s)) - 1)]


def median(values):
    return statistics.median(values) if values else None


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = None
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
            mem_gib = round(kib / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "mem_gib": mem_gib,
            "kernel": platform.release()}


def failover(raw):
    acks = []  # (ack_us, send_us, offset, retries)
    errors = 0
    with open(os.path.join(raw, "acks.txt")) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "A":
                acks.append((int(parts[2]), int(parts[1]), int(parts[3]), int(parts[4])))
            elif parts[0] == "E":
                errors += 1
    acks.sort()
    ack_times = [a[0] for a in acks]
    bases, epochs = [], []
    with open(os.path.join(raw, "epochs.txt")) as f:
        for line in f:
            b, _, e = (int(x) for x in line.split())
            bases.append(b)
            epochs.append(e)

    def epoch_of(offset):
        i = bisect.bisect_right(bases, offset) - 1
        return epochs[i] if i >= 0 else None

    trials = []
    for t in read_jsonl(os.path.join(raw, "trials.jsonl")):
        s = t["signal_us"]
        i = bisect.bisect_right(ack_times, s)
        first_any = acks[i] if i < len(acks) else None
        first_new = None
        old_leader_acks = 0
        for a in acks[i:]:
            e = epoch_of(a[2])
            if (e is not None and e > t["epoch"]) or a[3] > 0:
                first_new = a
                break
            old_leader_acks += 1
        trials.append({
            "signal": t["signal"], "trial": t["trial"], "old_leader": t["leader"],
            "old_epoch": t["epoch"],
            "failover_ms": (first_new[0] - s) / 1000 if first_new else None,
            "new_epoch": epoch_of(first_new[2]) if first_new else None,
            "first_ack_retried": bool(first_new and first_new[3] > 0),
            "first_ack_after_signal_ms": (first_any[0] - s) / 1000 if first_any else None,
            "old_leader_acks_after_signal": old_leader_acks,
            "process_exit_seen_ms": (t["exit_seen_us"] - s) / 1000,
        })
    return trials, errors, len(acks)


def summary(trials, signal):
    samples = [t["failover_ms"] for t in trials if t["signal"] == signal]
    measured = [x for x in samples if x is not None]
    exits = [t["process_exit_seen_ms"] for t in trials if t["signal"] == signal]
    return {
        "trials": len(samples), "missing": len(samples) - len(measured),
        "p50_ms": nearest_rank(measured, 0.5), "p99_ms": nearest_rank(measured, 0.99),
        "min_ms": min(measured) if measured else None,
        "samples_ms": [round(x, 1) if x is not None else None for x in samples],
        "process_exit_p50_ms": nearest_rank(exits, 0.5),
        "old_leader_acks_after_signal_max": max(
            [t["old_leader_acks_after_signal"] for t in trials if t["signal"] == signal],
            default=0),
    }


def replication(raw):
    rows = read_jsonl(os.path.join(raw, "replication.jsonl"))
    if not rows:
        return None  # --no-replication
    out = {}
    for cfg in ("rf3", "rf1"):
        tp = [r["result"] for r in rows if r["config"] == cfg and r["kind"] == "throughput"]
        sy = [r["result"] for r in rows if r["config"] == cfg and r["kind"] == "sync"]
        out[cfg] = {
            "acks": tp[0]["acks"] if tp else None,
            "msgs_per_s": median([r["msgs_per_s"] for r in tp]),
            "mib_per_s": median([r["mib_per_s"] for r in tp]),
            "p99_ms": median([r["latency_ms"]["p99"] for r in tp]),
            "p50_ms": median([r["latency_ms"]["p50"] for r in tp]),
            "errors": sum(r["errors"] for r in tp + sy),
            "sync_p50_ms": median([r["latency_ms"]["p50"] for r in sy]),
            "sync_p99_ms": median([r["latency_ms"]["p99"] for r in sy]),
            "sync_msgs_per_s": median([r["msgs_per_s"] for r in sy]),
            "runs_msgs_per_s": [r["msgs_per_s"] for r in tp],
            "runs_p99_ms": [r["latency_ms"]["p99"] for r in tp],
        }
    rf3, rf1 = out["rf3"], out["rf1"]
    rounds = sorted({r["round"] for r in rows})
    per_round = []
    for n in rounds:
        a = [r["result"]["msgs_per_s"] for r in rows
             if r["round"] == n and r["config"] == "rf3" and r["kind"] == "throughput"]
        b = [r["result"]["msgs_per_s"] for r in rows
             if r["round"] == n and r["config"] == "rf1" and r["kind"] == "throughput"]
        if a and b and b[0]:
            per_round.append(round(a[0] / b[0], 3))
    ratio = (rf3["msgs_per_s"] / rf1["msgs_per_s"]
             if rf3["msgs_per_s"] and rf1["msgs_per_s"] else None)
    out["throughput_ratio"] = ratio
    out["throughput_ratio_per_round"] = per_round
    out["p99_ratio"] = (rf3["p99_ms"] / rf1["p99_ms"] if rf3["p99_ms"] and rf1["p99_ms"] else None)
    out["sync_p99_ratio"] = (rf3["sync_p99_ms"] / rf1["sync_p99_ms"]
                             if rf3["sync_p99_ms"] and rf1["sync_p99_ms"] else None)
    return out


def fmt(x, digits=1):
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    return f"{x:,}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--trials", type=int, required=True)
    ap.add_argument("--duration", type=float, required=True)
    ap.add_argument("--rounds", type=int, required=True)
    ap.add_argument("--ttl-s", type=float, required=True)
    ap.add_argument("--commit", default="")
    ap.add_argument("--client", default="")
    ap.add_argument("--json", required=True)
    args = ap.parse_args()

    limits = {}
    for name in ("limits.fio.jsonl", "limits.rtt.jsonl"):
        for row in read_jsonl(os.path.join(args.raw, name)):
            limits.update(row)
    trials, writer_errors, writer_acks = failover(args.raw)
    kill = summary(trials, "KILL")
    term = summary(trials, "TERM")
    rep = replication(args.raw)
    kill_target = (args.ttl_s + 1) * 1000
    result = {
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "commit": args.commit, "machine": machine(), "limits": limits,
        "settings": {"trials": args.trials, "duration_s": args.duration, "rounds": args.rounds,
                     "broker_lease_ttl_s": args.ttl_s, "failover_client": args.client},
        "failover": {"kill9": kill, "sigterm": term, "trials": trials,
                     "writer_acks": writer_acks, "writer_errors": writer_errors},
        "replication": rep,
        "targets": {
            "kill9_p99_ms_max": kill_target,
            "kill9_met": kill["p99_ms"] is not None and kill["missing"] == 0
            and kill["p99_ms"] <= kill_target,
            "sigterm_p99_ms_max": 500,
            "sigterm_met": term["p99_ms"] is not None and term["missing"] == 0
            and term["p99_ms"] < 500,
            "replication_ratio_min": 1 / 3,
            "replication_met": rep is not None and rep["throughput_ratio"] is not None
            and rep["throughput_ratio"] >= 1 / 3,
        },
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")

    m = result["machine"]
    print(f"Cluster benchmark, {result['date_utc']} UTC, commit {args.commit}: "
          f"{m['cpus']} CPUs ({m['cpu']}), {m['mem_gib']} GiB, Linux {m['kernel']}; "
          "etcd and 3 brokers on 127.0.0.1.")
    print()
    print("Limits measured in the run: 4 KiB write + fdatasync p50 "
          f"{fmt(limits.get('fdatasync_p50_ms'), 3)} ms, p99 {fmt(limits.get('fdatasync_p99_ms'), 3)}"
          f" ms; sequential 1 MiB writes with an fsync at the end "
          f"{fmt(limits.get('seq_write_fsync_mib_s'), 0)} MiB/s; raw loopback round trip p50 "
          f"{fmt(limits.get('rtt_p50_ms'), 3)} ms, p99 {fmt(limits.get('rtt_p99_ms'), 3)} ms; "
          f"broker lease TTL {args.ttl_s:g} s.")
    print()
    print(f"Failover: {args.trials} trials per signal; topic of 1 partition, 3 replicas, min ISR "
          f"2; one acks=all record in flight ({args.client}).")
    print()
    print("| signal | p50 ms | p99 (max) ms | min ms | target | verdict | process exit p50 ms |")
    print("| --- | ---: | ---: | ---: | --- | --- | ---: |")
    for label, s, target, met in (
            ("kill -9", kill, f"p99 <= {kill_target:.0f} ms", result["targets"]["kill9_met"]),
            ("SIGTERM", term, "p99 < 500 ms", result["targets"]["sigterm_met"])):
        missing = f" ({s['missing']} without an ack)" if s["missing"] else ""
        print(f"| {label} | {fmt(s['p50_ms'])} | {fmt(s['p99_ms'])}{missing} | {fmt(s['min_ms'])} "
              f"| {target} | {'met' if met else 'missed'} | {fmt(s['process_exit_p50_ms'])} |")
    print()
    print(f"kill -9 samples (ms): {', '.join(fmt(x) for x in kill['samples_ms'])}")
    print()
    print(f"SIGTERM samples (ms): {', '.join(fmt(x) for x in term['samples_ms'])}")
    if writer_errors:
        print()
        print(f"The failover writer saw {writer_errors} records fail for good (see acks.txt).")
    print()
    if rep is None:
        print("Replication cost: not measured (--no-replication).")
        return
    print(f"Replication cost: 3 partitions each, strata bench produce (1 producer, 1 KiB records, "
          f"closed loop), medians of {args.rounds} alternating rounds of {args.duration:g} s; "
          "then one record at a time.")
    print()
    print("| configuration | msgs/s | MiB/s | p50 ms | p99 ms | one at a time p50 / p99 ms | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, cfg in (("acks=all, RF 3, min ISR 2", "rf3"), ("acks=1, RF 1", "rf1")):
        r = rep[cfg]
        print(f"| {label} | {fmt(r['msgs_per_s'], 0)} | {fmt(r['mib_per_s'])} | "
              f"{fmt(r['p50_ms'])} | {fmt(r['p99_ms'])} | "
              f"{fmt(r['sync_p50_ms'], 3)} / {fmt(r['sync_p99_ms'], 3)} | {r['errors']} |")
    ratio = rep["throughput_ratio"]
    print()
    print(f"acks=all RF 3 / acks=1 RF 1 throughput: {fmt(ratio, 3)} (per round: "
          f"{', '.join(fmt(x, 3) for x in rep['throughput_ratio_per_round'])}); target >= 0.333: "
          f"{'met' if result['targets']['replication_met'] else 'missed'}. p99 ratio "
          f"{fmt(rep['p99_ratio'], 2)}; one-at-a-time p99 ratio {fmt(rep['sync_p99_ratio'], 2)}.")


if __name__ == "__main__":
    main()
