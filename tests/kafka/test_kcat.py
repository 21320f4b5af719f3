#!/usr/bin/env python3
"""kcat (librdkafka 2.0.2) against Strata's Kafka listener: the protocol features librdkafka turns
on after ApiVersions, metadata, produce with acks 0/1/all with and without LZ4 read back byte for
byte, the codecs Strata refuses, timestamp lookups (-o s@TS, -Q), a balanced consumer (-G)
resuming from offsets committed by confluent-kafka, and an advertised Kafka address.

    cd tests/kafka && STRATAD=../../build/broker/stratad STRATA_CLI=../../build/client/strata \\
        python3 -m unittest test_kcat
"""
import json
import os
import random
import re
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import strata_fixture as fx  # noqa: E402

KCAT = shutil.which("kcat") or shutil.which("kafkacat") or "kcat"

# What librdkafka 2.0.2 must enable against Strata (rdkafka_feature.c): MsgVer2 (Produce v3,
# Fetch v4), BrokerBalancedConsumer (FindCoordinator v0, OffsetCommit v1-2, OffsetFetch v1,
# Join/Sync/Heartbeat/LeaveGroup v0), BrokerGroupCoordinator (FindCoordinator v0),
# IdempotentProducer (InitProducerId v0), OffsetTime (ListOffsets v1), LZ4, ApiVersion.
REQUIRED_FEATURES = {"ApiVersion", "MsgVer2", "BrokerBalancedConsumer", "BrokerGroupCoordinator",
                     "IdempotentProducer", "OffsetTime", "LZ4"}


def kcat(*args, input=None, timeout=30):
    return fx.run([KCAT, *args], input=input, timeout=timeout)


WORDS = ["append", "offset", "segment", "leader", "replica", "batch", "record", "partition",
         "consumer", "group", "commit", "fetch", "produce", "index", "timestamp", "lz4"]


def sample_records(n, seed):
    """n (key, value) pairs of printable ASCII without tab or newline (kcat's delimiters):
    short, long and very compressible values, and one of 200 KB."""
    rng = random.Random(seed)
    alphabet = "".join(chr(c) for c in range(0x20, 0x7f))
    out = []
    for i in range(n):
        key = f"key-{i}-{rng.randrange(10**6)}"
        kind = i % 4
        if kind == 0:
            value = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 64)))
        elif kind == 1:
            value = ("strata " * rng.randrange(1, 400)).strip()
        elif kind == 2:
            # Words from a small vocabulary: LZ4 has no entropy coder and only shrinks repeats,
            # and librdkafka sends a batch plain when compressing does not make it smaller.
            value = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(100, 600)))
        else:
            value = f"v{i}"
        out.append((key, value))
    out[n // 2] = (out[n // 2][0], "x" * 199_999 + "!")
    return out


class KcatTest(fx.BrokerTestCase):

    def consume(self, topic, count, partition=0, fmt="%o\t%k\t%s\t%T\n", extra=()):
        r = kcat("-C", "-b", self.bootstrap, "-t", topic, "-p", str(partition), "-o", "beginning",
                 "-c", str(count), "-f", fmt, *extra, timeout=40)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        return r.stdout.decode()

    def test_features_negotiated(self):
        r = kcat("-b", self.bootstrap, "-L", "-d", "feature,broker")
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, 0, err)
        lines = re.findall(r"Updated enabled protocol features.* to (\S+)", err)
        self.assertTrue(lines, "no 'Updated enabled protocol features' line in:\n" + err[-4000:])
        enabled = set(lines[-1].split(","))
        missing = REQUIRED_FEATURES - enabled
        self.assertFalse(missing, f"librdkafka did not enable {sorted(missing)}; it enabled "
                                  f"{sorted(enabled)}")
        # No fallback to an assumed broker version: ApiVersions itself must have worked.
        self.assertNotIn("configuration fallback", err)

    def test_metadata_lists_broker_and_topic(self):
        topic = self.topic("meta", partitions=3)
        r = kcat("-b", self.bootstrap, "-L", "-J", "-t", topic)
        self.assertEqual(r.returncode, 0, r.stderr)
        md = json.loads(r.stdout)
        self.assertEqual([b["name"] for b in md["brokers"]], [self.bootstrap])
        broker_id = md["brokers"][0]["id"]
        [t] = md["topics"]
        self.assertEqual(t["topic"], topic)
        self.assertNotIn("error", t)
        self.assertEqual(sorted(p["partition"] for p in t["partitions"]), [0, 1, 2])
        for p in t["partitions"]:
            self.assertEqual(p["leader"], broker_id)
            self.assertEqual([r["id"] for r in p["replicas"]], [broker_id])
            self.assertEqual([r["id"] for r in p["isrs"]], [broker_id])

    def test_metadata_unknown_topic(self):
        name = fx.unique("nosuch")
        r = kcat("-b", self.bootstrap, "-L", "-J", "-t", name)
        self.assertEqual(r.returncode, 0, r.stderr)
        [t] = json.loads(r.stdout)["topics"]
        self.assertEqual(t.get("error"), "Broker: Unknown topic or partition", t)
        # ... and metadata did not create it.
        r = kcat("-b", self.bootstrap, "-L", "-J")
        self.assertNotIn(name, [t["topic"] for t in json.loads(r.stdout)["topics"]])

    def produce_and_check(self, acks, codec):
        topic = self.topic(f"kcat-{acks}-{codec}")
        records = sample_records(300, seed=f"{acks}{codec}")
        data = "".join(f"{k}\t{v}\n" for k, v in records).encode()
        t0 = int(time.time() * 1000)
        args = ["-P", "-b", self.bootstrap, "-t", topic, "-p", "0", "-K", "\t",
                "-X", f"acks={acks}", "-X", "linger.ms=5", "-X", "batch.num.messages=37"]
        if codec != "none":
            args += ["-z", codec, "-d", "msg"]
        r = kcat(*args, input=data)
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, 0, err[-4000:])
        t1 = int(time.time() * 1000)
        lines = self.consume(topic, len(records)).split("\n")
        self.assertEqual(lines[-1], "")
        got = [line.split("\t") for line in lines[:-1]]
        self.assertEqual([int(o) for o, _, _, _ in got], list(range(len(records))),
                         "offsets not contiguous from 0")
        self.assertEqual([(k, v) for _, k, v, _ in got], records)
        for _, _, _, ts in got:
            self.assertTrue(t0 - 1000 <= int(ts) <= t1 + 1000, f"timestamp {ts} not in "
                            f"[{t0}, {t1}] (CreateTime from the producer)")
        # The partition ends where the records do: nothing twice, nothing extra.
        r = kcat("-Q", "-b", self.bootstrap, "-t", f"{topic}:0:-1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout.decode(), rf"\[0\] offset {len(records)}\b")
        if codec != "none":
            fx.assert_librdkafka_compressed(self, err, codec)

    def test_produce_consume_acks_and_lz4(self):
        for acks in ("0", "1", "all"):
            for codec in ("none", "lz4"):
                with self.subTest(acks=acks, codec=codec):
                    self.produce_and_check(acks, codec)

    def test_refused_codecs(self):
        for codec in ("gzip", "snappy", "zstd"):
            with self.subTest(codec=codec):
                topic = self.topic(f"kcat-{codec}")
                r = kcat("-P", "-b", self.bootstrap, "-t", topic, "-p", "0",
                         "-X", f"compression.codec={codec}", "-X", "message.timeout.ms=10000",
                         "-d", "msg",
                         # Large and repetitive: librdkafka sends a batch uncompressed when
                         # compressing would not make it smaller.
                         input=b"hello " * 2000 + b"\n")
                err = r.stderr.decode(errors="replace")
                codecs, refused = fx.librdkafka_codecs(err)
                self.assertIsNone(refused, f"librdkafka did not compress, so the broker never "
                                  f"saw {codec}: {refused}")
                self.assertEqual(set(codecs), {codec})
                self.assertNotEqual(r.returncode, 0, err[-3000:])
                self.assertIn("Broker: Unsupported compression type", err)
                r = kcat("-Q", "-b", self.bootstrap, "-t", f"{topic}:0:-1")
                self.assertRegex(r.stdout.decode(), r"\[0\] offset 0\b")

    def test_timestamp_lookup(self):
        topic = self.topic("kcat-ts")
        base = fx.recent_ts_base()
        # Timestamps 0,0,1000,1000,...,9000,9000 after base: every second one repeats.
        # kcat cannot set a timestamp when producing; confluent-kafka can.
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 0})
        for i in range(20):
            p.produce(topic, key=f"k{i}", value=f"v{i}", partition=0,
                      timestamp=base + (i // 2) * 1000)
            if i % 7 == 6:
                p.flush(10)  # several batches
        self.assertEqual(p.flush(10), 0)
        expected = {base - 1: 0, base: 0, base + 1: 2, base + 1000: 2, base + 4500: 10,
                    base + 9000: 18, base + 9001: None}
        for ts, want in expected.items():
            with self.subTest(ts=ts):
                r = kcat("-C", "-b", self.bootstrap, "-t", topic, "-p", "0", "-o", f"s@{ts}",
                         "-c", "1", "-e", "-f", "%o %T\n")
                self.assertEqual(r.returncode, 0, r.stderr)
                out = r.stdout.decode().split()
                if want is None:
                    self.assertEqual(out, [])
                else:
                    self.assertEqual(out, [str(want), str(base + (want // 2) * 1000)])
                r = kcat("-Q", "-b", self.bootstrap, "-t", f"{topic}:0:{ts}")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertRegex(r.stdout.decode(),
                                 rf"\[0\] offset {-1 if want is None else want}\b")

    def test_group_resumes_from_confluent_commit(self):
        from confluent_kafka import Consumer, Producer, TopicPartition
        topic = self.topic("kcat-group", partitions=2)
        group = fx.unique("g")
        p = Producer({"bootstrap.servers": self.bootstrap})
        for i in range(40):
            p.produce(topic, value=f"v{i}", partition=i % 2)
        self.assertEqual(p.flush(10), 0)

        # A confluent-kafka member of the group reads 7 records of partition 0 and 3 of partition
        # 1, commits, and leaves.
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": group,
                      "auto.offset.reset": "earliest", "enable.auto.commit": False,
                      "session.timeout.ms": 6000})
        try:
            c.subscribe([topic])
            wanted = {0: 7, 1: 3}
            seen = {0: 0, 1: 0}
            deadline = time.monotonic() + 30
            while seen != wanted and time.monotonic() < deadline:
                m = c.poll(0.5)
                if m is None or m.error():
                    continue
                if seen[m.partition()] < wanted[m.partition()]:
                    seen[m.partition()] += 1
            self.assertEqual(seen, wanted)
            c.commit(offsets=[TopicPartition(topic, 0, 7), TopicPartition(topic, 1, 3)],
                     asynchronous=False)
            committed = c.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)],
                                    timeout=10)
            self.assertEqual([tp.offset for tp in committed], [7, 3])
        finally:
            c.close()

        # kcat -G resumes there: 13 + 17 records, from offsets 7 and 3.
        r = kcat("-b", self.bootstrap, "-G", group, topic, "-c", "30", "-f", "%p %o %s\n",
                 "-X", "auto.offset.reset=earliest", "-X", "session.timeout.ms=6000",
                 timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        got = {0: [], 1: []}
        for line in r.stdout.decode().splitlines():
            part, off, value = line.split()
            got[int(part)].append((int(off), value))
        self.assertEqual([o for o, _ in got[0]], list(range(7, 20)))
        self.assertEqual([o for o, _ in got[1]], list(range(3, 20)))
        self.assertEqual([v for _, v in got[0]], [f"v{2 * o}" for o in range(7, 20)])
        self.assertEqual([v for _, v in got[1]], [f"v{2 * o + 1}" for o in range(3, 20)])


class KcatAdvertisedTest(unittest.TestCase):
    """--kafka-advertised-listen is the address metadata gives clients."""

    def test_advertised_address_in_metadata(self):
        port = fx.free_port()
        broker = fx.Broker(kafka_listen=f"127.0.0.1:{port}", kafka_advertised=f"localhost:{port}")
        broker.start(on_spawn=lambda: self.addCleanup(broker.stop))
        self.assertEqual(broker.kafka_port, port)
        r = kcat("-b", f"127.0.0.1:{port}", "-L", "-J")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([b["name"] for b in json.loads(r.stdout)["brokers"]],
                         [f"localhost:{port}"])
        # A client that follows the advertised address still produces and reads.
        topic = broker.create_topic(fx.unique("adv"))
        r = kcat("-P", "-b", f"127.0.0.1:{port}", "-t", topic, "-p", "0", input=b"a\nb\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = kcat("-C", "-b", f"127.0.0.1:{port}", "-t", topic, "-p", "0", "-c", "2",
                 "-f", "%o %s\n")
        self.assertEqual(r.stdout.decode(), "0 a\n1 b\n")


if __name__ == "__main__":
    fx.configure_from_argv()
    unittest.main()
