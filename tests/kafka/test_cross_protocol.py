#!/usr/bin/env python3
"""One topic, two protocols: records written by the native `strata produce` (keys, values,
headers; plain and LZ4) read identically by kcat and confluent-kafka through the Kafka listener,
records written by kcat (-K keys, -H headers; plain and LZ4) read identically by `strata
consume`, and timestamp lookups answered alike by confluent-kafka, kafka-python, kcat (-o s@TS
and -Q), kafkajs and the native CLI (--from @TS).

    cd tests/kafka && STRATAD=../../build/broker/stratad STRATA_CLI=../../build/client/strata \\
        python3 -m unittest test_cross_protocol
"""
import json
import logging
import os
import re
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import strata_fixture as fx  # noqa: E402
from confluent_kafka import Producer  # noqa: E402
from test_confluent import consume_partition  # noqa: E402

logging.getLogger("kafka").setLevel(logging.CRITICAL)

KCAT = shutil.which("kcat") or shutil.which("kafkacat") or "kcat"
JS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")

# Lines for `strata produce --key-separator :`: keyed, without a separator (null key), an empty
# value, an empty key, UTF-8, a long one.
NATIVE_LINES = ["k1:hello", "k2:wörld ünïcode ✓", "no separator here", "k3:", ":empty key",
                "k4:a:b:c", "k5:" + "long " * 2000]


def expected_native(line):
    key, sep, value = line.partition(":")
    return (key.encode(), value.encode()) if sep else (None, line.encode())


class CrossProtocolTest(fx.BrokerTestCase):

    def native_records(self, topic):
        out = self.broker.cli("consume", topic, "--format", "json").stdout
        return [json.loads(line) for line in out.splitlines()]

    def kcat_records(self, topic, count):
        # Fields separated by \x1f (unit separator), records by \x1e: values may hold anything
        # else. %K/%S give -1 for a null key/value.
        r = fx.run([KCAT, "-C", "-b", self.bootstrap, "-t", topic, "-p", "0", "-o", "beginning",
                    "-c", str(count), "-f", "%o\x1f%K\x1f%k\x1f%S\x1f%s\x1f%h\x1f%T\x1e"],
                   timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        recs = r.stdout.split(b"\x1e")
        self.assertEqual(recs[-1], b"")
        out = []
        for rec in recs[:-1]:
            o, klen, k, vlen, v, h, ts = rec.split(b"\x1f")
            out.append({"offset": int(o), "key": None if klen == b"-1" else k,
                        "value": None if vlen == b"-1" else v, "headers": h.decode(),
                        "timestamp": int(ts)})
        return out

    def check_native_to_kafka(self, compression):
        topic = self.topic(f"n2k-{compression}")
        self.broker.cli("produce", topic, "--key-separator", ":", "-H", "source=native",
                        "-H", "run=42", "--partition", "0", "--compression", compression,
                        input="\n".join(NATIVE_LINES) + "\n")
        native = self.native_records(topic)
        self.assertEqual([r["offset"] for r in native], list(range(len(NATIVE_LINES))))

        via_kcat = self.kcat_records(topic, len(NATIVE_LINES))
        for line, n, k in zip(NATIVE_LINES, native, via_kcat):
            key, value = expected_native(line)
            self.assertEqual(k["offset"], n["offset"])
            self.assertEqual((k["key"], k["value"]), (key, value), f"offset {k['offset']}")
            self.assertEqual(k["headers"], "source=native,run=42")
            self.assertEqual(k["timestamp"], n["timestamp"], f"offset {k['offset']}")

        # Both check each batch's CRC-32C, as the broker serves it.
        via_confluent = consume_partition(self.bootstrap, topic, 0, len(NATIVE_LINES),
                                          {"check.crcs": True})
        self.assertEqual(len(via_confluent), len(NATIVE_LINES))
        for line, n, m in zip(NATIVE_LINES, native, via_confluent):
            key, value = expected_native(line)
            self.assertEqual((m.offset(), m.key(), m.value()), (n["offset"], key, value))
            self.assertEqual(m.headers(), [("source", b"native"), ("run", b"42")])
            self.assertEqual(m.timestamp()[1], n["timestamp"])

        via_kafka_python = self.kafka_python_records(topic, len(NATIVE_LINES))
        self.assertEqual(len(via_kafka_python), len(NATIVE_LINES))
        for line, n, r in zip(NATIVE_LINES, native, via_kafka_python):
            key, value = expected_native(line)
            self.assertEqual((r.offset, r.key, r.value), (n["offset"], key, value))
            self.assertEqual(r.headers, [("source", b"native"), ("run", b"42")])
            self.assertEqual(r.timestamp, n["timestamp"])

    def kafka_python_records(self, topic, count):
        from kafka import KafkaConsumer
        from kafka import TopicPartition as KTP
        c = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                          check_crcs=True)
        try:
            tp = KTP(topic, 0)
            c.assign([tp])
            c.seek_to_beginning(tp)
            out = []
            for _ in range(60):
                for recs in c.poll(timeout_ms=500, max_records=count - len(out)).values():
                    out.extend(recs)
                if len(out) >= count:
                    break
            return out
        finally:
            c.close()

    def test_native_produce_read_by_kafka_clients(self):
        for compression in ("none", "lz4"):
            with self.subTest(compression=compression):
                self.check_native_to_kafka(compression)

    def check_kafka_to_native(self, codec):
        topic = self.topic(f"k2n-{codec}")
        lines = ["k1:hello", "k2:wörld ✓", "k3:a:b", "k4:" + "x" * 5000, "k5:tail"]
        args = [KCAT, "-P", "-b", self.bootstrap, "-t", topic, "-p", "0", "-K", ":",
                "-H", "a=1", "-H", "b=two words"]
        if codec != "none":
            args += ["-z", codec]
        r = fx.run(args, input=("\n".join(lines) + "\n").encode(), timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        native = self.native_records(topic)
        self.assertEqual(len(native), len(lines), native)
        via_kcat = self.kcat_records(topic, len(lines))
        for i, (line, n, k) in enumerate(zip(lines, native, via_kcat)):
            key, _, value = line.partition(":")
            self.assertEqual(n["topic"], topic)
            self.assertEqual((n["partition"], n["offset"]), (0, i))
            self.assertEqual((n["key"], n["value"]), (key, value))
            self.assertEqual(n["headers"], [{"key": "a", "value": "1"},
                                            {"key": "b", "value": "two words"}])
            self.assertEqual(n["timestamp"], k["timestamp"])

    def test_kcat_produce_read_by_native(self):
        for codec in ("none", "lz4"):
            with self.subTest(codec=codec):
                self.check_kafka_to_native(codec)

    # --- timestamp lookups -----------------------------------------------------------------------

    def lookups(self, topic, partitions, stamps, ends):
        """{client: {ts: [offset per partition]}}, "not found" given as the partition's end (as
        kafkajs reports it)."""
        from confluent_kafka import Consumer, TopicPartition
        from kafka import KafkaConsumer
        from kafka import TopicPartition as KTP

        def norm(p, offset):
            return ends[p] if offset is None or offset < 0 else offset

        out = {}
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": fx.unique("ts")})
        try:
            out["confluent-kafka"] = {
                ts: [norm(tp.partition, tp.offset) for tp in c.offsets_for_times(
                    [TopicPartition(topic, p, ts) for p in range(partitions)], timeout=10)]
                for ts in stamps}
        finally:
            c.close()

        k = KafkaConsumer(bootstrap_servers=self.bootstrap)
        try:
            tps = [KTP(topic, p) for p in range(partitions)]
            res = {}
            for ts in stamps:
                got = k.offsets_for_times({tp: ts for tp in tps})
                res[ts] = [norm(tp.partition, got[tp] and got[tp].offset) for tp in tps]
            out["kafka-python"] = res
        finally:
            k.close()

        res_s, res_q = {}, {}
        for ts in stamps:
            res_s[ts], res_q[ts] = [], []
            for p in range(partitions):
                r = fx.run([KCAT, "-C", "-b", self.bootstrap, "-t", topic, "-p", str(p),
                            "-o", f"s@{ts}", "-c", "1", "-e", "-f", "%o\n"], timeout=30)
                self.assertEqual(r.returncode, 0, r.stderr)
                text = r.stdout.decode().strip()
                res_s[ts].append(norm(p, int(text) if text else None))
            r = fx.run([KCAT, "-Q", "-b", self.bootstrap] +
                       [a for p in range(partitions) for a in ("-t", f"{topic}:{p}:{ts}")],
                       timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            for p in range(partitions):
                m = re.search(rf"\[{p}\] offset (-?\d+)", r.stdout.decode())
                self.assertIsNotNone(m, r.stdout)
                res_q[ts].append(norm(p, int(m.group(1))))
        out["kcat -o s@TS"] = res_s
        out["kcat -Q"] = res_q

        r = fx.run([fx.node_path(), os.path.join(JS_DIR, "offsets_by_timestamp.js"),
                    self.bootstrap, topic, *map(str, stamps)], timeout=60, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        js = json.loads(r.stdout)
        out["kafkajs"] = {ts: [js[str(ts)][str(p)] for p in range(partitions)] for ts in stamps}

        res = {}
        for ts in stamps:
            res[ts] = []
            for p in range(partitions):
                got = self.broker.cli("consume", topic, "--partition", str(p), "--from",
                                      f"@{ts}", "--count", "1", "--format", "json").stdout
                got = [json.loads(line) for line in got.splitlines()]
                res[ts].append(norm(p, got[0]["offset"] if got else None))
        out["strata consume --from @TS"] = res
        return out

    def check_lookups(self, topic, stamps_per_partition, queries):
        partitions = len(stamps_per_partition)
        p = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 0})
        for part, stamps in enumerate(stamps_per_partition):
            for i, ts in enumerate(stamps):
                p.produce(topic, value=f"p{part}-{i}", partition=part, timestamp=ts)
                if i % 4 == 3:
                    self.assertEqual(p.flush(10), 0)  # several batches per partition
        self.assertEqual(p.flush(10), 0)
        ends = [len(s) for s in stamps_per_partition]
        # The documented answer: the earliest offset whose timestamp is >= the target.
        model = {ts: [next((o for o, t in enumerate(s) if t >= ts), len(s))
                      for s in stamps_per_partition] for ts in queries}
        got = self.lookups(topic, partitions, queries, ends)
        for client, answers in got.items():
            with self.subTest(client=client):
                self.assertEqual(answers, model)

    def test_timestamp_lookup_agrees_across_clients(self):
        topic = self.topic("ts-agree", partitions=3)
        base = fx.recent_ts_base()
        stamps = [[base + (i // 2) * 1000 for i in range(16)],        # pairs of equal stamps
                  [base + 250 + i * 1000 for i in range(16)],          # one per second
                  [base + 3000 + (i // 4) * 2000 for i in range(16)]]  # later, in fours
        queries = [base - 1, base, base + 1, base + 250, base + 3000, base + 3001, base + 7000,
                   base + 9000, base + 15250, base + 15251, base + 100_000]
        self.check_lookups(topic, stamps, queries)

    def test_timestamp_lookup_out_of_order_stamps(self):
        # A producer may set any timestamp; the answer is still the first offset, in log order,
        # whose timestamp is at least the target.
        topic = self.topic("ts-ooo")
        base = fx.recent_ts_base()
        stamps = [[base + d for d in (5000, 1000, 3000, 2000, 9000, 4000, 6000, 8000, 7000,
                                      1500, 9500, 500)]]
        queries = [base, base + 1000, base + 1001, base + 5000, base + 5001, base + 9000,
                   base + 9001, base + 9500, base + 9501]
        self.check_lookups(topic, stamps, queries)


if __name__ == "__main__":
    fx.configure_from_argv()
    unittest.main()
