#!/usr/bin/env python3
"""A seeded fault campaign against a real three-broker Strata cluster (docs/fault-testing.md).

    tests/fault/campaign.py [--seed N] [--duration S] [--runs R] [--out DIR] [--build DIR]
                            [--faults kill,pause,...] [--keep]

Each run starts a real etcd and three `stratad` in a private network namespace (`unshare -n`, so
loopback is private and nftables rules touch nothing else): etcd on 127.0.0.10, broker i on
127.0.0.(i+1), each binding its outgoing connections (replica fetches, etcd) to its own address so
a rule can cut one link. The workload (tests/fault/fault_client.cc) runs throughout: two
idempotent acks=all producers with unique values, one plain consumer and a consumer group of two,
on a topic of 3 partitions, 3 replicas, min ISR 2. Meanwhile the nemesis injects faults chosen
and timed from the seed, one at a time, each healed before the next. Then every fault is healed,
the cluster is waited on until every partition has its full ISR, the workload stops, a final
read takes everything, and the brokers are stopped and every pair of replicas compared below the
high watermark (`strata log compare`). tests/fault/checker.py checks the merged history; the
summary is printed and the history, the checker's JSON and a timeline SVG stay in the run's
folder.

Exit status: 0 when every run is clean, 1 when a run found an anomaly or replicas differ, 2 when
the harness itself failed (a process would not start, the cluster never healed).

Needs root (network namespaces, nftables) and a build with stratad, strata and fault_client.
Every process the campaign starts is stopped by pid, failure included.
"""
import argparse
import base64
import heapq
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import checker  # noqa: E402
import report  # noqa: E402

BROKERS = {1: "127.0.0.2", 2: "127.0.0.3", 3: "127.0.0.4"}
ETCD_HOST = "127.0.0.10"
ETCD = f"{ETCD_HOST}:2379"
PORT = 9092
METRICS_PORT = 9100
CLUSTER = "fault"
TOPIC = "jepsen"
PARTITIONS = 3
BOOTSTRAP = ",".join(f"{h}:{PORT}" for h in BROKERS.values())
GROUP = "jepsen-group"
# Faults and what each does; the nemesis picks among those enabled (--faults).
FAULTS = {
    "kill": "kill -9 a broker, restart it after 1-5 s",
    "kill-leader": "kill -9 the leader of a partition, restart it after 1-5 s",
    "kill-controller": "kill -9 the controller, restart it after 1-5 s",
    "kill-etcd": "kill -9 etcd, restart it after 1-5 s",
    "crash": "kill -9 a broker and cut its active segments back to their last fsync, as a power "
             "loss would (half the time leaving a torn tail of up to 4 KiB); restart after 1-5 s",
    "crash-then-kill-leader": "KIP-966's sequence: crash (as above) an in-sync follower of a "
                              "partition, restart it at once, then kill -9 that partition's "
                              "leader; restart the leader after 1-4 s",
    "pause": "SIGSTOP a broker for 1-10 s, then SIGCONT",
    "pause-kill": "SIGSTOP a partition's leader 2-6 s, kill -9 it while stopped, restart 1-4 s later",
    "isolate": "cut one broker from every other process (nftables) for 2-10 s",
    "cut-leader": "cut a partition's leader from the other brokers only (it still sees etcd) 2-10 s",
    "one-way": "drop one broker's packets to another, one direction only, 2-10 s",
    "loss": "drop 20% of one broker's packets at random, 3-10 s",
}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class HarnessError(Exception):
    """The harness could not do its part (not an anomaly of the system under test)."""


class Cluster:
    """etcd and three brokers under one folder; every process is stopped by pid."""

    def __init__(self, folder, build, t0_ms):
        self.folder = folder
        self.build = build
        self.t0_ms = t0_ms
        self.procs = {}  # name -> Popen ("etcd", "broker-1", ...)
        self.stopped = set()  # names SIGSTOPped now
        self._start_count = {}  # broker id -> times started in this folder (its log's lines)
        self.strata = os.path.join(build, "client", "strata")
        self.stratad = os.path.join(build, "broker", "stratad")

    # --- processes ---------------------------------------------------------------------------

    def start_etcd(self):
        d = os.path.join(self.folder, "etcd")
        os.makedirs(d, exist_ok=True)
        out = open(os.path.join(d, "etcd.log"), "a")
        self.procs["etcd"] = subprocess.Popen(
            ["etcd", "--name", "fault-etcd", "--data-dir", os.path.join(d, "data"),
             "--listen-client-urls", f"http://{ETCD}",
             "--advertise-client-urls", f"http://{ETCD}",
             "--listen-peer-urls", f"http://{ETCD_HOST}:2380",
             "--initial-advertise-peer-urls", f"http://{ETCD_HOST}:2380",
             "--initial-cluster", f"fault-etcd=http://{ETCD_HOST}:2380",
             "--auto-compaction-mode", "revision", "--auto-compaction-retention", "10000"],
            stdout=out, stderr=subprocess.STDOUT)
        self._wait(lambda: self._etcd_healthy(), 10, "etcd did not become healthy")

    def _etcd_healthy(self):
        try:
            with urllib.request.urlopen(f"http://{ETCD}/health", timeout=1) as r:
                return b"true" in r.read()
        except OSError:
            return False

    def start_broker(self, i):
        d = os.path.join(self.folder, f"broker-{i}")
        os.makedirs(os.path.join(d, "data"), exist_ok=True)
        conf = os.path.join(d, "stratad.toml")
        if not os.path.exists(conf):
            with open(conf, "w") as f:
                f.write(f'node_id = {i}\ndata_dir = "{d}/data"\n'
                        f'listen = "{BROKERS[i]}:{PORT}"\n'
                        f'metrics_listen = "{BROKERS[i]}:{METRICS_PORT}"\n'
                        f'etcd = "{ETCD}"\ncluster_name = "{CLUSTER}"\n'
                        # Short enough that a stuck follower leaves the ISR within a fault.
                        "replica_lag_max_ms = 4000\n")
        logf = os.path.join(d, "stratad.log")
        out = open(logf, "a")
        synced = self.synced_dir(i)
        os.makedirs(synced, exist_ok=True)
        self.procs[f"broker-{i}"] = subprocess.Popen(
            [self.stratad, "--config", conf], stdout=out, stderr=subprocess.STDOUT,
            env=dict(os.environ, STRATA_TEST_SYNCED_DIR=synced))

        def started():
            p = self.procs[f"broker-{i}"]
            if p.poll() is not None:
                raise HarnessError(f"broker {i} exited ({p.returncode}); see {logf}")
            with open(logf, errors="replace") as f:
                return f.read().count("native protocol on") > self._starts(i)
        self._wait(started, 30, f"broker {i} did not start; see {logf}")
        self._start_count[i] = self._starts(i) + 1

    def _starts(self, i):
        return self._start_count.get(i, 0)

    def synced_dir(self, i):
        """Where broker i records each segment's fsynced length (log/segment.cc)."""
        return os.path.join(self.folder, f"broker-{i}", "synced")

    def lose_unsynced(self, i, rng):
        """After a kill -9 of broker i: cuts the last segment of each partition back to its last
        fsynced length (0 if it never synced), as a power loss would; with `torn`, keeps up to
        4 KiB more of what was written, a torn write. Returns (segments cut, bytes dropped)."""
        synced, unreadable = {}, set()
        for name in os.listdir(self.synced_dir(i)):
            if name.endswith(".tmp"):
                continue  # a record being written when the broker died; the previous one stands
            with open(os.path.join(self.synced_dir(i), name)) as f:
                text = f.read().strip()
            if text.isdigit():
                synced[name.replace("%", "/")] = int(text)
            else:
                unreadable.add(name.replace("%", "/"))
        data = os.path.join(self.folder, f"broker-{i}", "data")
        cut, dropped = 0, 0
        for part in sorted(os.listdir(data)):
            pdir = os.path.join(data, part)
            if not os.path.isdir(pdir):
                continue
            segments = sorted(n for n in os.listdir(pdir) if n.endswith(".log"))
            if not segments:
                continue
            path = os.path.join(pdir, segments[-1])
            if path in unreadable:
                continue  # cutting without knowing what was durable could cut durable data
            size = os.path.getsize(path)
            keep = synced.get(path, 0)
            with open(path, "rb") as f:
                f.seek(keep)
                # The data's end: the file is preallocated, and zeros past the data are not data.
                tail = f.read(16 << 20).rstrip(b"\0")
            if not tail:
                continue
            if rng.random() < 0.5:
                keep += rng.randint(1, min(4096, len(tail)))
            if keep >= synced.get(path, 0) + len(tail):
                continue
            dropped += synced.get(path, 0) + len(tail) - keep
            cut += 1
            # Shrinking then growing back leaves zeros (a hole) where the lost bytes were, and the
            # file keeps its preallocated size.
            os.truncate(path, keep)
            os.truncate(path, size)
        return cut, dropped

    def alive(self, name):
        p = self.procs.get(name)
        return p is not None and p.poll() is None

    def signal(self, name, sig):
        p = self.procs.get(name)
        if p is None or p.poll() is not None:
            return False
        os.kill(p.pid, sig)
        if sig == signal.SIGSTOP:
            self.stopped.add(name)
        elif sig in (signal.SIGCONT, signal.SIGKILL):
            self.stopped.discard(name)
        if sig == signal.SIGKILL:
            p.wait()
        return True

    def restart(self, name):
        if self.alive(name):
            return
        if name == "etcd":
            self.start_etcd()
        else:
            self.start_broker(int(name.split("-")[1]))

    def stop_all(self):
        for name in list(self.procs):
            if name in self.stopped:
                self.signal(name, signal.SIGCONT)
        for name, p in self.procs.items():
            if name != "etcd" and p.poll() is None:
                p.terminate()
        for name, p in self.procs.items():
            if name != "etcd":
                self._reap(p)
        p = self.procs.get("etcd")
        if p is not None and p.poll() is None:
            p.terminate()
            self._reap(p)

    @staticmethod
    def _reap(p):
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    @staticmethod
    def _wait(predicate, seconds, what):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        raise HarnessError(what)

    # --- what etcd says ------------------------------------------------------------------------

    def etcd_range(self, key, prefix=False):
        body = {"key": base64.b64encode(key.encode()).decode()}
        if prefix:
            end = key[:-1] + chr(ord(key[-1]) + 1)
            body["range_end"] = base64.b64encode(end.encode()).decode()
        req = urllib.request.Request(f"http://{ETCD}/v3/kv/range", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=2) as r:
                kvs = json.loads(r.read()).get("kvs", [])
        except (OSError, ValueError):
            return None
        return {base64.b64decode(kv["key"]).decode(): json.loads(base64.b64decode(kv["value"]))
                for kv in kvs}

    def controller(self):
        got = self.etcd_range(f"/strata/{CLUSTER}/controller")
        if not got:
            return None
        return next(iter(got.values())).get("broker_id")

    def partitions(self):
        got = self.etcd_range(f"/strata/{CLUSTER}/partitions/", prefix=True)
        return got or {}

    def leader(self, partition):
        got = self.etcd_range(f"/strata/{CLUSTER}/partitions/{TOPIC}/{partition}")
        if not got:
            return None
        leader = next(iter(got.values())).get("leader", -1)
        return leader if leader in BROKERS else None

    def healthy(self):
        """Every broker registered and every partition led with its full ISR."""
        brokers = self.etcd_range(f"/strata/{CLUSTER}/brokers/", prefix=True)
        if not brokers or len(brokers) != len(BROKERS):
            return False
        parts = self.partitions()
        if len([k for k in parts if f"/partitions/{TOPIC}/" in k]) != PARTITIONS:
            return False
        return all(s["leader"] >= 0 and sorted(s["isr"]) == sorted(s["replicas"])
                   for s in parts.values())

    # --- the client ------------------------------------------------------------------------------

    def cli(self, *args, timeout=30):
        return subprocess.run([self.strata, "--bootstrap", BOOTSTRAP, *args],
                              capture_output=True, text=True, timeout=timeout)


class Net:
    """nftables rules in a table of their own; heal() removes them all."""

    TABLE = "strata_fault"

    def __init__(self):
        self._nft(f"add table inet {self.TABLE}")
        self._nft(f"add chain inet {self.TABLE} out "
                  "{ type filter hook output priority 0 ; policy accept ; }")

    @staticmethod
    def _nft(command):
        r = subprocess.run(["nft", command], capture_output=True, text=True)
        if r.returncode != 0:
            raise HarnessError(f"nft {command}: {r.stderr.strip()}")

    def drop(self, src=None, dst=None, percent=None):
        match = ""
        if src:
            match += f"ip saddr {src} "
        if dst:
            match += f"ip daddr {dst} "
        if percent:
            match += f"numgen random mod 100 < {percent} "
        self._nft(f"add rule inet {self.TABLE} out {match}drop")

    def heal(self):
        self._nft(f"flush chain inet {self.TABLE} out")


class Nemesis:
    """Chooses and injects faults from the run's random generator; logs each window."""

    def __init__(self, cluster, net, rng, faults, history):
        self.cluster = cluster
        self.net = net
        self.rng = rng
        self.faults = faults
        self.history = history
        self.counts = {}

    def _event(self, kind, fault, target, **fields):
        self.history.write(json.dumps({
            "time_ms": int(time.time() * 1000) - self.cluster.t0_ms, "process": "nemesis",
            "type": kind, "fault": fault, "target": target, **fields}) + "\n")
        self.history.flush()

    def _crash(self, fault, broker):
        """kill -9 the broker, then lose its unsynced writes as a power loss would."""
        self.cluster.signal(f"broker-{broker}", signal.SIGKILL)
        segments, dropped = self.cluster.lose_unsynced(broker, self.rng)
        self._event("note", fault, f"broker-{broker}", segments_cut=segments,
                    bytes_dropped=dropped)

    def _broker(self):
        return self.rng.choice(sorted(BROKERS))

    def _leader_or_any(self):
        leader = self.cluster.leader(self.rng.randrange(PARTITIONS))
        return leader if leader is not None else self._broker()

    def _sleep(self, lo, hi):
        time.sleep(self.rng.uniform(lo, hi))

    def run_one(self):
        fault = self.rng.choice(self.faults)
        self.counts[fault] = self.counts.get(fault, 0) + 1
        c, net = self.cluster, self.net
        if fault in ("kill", "kill-leader", "kill-controller", "crash"):
            if fault == "kill-leader":
                target = self._leader_or_any()
            elif fault == "kill-controller":
                target = c.controller() or self._broker()
            else:
                target = self._broker()
            name = f"broker-{target}"
            self._event("start", fault, name)
            if fault == "crash":
                self._crash(fault, target)
            else:
                c.signal(name, signal.SIGKILL)
            self._sleep(1, 5)
            c.restart(name)
            self._event("stop", fault, name)
        elif fault == "crash-then-kill-leader":
            leader = self._leader_or_any()
            follower = self.rng.choice([b for b in sorted(BROKERS) if b != leader])
            target = f"broker-{follower}+broker-{leader}"
            self._event("start", fault, target)
            self._crash(fault, follower)
            c.restart(f"broker-{follower}")
            c.signal(f"broker-{leader}", signal.SIGKILL)
            self._sleep(1, 4)
            c.restart(f"broker-{leader}")
            self._event("stop", fault, target)
        elif fault == "kill-etcd":
            self._event("start", fault, "etcd")
            c.signal("etcd", signal.SIGKILL)
            self._sleep(1, 5)
            c.restart("etcd")
            self._event("stop", fault, "etcd")
        elif fault == "pause":
            name = f"broker-{self._broker()}"
            self._event("start", fault, name)
            c.signal(name, signal.SIGSTOP)
            self._sleep(1, 10)
            c.signal(name, signal.SIGCONT)
            self._event("stop", fault, name)
        elif fault == "pause-kill":
            name = f"broker-{self._leader_or_any()}"
            self._event("start", fault, name)
            c.signal(name, signal.SIGSTOP)
            self._sleep(2, 6)
            c.signal(name, signal.SIGKILL)
            self._sleep(1, 4)
            c.restart(name)
            self._event("stop", fault, name)
        elif fault == "isolate":
            b = self._broker()
            self._event("start", fault, f"broker-{b}")
            net.drop(src=BROKERS[b])
            net.drop(dst=BROKERS[b])
            self._sleep(2, 10)
            net.heal()
            self._event("stop", fault, f"broker-{b}")
        elif fault == "cut-leader":
            b = self._leader_or_any()
            self._event("start", fault, f"broker-{b}")
            for other in BROKERS:
                if other != b:
                    net.drop(src=BROKERS[b], dst=BROKERS[other])
                    net.drop(src=BROKERS[other], dst=BROKERS[b])
            self._sleep(2, 10)
            net.heal()
            self._event("stop", fault, f"broker-{b}")
        elif fault == "one-way":
            a, b = self.rng.sample(sorted(BROKERS), 2)
            self._event("start", fault, f"broker-{a}->broker-{b}")
            net.drop(src=BROKERS[a], dst=BROKERS[b])
            self._sleep(2, 10)
            net.heal()
            self._event("stop", fault, f"broker-{a}->broker-{b}")
        elif fault == "loss":
            b = self._broker()
            self._event("start", fault, f"broker-{b}")
            net.drop(src=BROKERS[b], percent=20)
            net.drop(dst=BROKERS[b], percent=20)
            self._sleep(3, 10)
            net.heal()
            self._event("stop", fault, f"broker-{b}")

    def heal_all(self):
        self.net.heal()
        for name in list(self.cluster.stopped):
            self.cluster.signal(name, signal.SIGCONT)
        for name in ["etcd"] + [f"broker-{i}" for i in BROKERS]:
            self.cluster.restart(name)


def read_history(paths):
    """Every process's history merged by time, each file's own order kept (a clock stepping back
    must not put a process's completion before its invocation)."""
    per_file = []
    for path in paths:
        if not os.path.exists(path):
            continue
        events = []
        per_file.append(events)
        with open(path) as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    events.append(json.loads(line))
                except ValueError:
                    # A client killed mid-line leaves a torn last line; anything else is a bug.
                    events.append({"time_ms": events[-1]["time_ms"] if events else 0,
                                   "process": "harness", "type": "note",
                                   "torn_line": f"{os.path.basename(path)}:{n}"})
    return list(heapq.merge(*per_file, key=lambda e: e.get("time_ms", 0)))


def compare_replicas(cluster, folder, ends):
    """strata log compare for every pair of replicas of each partition, below the final read's
    end (the high watermark then). Returns a list of differences (empty: identical)."""
    diffs = []
    for p in range(PARTITIONS):
        dirs = [os.path.join(folder, f"broker-{i}", "data", f"{TOPIC}-{p}") for i in BROKERS]
        below = ends.get(p)
        for a, b in zip(dirs, dirs[1:]):
            args = ["log", "compare", a, b] + (["--below", str(below)] if below else [])
            r = subprocess.run([cluster.strata, *args], capture_output=True, text=True)
            if r.returncode != 0:
                diffs.append(f"{TOPIC}-{p}: {(r.stdout + r.stderr).strip()}")
    return diffs


def run_once(args, seed, run_dir):
    rng = random.Random(seed)
    os.makedirs(run_dir, exist_ok=True)
    t0_ms = int(time.time() * 1000)
    cluster = Cluster(run_dir, args.build, t0_ms)
    net = Net()
    nemesis_path = os.path.join(run_dir, "nemesis.jsonl")
    history_paths = [nemesis_path]
    clients = []
    bench, bench_result = None, None
    fault_client = os.path.join(args.build, "tests", "fault_client")
    try:
        cluster.start_etcd()
        for i in BROKERS:
            cluster.start_broker(i)
        deadline = time.time() + 30
        while True:
            r = cluster.cli("topic", "create", TOPIC, "--partitions", str(PARTITIONS),
                            "--replication-factor", "3", "--min-insync-replicas", "2")
            if r.returncode == 0:
                break
            if time.time() > deadline:
                raise HarnessError(f"creating the topic: {r.stdout}{r.stderr}")
            time.sleep(0.5)
        Cluster._wait(cluster.healthy, 30, "the new topic never had its full ISR")

        def client(mode, name, *extra):
            out = os.path.join(run_dir, f"{name}.jsonl")
            history_paths.append(out)
            p = subprocess.Popen([fault_client, mode, "--bootstrap", BOOTSTRAP, "--topic", TOPIC,
                                  "--partitions", str(PARTITIONS), "--name", name, "--out", out,
                                  "--t0-ms", str(t0_ms), *extra],
                                 stdout=subprocess.DEVNULL,
                                 stderr=open(os.path.join(run_dir, f"{name}.log"), "a"))
            clients.append((name, p))
            return p

        for n in range(2):
            client("produce", f"producer-{n}", "--rate", str(args.rate))
        client("consume", "consumer-0")
        for n in range(2):
            client("group", f"group-{n}", "--group", GROUP)
        if args.bench:
            # The cluster benchmark's replication-cost shape (closed loop, acks=all, RF 3) beside
            # the checked workload, for the whole fault phase.
            r = cluster.cli("topic", "create", "bench", "--partitions", "3",
                            "--replication-factor", "3", "--min-insync-replicas", "2")
            if r.returncode != 0:
                raise HarnessError(f"creating the bench topic: {r.stdout}{r.stderr}")
            bench = subprocess.Popen(
                [cluster.strata, "--bootstrap", BOOTSTRAP, "bench", "produce", "--topic", "bench",
                 "--acks", "all", "--duration", str(int(args.duration)), "--json"],
                stdout=subprocess.PIPE, stderr=open(os.path.join(run_dir, "bench.log"), "a"),
                text=True)

        nemesis = Nemesis(cluster, net, rng, args.faults,
                          open(nemesis_path, "a"))
        end = time.time() + args.duration
        time.sleep(rng.uniform(2, 4))
        while time.time() < end:
            if args.faults:
                nemesis.run_one()
                time.sleep(rng.uniform(1, 4))
            else:
                time.sleep(min(1, max(0, end - time.time())))
        if bench is not None:
            out, _ = bench.communicate(timeout=args.duration + 120)
            try:
                bench_result = json.loads(out)
            except ValueError:
                bench_result = {"error": f"strata bench printed no result (exit {bench.returncode})"}
        log(f"faults done ({sum(nemesis.counts.values())}): healing")
        nemesis.heal_all()
        Cluster._wait(cluster.healthy, 90, "the cluster did not heal: some partition is "
                      "without a leader or its full ISR 90 s after the last fault")
        # Let the consumers catch up with the producers before the workload stops.
        time.sleep(5)
        for name, p in clients:
            if name.startswith("producer"):
                p.terminate()
        for name, p in clients:
            if name.startswith("producer"):
                Cluster._reap(p)
        time.sleep(3)
        for name, p in clients:
            p.terminate()
        for name, p in clients:
            Cluster._reap(p)
        Cluster._wait(cluster.healthy, 30, "the cluster was not healthy for the final read")
        final_out = os.path.join(run_dir, "final.jsonl")
        history_paths.append(final_out)
        r = subprocess.run([fault_client, "final", "--bootstrap", BOOTSTRAP, "--topic", TOPIC,
                            "--partitions", str(PARTITIONS), "--out", final_out,
                            "--t0-ms", str(t0_ms), "--timeout-s", "60"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise HarnessError(f"the final read failed: {r.stderr.strip()}")
        ends = {}
        with open(final_out) as f:
            for line in f:
                e = json.loads(line)
                if "ends" in e:
                    ends = dict(enumerate(e["ends"]))
        # Followers may still be a fetch behind the high watermark: give them a moment.
        time.sleep(2)
        cluster.stop_all()
        diffs = compare_replicas(cluster, run_dir, ends)
        counts = nemesis.counts
    finally:
        if bench is not None and bench.poll() is None:
            bench.kill()
            bench.wait()
        for _, p in clients:
            if p.poll() is None:
                p.kill()
                p.wait()
        try:
            net.heal()
        except HarnessError:
            pass
        cluster.stop_all()
    events = read_history(history_paths)
    with open(os.path.join(run_dir, "history.jsonl"), "w") as f:
        for e in events:
            f.write(json.dumps(e) + "\n")
    result = checker.check(events)
    result["replicas_differ"] = diffs
    result["faults"] = counts
    result["impact"] = fault_impact(events)
    if bench_result is not None:
        result["bench"] = bench_result
    with open(os.path.join(run_dir, "check.json"), "w") as f:
        json.dump(result, f, indent=1)
    report.draw(events, os.path.join(run_dir, "timeline.svg"),
                f"Strata fault campaign, seed {seed}")
    return result


def fault_impact(events):
    """What the faults cost the workload, from its history: per fault kind, the longest pause in
    acknowledgements of any partition that overlaps each window (for a leader's kill, its
    failover time as the producers saw it); and acknowledgements per second and acknowledgement
    latency inside the fault windows against outside them."""
    windows, open_ = [], {}
    end_ms = max((e.get("time_ms", 0) for e in events), default=0)
    acks, invoked = {}, {}
    for e in events:
        if e.get("process") == "nemesis" and e.get("type") in ("start", "stop"):
            key = (e["fault"], e["target"])
            if e["type"] == "start":
                open_[key] = e["time_ms"]
            elif key in open_:
                windows.append((e["fault"], open_.pop(key), e["time_ms"]))
        elif e.get("type") == "invoke" and e.get("f") == "send":
            invoked[e["value"]] = e["time_ms"]
        elif e.get("type") == "ok" and e.get("f") == "send":
            acks.setdefault(e["partition"], []).append((e["time_ms"], e["value"]))
    windows += [(f, t, end_ms) for (f, _), t in open_.items()]
    if not acks:
        return {}
    first = min(a[0][0] for a in acks.values())
    last = max(a[-1][0] for a in acks.values())
    per_kind = {}
    for fault, start, stop in windows:
        longest = 0
        for times in acks.values():
            for (a, _), (b, _) in zip(times, times[1:]):
                if b >= start and a <= stop:
                    longest = max(longest, b - a)
        per_kind.setdefault(fault, []).append(longest)

    def inside(t):
        return any(start <= t <= stop for _, start, stop in windows)

    lat_in, lat_out, n_in, n_out = [], [], 0, 0
    for times in acks.values():
        for t, value in times:
            latency = t - invoked.get(value, t)
            if inside(t):
                n_in += 1
                lat_in.append(latency)
            else:
                n_out += 1
                lat_out.append(latency)
    ms_in = sum(min(stop, last) - max(start, first) for _, start, stop in windows
                if stop > first and start < last)
    ms_out = max(1, last - first - ms_in)

    def pct(values, q):
        values = sorted(values)
        return values[min(len(values) - 1, int(q * len(values)))] if values else None

    return {
        "ack_pause_ms": {k: {"count": len(v), "median": pct(v, 0.5), "max": max(v)}
                         for k, v in sorted(per_kind.items())},
        "in_faults": {"seconds": round(ms_in / 1000, 1),
                      "acks_per_s": round(n_in / max(ms_in, 1) * 1000, 1),
                      "latency_p50_ms": pct(lat_in, 0.5), "latency_p99_ms": pct(lat_in, 0.99)},
        "outside_faults": {"seconds": round(ms_out / 1000, 1),
                           "acks_per_s": round(n_out / ms_out * 1000, 1),
                           "latency_p50_ms": pct(lat_out, 0.5),
                           "latency_p99_ms": pct(lat_out, 0.99)},
    }


def print_impact(impact):
    if not impact:
        return
    print("  longest pause in acknowledgements during each fault (ms): " + "; ".join(
        f"{k} median {v['median']} max {v['max']} (n={v['count']})"
        for k, v in impact["ack_pause_ms"].items()))
    for side in ("in_faults", "outside_faults"):
        v = impact[side]
        print(f"  {side.replace('_', ' ')}: {v['seconds']} s, {v['acks_per_s']} acks/s, "
              f"latency p50 {v['latency_p50_ms']} ms p99 {v['latency_p99_ms']} ms")


def summary_row(seed, result):
    anomalies = result["anomalies"]
    stats = result.get("stats", {})
    return {"seed": seed, "faults": sum(result["faults"].values()),
            "acknowledged": stats.get("sends_ok", 0),
            **{k: v["count"] for k, v in sorted(anomalies.items())},
            "replicas_differ": len(result["replicas_differ"])}


def print_table(rows):
    if not rows:
        return
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(str(r.get(k, ""))) for r in rows)) for k in keys}
    print(" | ".join(k.rjust(widths[k]) for k in keys))
    print("-|-".join("-" * widths[k] for k in keys))
    for r in rows:
        print(" | ".join(str(r.get(k, "")).rjust(widths[k]) for k in keys))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="faults:\n" + "\n".join(
                                         f"  {k:16} {v}" for k, v in FAULTS.items()))
    parser.add_argument("--seed", type=int, help="first run's seed (default: from the clock)")
    parser.add_argument("--duration", type=float, default=60,
                        help="seconds of faults per run (default 60)")
    parser.add_argument("--runs", type=int, default=1, help="runs, seeds seed, seed+1, ...")
    parser.add_argument("--rate", type=int, default=200,
                        help="records per second per producer (default 200)")
    parser.add_argument("--faults", default=",".join(FAULTS),
                        help="comma-separated faults to choose from (default: all)")
    parser.add_argument("--out", default=None,
                        help="folder for the runs (default: a new one under /tmp)")
    parser.add_argument("--build", default=os.path.join(ROOT, "build"),
                        help="build folder with stratad, strata and fault_client")
    parser.add_argument("--bench", action="store_true",
                        help="also run `strata bench produce --acks all` on a topic of its own "
                             "for the whole fault phase, and report its throughput and latency")
    parser.add_argument("--keep", action="store_true",
                        help="keep the brokers' data of clean runs too")
    args = parser.parse_args()
    # "none": the same run with no faults, the baseline for --bench and the impact figures.
    args.faults = [f for f in args.faults.split(",") if f and f != "none"]
    unknown = [f for f in args.faults if f not in FAULTS]
    if unknown:
        parser.error(f"unknown fault(s) {', '.join(unknown)}; choose from {', '.join(FAULTS)}")
    if args.seed is None:
        args.seed = int(time.time() * 1000) % 1_000_000_007
    args.build = os.path.abspath(args.build)
    if args.out:
        args.out = os.path.abspath(args.out)
    for exe in ("broker/stratad", "client/strata", "tests/fault_client"):
        if not os.access(os.path.join(args.build, exe), os.X_OK):
            parser.error(f"{args.build}/{exe} is missing: build it first "
                         "(cmake --build build --target stratad strata fault_client)")

    if os.environ.get("STRATA_FAULT_NETNS") != "1":
        # Everything runs in a private network namespace: its loopback, its firewall.
        if os.geteuid() != 0:
            print("campaign.py: needs root, for a private network namespace and nftables",
                  file=sys.stderr)
            return 2
        env = dict(os.environ, STRATA_FAULT_NETNS="1")
        argv = [sys.executable, os.path.abspath(__file__), *sys.argv[1:]]
        if "--seed" not in sys.argv:
            argv += ["--seed", str(args.seed)]
        return subprocess.call(["unshare", "-n", "--", *argv], env=env)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)

    out = args.out or f"/tmp/strata-fault-{time.strftime('%Y%m%d-%H%M%S')}"
    os.makedirs(out, exist_ok=True)
    print(f"fault campaign: seed {args.seed}, {args.runs} run(s) of {args.duration:g} s, "
          f"faults {','.join(args.faults)}; folder {out}", flush=True)
    print(f"  replay: tests/fault/campaign.py --seed {args.seed} --duration {args.duration:g} "
          f"--runs {args.runs} --faults {','.join(args.faults)}", flush=True)
    rows, failed = [], False
    for n in range(args.runs):
        seed = args.seed + n
        run_dir = os.path.join(out, f"run-{n + 1}-seed-{seed}")
        log(f"run {n + 1}/{args.runs}: seed {seed}, folder {run_dir}")
        try:
            result = run_once(args, seed, run_dir)
        except HarnessError as e:
            print(f"campaign.py: run {n + 1} (seed {seed}): the harness failed: {e}",
                  file=sys.stderr)
            return 2
        rows.append(summary_row(seed, result))
        clean = result["valid"] and not result["replicas_differ"]
        failed = failed or not clean
        if not clean:
            for kind, a in sorted(result["anomalies"].items()):
                for ex in a["examples"][:3]:
                    print(f"  {kind}: {json.dumps(ex)}")
            for d in result["replicas_differ"]:
                print(f"  replicas differ: {d}")
            print(f"  history kept: {run_dir}/history.jsonl; timeline {run_dir}/timeline.svg")
        elif not args.keep:
            for i in BROKERS:
                shutil.rmtree(os.path.join(run_dir, f"broker-{i}", "data"), ignore_errors=True)
            shutil.rmtree(os.path.join(run_dir, "etcd", "data"), ignore_errors=True)
        print_table(rows[-1:] if n else rows)
        print_impact(result.get("impact"))
        if "bench" in result:
            b = result["bench"]
            print(f"  bench (acks=all, RF 3, closed loop): {b.get('msgs_per_s')} msgs/s, "
                  f"p50 {b.get('latency_ms', {}).get('p50')} ms, "
                  f"p99 {b.get('latency_ms', {}).get('p99')} ms {b.get('error', '')}")
    if args.runs > 1:
        print()
        print_table(rows)
    totals = {}
    for r in rows:
        for k, v in r.items():
            if k != "seed":
                totals[k] = totals.get(k, 0) + v
    print(f"\ntotal over {len(rows)} run(s): " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
