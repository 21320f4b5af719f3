#!/usr/bin/env python3
"""The report of bench/partition_scale.sh: a markdown table on stdout and, with --json, every
figure as JSON. Input: the script's results file (KEY<TAB>VALUE lines, the last value of a key
wins), the JSON lines of `strata bench produce --json` for the K-partition and 8-partition runs,
and the creation times of the K-partition topics. Standard library only."""

import argparse
import json
import statistics
import sys


def load_results(path):
    r = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if "\t" in line:
                k, v = line.split("\t", 1)
                r[k] = v
    return r


def load_jsonl(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out


def num(r, k):
    v = r.get(k, "")
    try:
        return float(v) if "." in v else int(v)
    except ValueError:
        return None


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def mib(kib):
    return kib / 1024.0


def fmt_bytes_kib(kib):
    if kib is None:
        return "n/a"
    if kib >= 1024 * 1024:
        return f"{kib / 1024 / 1024:.2f} GiB"
    if kib >= 1024:
        return f"{kib / 1024:.1f} MiB"
    return f"{kib:.0f} KiB"


def fmt_s(s):
    return "n/a" if s is None else f"{s:.3f} s"


def fmt_ms(s):
    return "n/a" if s is None else f"{s * 1000:.2f} ms"


def fmt_int(x):
    return "n/a" if x is None else f"{x:,.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("results")
    ap.add_argument("--bench-spread", required=True)
    ap.add_argument("--bench-eight", required=True)
    ap.add_argument("--create-spread", required=True)
    ap.add_argument("--delete-spread", required=True)
    ap.add_argument("--delete-eight", required=True)
    ap.add_argument("--delete-timeouts", required=True)
    ap.add_argument("--json")
    a = ap.parse_args()

    r = load_results(a.results)
    spread_runs = load_jsonl(a.bench_spread)
    eight_runs = load_jsonl(a.bench_eight)
    def floats(path):
        with open(path) as f:
            return [float(x) for x in f.read().split()]

    create_spread = floats(a.create_spread)
    delete_spread, delete_eight = floats(a.delete_spread), floats(a.delete_eight)
    with open(a.delete_timeouts) as f:
        delete_timeouts = [line.split() for line in f if line.strip()]

    T, P, N = num(r, "topics"), num(r, "partitions"), num(r, "records_per_partition")
    total = num(r, "total_partitions")
    K = num(r, "spread_partitions")
    seg_arg = r.get("segment_bytes_arg", "default")
    seg = num(r, "segment_bytes")
    config_flag = "" if seg_arg == "default" else f" --config segment_bytes={seg_arg}"

    def per(x, scale=1.0):
        return None if x is None or not total else x * scale / total

    # Throughput medians.
    def tp(runs):
        return {
            "runs": runs,
            "msgs_per_s": median([x.get("msgs_per_s") for x in runs]),
            "mib_per_s": median([x.get("mib_per_s") for x in runs]),
            "p50_ms": median([(x.get("latency_ms") or {}).get("p50") for x in runs]),
            "p99_ms": median([(x.get("latency_ms") or {}).get("p99") for x in runs]),
            "machine_cpu_busy_pct": median([x.get("machine_cpu_busy_pct") for x in runs]),
            "errors": sum(int(x.get("errors") or 0) for x in runs),
        }

    spread, eight = tp(spread_runs), tp(eight_runs)
    ratio = (spread["msgs_per_s"] / eight["msgs_per_s"]
             if spread["msgs_per_s"] is not None and eight["msgs_per_s"] else None)
    create_spread_s = median(create_spread)

    # Footprint deltas over the empty broker.
    empty_rss, idle_rss = num(r, "empty_rss_kib"), num(r, "idle_rss_kib")
    empty_fds, idle_fds = num(r, "empty_fds"), num(r, "idle_fds")
    empty_maps, idle_maps = num(r, "empty_maps"), num(r, "idle_maps")
    disk_kib = num(r, "idle_disk_kib")
    nofile = num(r, "stratad_nofile_soft") or num(r, "ulimit_n_soft")
    max_map = num(r, "max_map_count")
    samples = ["idle", "clean_serving", "kill_serving", "after_bench"] + [
        k[: -len("_fds")] for k in r if k.startswith("with_spread_") and k.endswith("_fds")]
    peak_fds = max(x for x in [num(r, p + "_fds") for p in samples] if x is not None)
    peak_maps = max(x for x in [num(r, p + "_maps") for p in samples] if x is not None)
    fds_pp = per(idle_fds - empty_fds) if idle_fds is not None else None
    maps_pp = per(idle_maps - empty_maps) if idle_maps is not None else None

    def reach(limit, base, pp):
        if not pp or pp <= 0 or limit is None:
            return None
        return int((limit - base) / pp)

    lines = []
    out = lines.append
    out(f"## Strata: one broker holding {fmt_int(total)} partitions ({T} topics x {P})")
    out("")
    out(f"stratad `{r.get('stratad')}` (file dated {r.get('stratad_mtime')}), repository at "
        f"{r.get('commit')}; run {r.get('started_utc')} to {r.get('finished_utc')}.")
    out(f"Machine: {r.get('nproc')} cores (nproc); memory {fmt_bytes_kib(num(r, 'mem_total_kib'))} "
        f"total, {fmt_bytes_kib(num(r, 'mem_available_kib'))} available, "
        f"{fmt_bytes_kib(num(r, 'mem_free_kib'))} free at the start; data dir on {r.get('fs_type')} "
        f"with {fmt_bytes_kib(num(r, 'disk_avail_kib'))} free of {fmt_bytes_kib(num(r, 'disk_size_kib'))} "
        f"(df) at the start; ulimit -n {fmt_int(num(r, 'ulimit_n_soft'))} soft / "
        f"{fmt_int(num(r, 'ulimit_n_hard'))} hard (stratad's soft limit {fmt_int(nofile)}); "
        f"vm.max_map_count {fmt_int(max_map)}.")
    bseg_arg = r.get("bench_segment_bytes_arg", "default")
    out(f"Topics: segment_bytes {fmt_int(seg)} "
        f"({'the broker default' if seg_arg == 'default' else '--segment-bytes'}); one empty "
        f"partition took {fmt_bytes_kib(num(r, 'probe_partition_disk_kib'))} on disk (du). "
        f"Throughput topics: segment_bytes {fmt_int(num(r, 'bench_segment_bytes'))} "
        f"({'the broker default' if bseg_arg == 'default' else 'set by the script'}).")
    out(f"Load average (1, 5, 15 min): {r.get('loadavg_start')} at the start, "
        f"{r.get('loadavg_before_bench')} before the throughput runs, {r.get('loadavg_after_bench')} "
        f"after them (other work on the machine shows here). One 4 KiB write with O_DSYNC (dd, 200 "
        f"in a row in the data dir) took {r.get('dsync_write_ms_start')} ms at the start and "
        f"{r.get('dsync_write_ms_before_bench')} ms before the throughput runs. The empty broker listened "
        f"{fmt_s(num(r, 'start_listen_s'))} after exec.")
    out("")
    out("| step | figure | value | per partition | how it was measured |")
    out("| --- | --- | ---: | ---: | --- |")
    create_s = num(r, "create_s")
    out(f"| 1. topic creation | {T} topics x {P} partitions | {fmt_s(create_s)} | "
        f"{fmt_ms(per(create_s))} | `strata topic create scale-NNNN --partitions {P}{config_flag}`, "
        f"{T} calls one after another, wall time of all |")
    fill_s = num(r, "fill_s")
    out(f"| 2. fill | {N} records of {r.get('record_value_bytes')} B in every partition | "
        f"{fmt_s(fill_s)} | {fmt_ms(per(fill_s))} | {fmt_s(num(r, 'fill_calibrate_s'))} to learn one key "
        f"per partition (a scratch topic of {P} partitions, written and read back, deleted), then "
        f"`strata produce scale-NNNN --key-separator : --file fill.txt` (acks=all, {P * N} lines), one "
        f"call per topic: {fmt_s(num(r, 'fill_produce_s'))}; every partition then checked to hold "
        f"exactly {N} (`strata topic describe`) |")
    rss_pp = per(idle_rss - empty_rss) if idle_rss is not None else None
    out(f"| 3. idle footprint | RSS (VmRSS) | {fmt_bytes_kib(idle_rss)} | "
        f"{'n/a' if rss_pp is None else f'{rss_pp:.1f} KiB'} | /proc/PID/status {r.get('settle_s')} s "
        f"after the fill; the empty broker had {fmt_bytes_kib(empty_rss)} (per partition: the "
        f"difference over {fmt_int(total)}); of it anonymous {fmt_bytes_kib(num(r, 'idle_rss_anon_kib'))}, "
        f"file-backed {fmt_bytes_kib(num(r, 'idle_rss_file_kib'))}; VmHWM {fmt_bytes_kib(num(r, 'idle_hwm_kib'))} |")
    out(f"| | threads | {r.get('idle_threads')} | | /proc/PID/status Threads (empty: {r.get('empty_threads')}) |")
    out(f"| | open fds | {fmt_int(idle_fds)} | {'n/a' if fds_pp is None else f'{fds_pp:.2f}'} | "
        f"`ls /proc/PID/fd \\| wc -l` (empty: {r.get('empty_fds')}) |")
    out(f"| | memory mappings | {fmt_int(idle_maps)} | {'n/a' if maps_pp is None else f'{maps_pp:.2f}'} | "
        f"`wc -l < /proc/PID/maps` (empty: {r.get('empty_maps')}) |")
    out(f"| | disk use | {r.get('idle_disk_human')} | {fmt_bytes_kib(per(disk_kib))} | "
        f"`du -sh` of the data dir (allocated blocks, preallocation included); apparent size "
        f"{fmt_bytes_kib(num(r, 'idle_disk_apparent_kib'))} |")
    for prefix, title, how in (
        ("clean", "4. clean restart", "SIGTERM"),
        ("kill", "5. restart after kill -9", "kill -9"),
    ):
        sd = num(r, prefix + "_shutdown_s")
        if prefix == "clean":
            out(f"| {title} | SIGTERM to exit | {fmt_s(sd)} | {fmt_ms(per(sd))} | until the pid is gone; "
                f"exit code {r.get('clean_exit_code')} |")
        else:
            mode = r.get("kill_mode")
            touched = ""
            if r.get("kill_touch") == "1":
                touched = (f"after one record was written to every partition since the last start "
                           f"({fmt_s(num(r, 'kill_touch_s'))}, `strata produce --acks 1`, one call per "
                           f"topic), ")
            if mode == "while writing":
                detail = (f"{touched}while {len(r.get('kill_writer_topics', '').split())} `strata bench produce "
                          f"--record-bytes 100` producers (acks=1, keys spread over {P} partitions each) "
                          f"wrote to {r.get('kill_writer_topics')} ({fmt_int(num(r, 'kill_writer0_records_before_kill'))} "
                          f"records into the first in the seconds before)")
            else:
                detail = f"{touched}of the idle broker"
            out(f"| {title} | kill -9 to exit | {fmt_s(sd)} | | {detail} |")
        out(f"| | exec to listening | {fmt_s(num(r, prefix + '_listen_s'))} | "
            f"{fmt_ms(per(num(r, prefix + '_listen_s')))} | its \"native protocol on\" log line |")
        out(f"| | exec to metadata answer | {fmt_s(num(r, prefix + '_metadata_s'))} | | "
            f"`strata topic describe {last_topic(T)}` succeeds (polled every 20 ms) |")
        out(f"| | **exec to serving** | **{fmt_s(num(r, prefix + '_serve_s'))}** | "
            f"{fmt_ms(per(num(r, prefix + '_serve_s')))} | then `echo x \\| strata produce "
            f"{last_topic(T)} --partition {P - 1}` acknowledged (acks=all) |")
        out(f"| | RSS / fds / mappings when serving | {fmt_bytes_kib(num(r, prefix + '_serving_rss_kib'))} / "
            f"{fmt_int(num(r, prefix + '_serving_fds'))} / {fmt_int(num(r, prefix + '_serving_maps'))} | | "
            f"RSS anonymous {fmt_bytes_kib(num(r, prefix + '_serving_rss_anon_kib'))}, file-backed "
            f"{fmt_bytes_kib(num(r, prefix + '_serving_rss_file_kib'))}, read right after it served |")
        out(f"| | broker log | {r.get(prefix + '_log_lines')} lines | | "
            f"{r.get(prefix + '_log_recovered')} mention recovery, {r.get(prefix + '_log_warn_error')} "
            f"WARN/ERROR; every partition still held >= {N} records |")
    dur, runs = r.get("duration_s"), r.get("runs")
    for name, d, n in (("spread", spread, K), ("eight", eight, 8)):
        out(f"| {'6. produce throughput' if name == 'spread' else ''} | over {n} partitions | "
            f"{fmt_int(d['msgs_per_s'])} msgs/s, {d['mib_per_s'] or 0:.1f} MiB/s | | median of {runs} runs "
            f"of {dur} s: `strata bench produce --topic scale-bench-{name} --duration {dur}` (1 KiB "
            f"records, acks=1, keys spread over the topic's {n} partitions, 1 s warmup); p50 "
            f"{d['p50_ms']} ms, p99 {d['p99_ms']} ms; machine CPU busy {d['machine_cpu_busy_pct']}%; "
            f"{d['errors']} errors |")
    out(f"| | over {K} / over 8 | {'n/a' if ratio is None else f'{ratio:.3f}'} | | msgs/s medians; the "
        f"runs alternate, each on a fresh topic created just before it, beside all {fmt_int(total)} "
        f"partitions |")
    out(f"| | creating the {K}-partition topic | {fmt_s(create_spread_s)} | "
        f"{fmt_ms(None if create_spread_s is None else create_spread_s / K)} | median over the runs, "
        f"with {fmt_int(total)} partitions already there |")
    for name, times, n in (("spread", delete_spread, K), ("eight", delete_eight, 8)):
        late = sum(1 for t in delete_timeouts if t[0] == name)
        d = median(times)
        out(f"| | deleting the {n}-partition topic after a run | {fmt_s(d)} | "
            f"{fmt_ms(None if d is None else d / n)} | median over the runs of `strata topic delete` "
            f"(until the topic is gone when the CLI gave up); {late} of {len(times)} got no answer "
            f"within the CLI's request timeout |")
    out("")

    GiB = 1024 * 1024  # in KiB
    targets = []

    def target(name, value, shown, ok):
        targets.append({"target": name, "value": value, "shown": shown,
                        "met": None if ok is None else bool(ok)})

    target("idle RSS < 1 GiB", idle_rss, fmt_bytes_kib(idle_rss),
           None if idle_rss is None else idle_rss < GiB)
    cs, ks = num(r, "clean_serve_s"), num(r, "kill_serve_s")
    target("clean restart, exec to serving < 10 s", cs, fmt_s(cs), None if cs is None else cs < 10)
    target(f"restart after kill -9 ({r.get('kill_mode')}), exec to serving < 60 s", ks, fmt_s(ks),
           None if ks is None else ks < 60)
    target(f"produce over {K} partitions >= 0.5 x over 8 (msgs/s)", ratio,
           "n/a" if ratio is None else f"{ratio:.3f} ({fmt_int(spread['msgs_per_s'])} / {fmt_int(eight['msgs_per_s'])})",
           None if ratio is None else ratio >= 0.5)
    out("| target | measured | verdict |")
    out("| --- | --- | --- |")
    for t in targets:
        out(f"| {t['target']} | {t['shown']} | {'n/a' if t['met'] is None else ('met' if t['met'] else '**missed**')} |")
    fds_reach = reach(nofile, empty_fds, fds_pp)
    maps_reach = reach(max_map, empty_maps, maps_pp)
    limits = {
        "fds": {"idle": idle_fds, "peak": peak_fds, "limit": nofile, "per_partition": fds_pp,
                "partitions_at_limit": fds_reach},
        "maps": {"idle": idle_maps, "peak": peak_maps, "limit": max_map, "per_partition": maps_pp,
                 "partitions_at_limit": maps_reach},
    }
    for key, label, lim in (("fds", "open fds vs the fd soft limit (stratad's RLIMIT_NOFILE)", nofile),
                            ("maps", "memory mappings vs vm.max_map_count", max_map)):
        d = limits[key]
        pct = 100.0 * d["peak"] / lim if lim else None
        extra = ""
        if d["per_partition"] is not None and d["per_partition"] >= 0.9:
            extra = (f"; at {d['per_partition']:.2f} per partition (idle) the limit is reached at "
                     f"about {fmt_int(d['partitions_at_limit'])} partitions")
        elif d["per_partition"] is not None:
            # Fewer than one per partition: the broker caches or caps them, so a linear
            # projection says nothing.
            d["partitions_at_limit"] = None
            extra = (f"; {d['per_partition']:.2f} per partition when idle: not one per partition "
                     f"(the broker caps or caches them), so not projected")
        out(f"| {label} | idle {fmt_int(d['idle'])}, highest sampled {fmt_int(d['peak'])} (with the "
            f"{K}-partition topic too) of "
            f"{fmt_int(lim)} ({'n/a' if pct is None else f'{pct:.1f}%'}){extra} | "
            f"{'under' if lim and d['peak'] < lim else '**at or over**'} |")
    print("\n".join(lines))

    if a.json:
        doc = {
            "config": {k: r.get(k) for k in (
                "topics", "partitions", "total_partitions", "records_per_partition",
                "record_value_bytes", "spread_partitions", "duration_s", "runs", "segment_bytes_arg",
                "segment_bytes", "bench_segment_bytes_arg", "bench_segment_bytes", "settle_s",
                "kill_writers", "kill_touch", "stratad", "strata", "data_dir", "commit",
                "stratad_mtime", "started_utc", "finished_utc")},
            "machine": {k: r.get(k) for k in (
                "nproc", "ulimit_n_soft", "ulimit_n_hard", "stratad_nofile_soft", "max_map_count",
                "mem_total_kib", "mem_available_kib", "mem_free_kib", "fs_type", "disk_avail_kib",
                "disk_size_kib", "loadavg_start", "loadavg_before_bench", "loadavg_after_bench",
                "dsync_write_ms_start", "dsync_write_ms_before_bench")},
            "results": {k: (num(r, k) if num(r, k) is not None else v) for k, v in r.items()},
            "per_partition": {
                "create_ms": None if per(create_s) is None else per(create_s) * 1000,
                "fill_ms": None if per(fill_s) is None else per(fill_s) * 1000,
                "rss_kib": rss_pp, "fds": fds_pp, "maps": maps_pp,
                "disk_kib": per(disk_kib),
                "clean_shutdown_ms": None if per(num(r, "clean_shutdown_s")) is None else per(num(r, "clean_shutdown_s")) * 1000,
                "clean_serve_ms": None if per(cs) is None else per(cs) * 1000,
                "kill_serve_ms": None if per(ks) is None else per(ks) * 1000,
            },
            "throughput": {"spread": spread, "eight": eight, "ratio_msgs": ratio,
                           "delete_spread_topic_s": delete_spread, "delete_eight_topic_s": delete_eight,
                           "delete_cli_timeouts": delete_timeouts,
                           "create_spread_topic_s": create_spread, "create_spread_topic_s_median": create_spread_s},
            "limits": limits,
            "targets": [{k: t[k] for k in ("target", "value", "met")} for t in targets],
        }
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
    return 0


def last_topic(T):
    return "scale-%0*d" % (max(4, len(str(T))), T)


if __name__ == "__main__":
    sys.exit(main())
